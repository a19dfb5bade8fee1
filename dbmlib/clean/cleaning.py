"""Cleaning and integration: from the raw layer to one trustworthy customer database.

:func:`clean_database` reads the raw tables, applies the rules below, and writes in one
transaction the clean tables ``customers`` (pseudonymous id + coarse attributes only),
``customer_pii`` (personal data, read only by the campaign export), ``customer_id_map``
(source id → master id, with the key that matched), ``transactions`` (one row per order,
returns netted), ``transactions_model`` (a view of it with net amounts capped, for modelling), ``campaigns``,
``campaign_contacts``, ``quality_log`` (one row per changed/flagged/merged/rejected cell or
row) and the stage's rows in ``rejects``. A reconciliation (rows in = rows out + rejected +
merged, per table) must balance or :class:`ReconciliationError` is raised before writing.

Missing-value policy (declared, per column): ``region``/``income_band``/``gender``/
``acquisition_channel`` → ``"unknown"``; ``email_opt_in`` → no consent; ``birth_date``
(missing, unparseable or impossible) → ``age_band = "unknown"``; ``signup_date`` → the first
order date; ``quantity`` → 1; ``category``/``channel`` → ``"unknown"``; ``phone``/``email``
stay missing (no contact on that channel). Consent of merged records: opted in only if every
record opted in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..collect.conventions import Reading, parse_by_file, recorded_readings
from ..collect.schemas import SOURCES
from ..core.db import (
    drop_relation,
    insert_rows,
    read_frame,
    registered,
    replace_tables,
    table_exists,
    transaction,
)
from ..core.errors import InputError
from ..core.fast_text import SPACE, fullmatch, isin, lookup
from ..core.lineage import record_lineage
from ..core.parsing import date_format_of, parse_flags, parse_integers
from ..core.progress import StepBar
from .dedupe import MERGE_KEYS, merge_duplicates
from .lines_sql import (
    LINES_TABLE,
    clean_lines_sql,
    drop_staging,
    parse_line_values,
    region_from_lines,
)
from .orders import (
    ORDERS_TABLE,
    mark_cancellations,
    match_cancellations,
    orders_from_lines,
    outliers,
)
from .products import clean_products
from .standardise import (
    age_band,
    canonical_category,
    normalise_email,
    normalise_name,
    normalise_phone,
    normalise_postcode,
    valid_email,
)

__all__ = [
    "CLEAN_TABLES",
    "CleanConfig",
    "CleanResult",
    "ReconciliationError",
    "clean_database",
    "quality_report",
]

log = logging.getLogger(__name__)

CLEAN_TABLES = ["customers", "customer_pii", "customer_id_map", "order_lines", "transactions",
                "transactions_model", "campaigns", "campaign_contacts", "products", "quality_log"]
#: Columns of the clean ``order_lines`` table (plus ``source_row``).
LINE_COLUMNS = ["order_id", "customer_id", "order_ts", "channel", "category", "product_id", "product_name",
                "quantity", "unit_price", "amount", "returned_order_id", "country", "region"]
_PLAIN_NUMBER = r"-?\d+(\.\d+)?"
_RAW_TABLES = ("raw_customers", "raw_transactions", "raw_campaigns", "raw_campaign_contacts", "raw_products")


class ReconciliationError(RuntimeError):
    """Rows in ≠ rows out + rejected + merged for some table."""


@dataclass
class CleanConfig:
    """Parameters of the cleaning rules (see the module docstring)."""

    dayfirst: bool | None = True  # only for raw rows without a recorded reading (load_log)
    decimal: str = "."  # likewise
    merge_keys: tuple = MERGE_KEYS
    internal_domains: tuple = ("dbm-retail.example",)
    test_name_pattern: str = r"^(test|qa)$"
    outlier_z: float = 3.5
    outlier_side: str = "upper"  # "upper": only unusually large orders; "both": small ones too
    model_cap: str | float = "robust"  # modelling copy: "robust" (the outlier threshold), "none", an amount
    cancel_prefix: str = ""  # an order-id marker of cancellations, e.g. "C"
    phone_region: str = "GB"
    opt_out: tuple = ()  # e-mail addresses or customer ids that withdrew consent
    categories: dict = field(default_factory=lambda: {
        "income_band": ["low", "medium", "high", "very high"],
        "gender": ["F", "M", "X"],
    })
    synonyms: dict = field(default_factory=lambda: {
        "gender": {"female": "F", "male": "M", "w": "F"},
    })

    @classmethod
    def from_parameters(cls, *, merge_keys: str = ",".join(MERGE_KEYS), internal_domains: str = "dbm-retail.example",
                        opt_out_file: str = "", **kwargs) -> CleanConfig:
        """The configuration from a notebook's plain parameters: comma-separated ``merge_keys``
        and ``internal_domains``, and an optional opt-out file (one e-mail address or customer
        id per line); other keywords are fields of the configuration."""
        opt_out = tuple(Path(opt_out_file).read_text().split()) if opt_out_file else ()
        if "model_cap" in kwargs and str(kwargs["model_cap"]).lower() not in {"robust", "none"}:
            try:
                kwargs["model_cap"] = float(kwargs["model_cap"])
            except ValueError:
                raise ValueError(f"model_cap must be 'robust', 'none' or an amount, got {kwargs['model_cap']!r}") from None
        if kwargs.get("outlier_side", "upper") not in {"upper", "both"}:
            raise ValueError(f"outlier_side must be 'upper' or 'both', got {kwargs['outlier_side']!r}")
        return cls(merge_keys=tuple(merge_keys.split(",")), internal_domains=tuple(internal_domains.split(",")),
                   opt_out=opt_out, **kwargs)


    @property
    def reading(self) -> Reading:
        """The fallback reading of raw rows whose file has none recorded."""
        return Reading(self.dayfirst, None, self.decimal, "cleaning defaults")


@dataclass
class CleanResult:
    """What :func:`clean_database` produced: the clean ``tables`` by name, the row-level
    ``quality_log``, the per-table ``reconciliation``, the ``rejects``, what the outlier
    rule and the modelling cap did (``outliers``: orders flagged, their revenue share, the
    cap, orders capped and the revenue share the cap removes from the modelling copy) and
    ``counts`` (orders, order and sale lines, gross and net revenue). ``tables`` holds the
    per-customer tables; ``order_lines``, ``transactions`` and ``transactions_model`` are
    read from the database on access (:class:`StoredTables`)."""

    tables: dict
    quality_log: pd.DataFrame
    rejects: pd.DataFrame
    reconciliation: pd.DataFrame
    outliers: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)


class _Log:
    """The quality log: one row per changed, filled, flagged, merged or rejected row (``rows``
    1, with its key and source row), or one row for a fact about a whole column of a table
    (``rows`` the number of rows it covers, no key): an export without a ``channel`` column
    is one fact, not ten million identical lines."""

    COLUMNS = ["table", "rule", "action", "column", "key", "source_row", "detail", "rows"]

    def __init__(self):
        self.parts: list[pd.DataFrame] = []

    def add(self, table, rule, action, frame, mask, column="*", detail=""):
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        self.parts.append(pd.DataFrame({  # two columns of the masked rows, not the whole frame
            "table": table, "rule": rule, "action": action, "column": column,
            "key": frame["_key"][mask].astype("string").to_numpy(),
            "source_row": frame["_source_row"].to_numpy()[mask],
            "detail": (detail[mask] if isinstance(detail, np.ndarray) else detail),
            "rows": 1,
        }))

    def add_rows(self, table, rule, action, column, rows: pd.DataFrame, detail=""):
        """Like :meth:`add` for rows already selected (e.g. by SQL): ``rows`` has ``key`` and
        ``source_row``; ``detail`` a text or one text per row."""
        if not len(rows):
            return
        self.parts.append(pd.DataFrame({
            "table": table, "rule": rule, "action": action, "column": column,
            "key": rows["key"].astype("string").to_numpy(), "source_row": rows["source_row"].to_numpy(),
            "detail": detail, "rows": 1,
        }))

    def add_fact(self, table, rule, action, column, n_rows: int, detail: str):
        """One entry for ``n_rows`` rows that a rule touched because of a property of the
        whole column (e.g. the export has no such column)."""
        if n_rows:
            self.parts.append(pd.DataFrame({"table": [table], "rule": rule, "action": action, "column": column,
                                            "key": pd.NA, "source_row": pd.NA, "detail": detail,
                                            "rows": int(n_rows)}))

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame(columns=self.COLUMNS)
        out = pd.concat(self.parts, ignore_index=True)[self.COLUMNS]
        out["key"] = out["key"].astype("string")
        out["source_row"] = out["source_row"].astype("Int64")
        out["detail"] = out["detail"].astype("string")
        out["rows"] = out["rows"].astype("int64")
        return out


def _filled_missing(lg, table: str, frame: pd.DataFrame, column: str, detail: str) -> None:
    """Log the missing values of ``column`` filled by policy: per row, or as one fact when the
    source has no value at all in the column (absent or empty)."""
    missing = frame[column].isna().to_numpy(bool)
    if missing.all():
        lg.add_fact(table, "column_all_missing", "filled", column, len(frame), detail + " (no value in the source)")
    else:
        lg.add(table, "missing_value", "filled", frame, missing, column, detail)


def _read(con, table, duplicate_cols: list[str] | None = None) -> pd.DataFrame | None:
    """The raw table in load order (``_loaded_at``, file, row); with ``duplicate_cols`` a
    boolean ``_duplicate`` column marks each row equal on those columns to an earlier one.

    No ``ORDER BY`` or window in SQL: a raw table is appended in load order, which a plain scan
    returns, so the order is checked (and only restored if needed) in numpy; duplicates are
    found by DuckDB's row hash and confirmed by exact comparison of the rows sharing a hash.
    Sorting or partitioning ten million wide text rows in DuckDB holds them twice over."""
    if not table_exists(con, table):
        return None
    extra = ""
    if duplicate_cols:
        extra = ", hash(" + ", ".join(f'"{c}"' for c in duplicate_cols) + ") AS _hash"
    df = read_frame(con, f"SELECT *{extra} FROM {table}", categorical=("_source_file", "_load_id"))
    if not len(df):
        return None
    files = df["_source_file"].cat.set_categories(sorted(df["_source_file"].cat.categories)).cat.codes
    order = np.lexsort((df["_source_row"].to_numpy(), files.to_numpy(), df["_loaded_at"].to_numpy()))
    if (order != np.arange(len(order))).any():
        df = df.take(order).reset_index(drop=True)
    df = df.drop(columns="_loaded_at")
    if duplicate_cols:
        df["_duplicate"] = _exact_duplicates(df, duplicate_cols, df.pop("_hash").to_numpy())
    return df


def _exact_duplicates(df: pd.DataFrame, cols: list[str], hashes: np.ndarray) -> np.ndarray:
    """Rows equal on ``cols`` to an earlier row (missing equals missing): candidates by hash,
    confirmed by comparing the values, so a hash collision never rejects a row."""
    h = pd.Series(hashes)
    again = h.duplicated(keep="first").to_numpy()
    out = np.zeros(len(df), bool)
    if not again.any():
        return out
    candidates = np.flatnonzero(h.isin(h[again]).to_numpy())
    out[candidates] = df.iloc[candidates][cols].duplicated(keep="first").to_numpy()
    return out


def _changed(before: pd.Series, after: pd.Series) -> np.ndarray:
    return (before.notna() & after.notna() & (before.astype("string") != after.astype("string"))
            ).fillna(False).to_numpy(bool)


def _clean_customers(raw, cfg, lg, reference, readings):
    c = raw.copy()
    c["_key"] = c["customer_id"]
    rejected = np.zeros(len(c), bool)
    reasons = pd.Series("", index=c.index, dtype="string")
    dup = c["customer_id"].duplicated(keep="first").to_numpy()
    lg.add("customers", "duplicate_id", "rejected", c, dup, "customer_id",
           "same customer_id as an earlier record; first kept")
    rejected |= dup
    reasons[dup] = "duplicate customer_id (conflicting record); first kept"
    # contact fields
    email = normalise_email(c["email"])
    lg.add("customers", "standardise_email", "changed", c, _changed(c["email"], email), "email")
    bad_email = (email.notna() & ~valid_email(email)).to_numpy(bool)
    lg.add("customers", "invalid_email", "changed", c, bad_email, "email", "not a valid address; set missing")
    email = email.mask(bad_email)
    phone = normalise_phone(c["phone"], cfg.phone_region)
    lg.add("customers", "standardise_phone", "changed", c, _changed(c["phone"], phone), "phone")
    bad_phone = (c["phone"].notna() & phone.isna()).to_numpy(bool)
    lg.add("customers", "invalid_phone", "changed", c, bad_phone, "phone", "not a possible number; set missing")
    for col in ("email", "phone"):
        lg.add("customers", "missing_value", "kept", c, c[col].isna().to_numpy(bool), col,
               "policy: stays missing (no contact on this channel)")
    first, last = normalise_name(c["first_name"]), normalise_name(c["last_name"])
    lg.add("customers", "standardise_name", "changed", c,
           _changed(c["first_name"], first) | _changed(c["last_name"], last), "name")
    postcode = normalise_postcode(c["postcode"])
    lg.add("customers", "standardise_postcode", "changed", c, _changed(c["postcode"], postcode), "postcode")
    # dates
    dates = {}
    for col in ("birth_date", "signup_date"):
        d = parse_by_file(c, col, readings, "date", cfg.reading)
        fmt = date_format_of(c[col])
        lg.add("customers", "mixed_date_format", "changed", c,
               (fmt == "slashed").fillna(False).to_numpy(bool) & (fmt.nunique() > 1), col,
               "day/month date among other layouts, read the way its file was read (load_log)")
        bad = (c[col].notna() & d.isna()).to_numpy(bool)
        lg.add("customers", "unparseable_date", "changed", c, bad, col, "not a valid date; set missing")
        dates[col] = d
    birth = dates["birth_date"]
    impossible = ((birth < pd.Timestamp("1900-01-01")) | (birth > reference)
                  | ((reference - birth).dt.days > 120 * 365.25)).fillna(False).to_numpy(bool)
    lg.add("customers", "impossible_birth_date", "changed", c, impossible, "birth_date",
           "before 1900, in the future or over 120 years; set missing")
    birth = birth.mask(impossible)
    # categoricals and missing values
    cats = {}
    for col in ("region", "income_band", "gender", "acquisition_channel"):
        text = c[col].astype("string").str.strip()
        if col in cfg.categories:
            mapped, unknown = canonical_category(text, cfg.categories[col], cfg.synonyms.get(col))
            lg.add("customers", "unknown_category", "changed", c, unknown, col,
                   f"not one of {cfg.categories[col]}; set unknown")
            lg.add("customers", "standardise_category", "changed", c, _changed(text, mapped), col)
            text = mapped
        else:
            norm = text.str.replace(f"[{SPACE}]+", " ", regex=True).str.title() if col == "region" \
                else text.str.lower()
            lg.add("customers", "standardise_category", "changed", c, _changed(text, norm), col)
            text = norm
        _filled_missing(lg, "customers", c, col, "policy: unknown")
        cats[col] = text.fillna("unknown")
    consent = parse_flags(c["email_opt_in"])
    lg.add("customers", "missing_value", "filled", c, consent.isna().to_numpy(bool), "email_opt_in",
           "policy: no consent")
    consent = consent.fillna(False).astype(bool)
    # test / internal accounts
    domain = email.astype("string").str.replace(r"(?s)^.*@", "", regex=True)  # after the last @ (Arrow's regex)
    test = (domain.isin(list(cfg.internal_domains)).fillna(False)
            | first.str.lower().str.match(cfg.test_name_pattern).fillna(False)).to_numpy(bool)
    lg.add("customers", "test_account", "rejected", c, test & ~rejected, "customer_id",
           "internal or test account")
    reasons[test & ~rejected] = "internal or test account"
    rejected |= test
    people = pd.DataFrame({
        "customer_id": c["customer_id"], "first_name": first, "last_name": last, "email": email,
        "phone": phone, "street": c["street"].astype("string").str.strip(), "postcode": postcode,
        "birth_date": birth, "signup_date": dates["signup_date"], "gender": cats["gender"],
        "region": cats["region"], "income_band": cats["income_band"],
        "acquisition_channel": cats["acquisition_channel"], "email_opt_in": consent,
        "_source_row": c["_source_row"], "_key": c["_key"],
    })
    return people, rejected, reasons, set(c.loc[test, "customer_id"])


def _merge_customers(people, cfg, lg):
    id_map = merge_duplicates(people, cfg.merge_keys)
    merged = (id_map["source_id"] != id_map["customer_id"]).to_numpy()
    lg.add("customers", "duplicate_customer", "merged", people, merged, "customer_id",
           ("into " + id_map["customer_id"] + " by " + id_map["match_key"]).to_numpy())
    p = people.assign(customer_id=id_map["customer_id"].to_numpy(),
                      _is_master=~merged).sort_values(["customer_id", "_is_master"],
                                                      ascending=[True, False], kind="stable")
    g = p.groupby("customer_id", sort=True)
    master = g.first()  # first non-missing value per column, the master record first
    master["email_opt_in"] = g["email_opt_in"].all()  # consent only if every record gave it
    master["records_merged"] = g.size() - 1
    return master.reset_index(), id_map, merged


def _clean_transactions(holder: dict, ts, cfg, lg, test_ids, known_ids, readings):
    """Line-level rules (rejects, amounts, cancellations matched to their purchase); returns
    the kept lines, the rejected rows and the number of return/cancellation lines netted.

    The raw frame comes in ``holder["raw"]`` and is taken out of it, so that this function
    holds its only reference: each text column is freed as soon as its parsed replacement
    exists, and the kept lines are cut out column by column (ten million lines are
    gigabytes; holding them twice is what limits the size a machine can clean)."""
    raw = holder.pop("raw")
    t = raw.assign(_key=raw["order_id"])  # copy-on-write: raw's columns are shared, not copied
    del raw
    reasons = pd.Series("", index=t.index, dtype="string")
    rejected = np.zeros(len(t), bool)

    def reject(mask, rule, reason, column="*"):
        nonlocal rejected
        mask = np.asarray(mask, bool) & ~rejected
        lg.add("transactions", rule, "rejected", t, mask, column, reason)
        reasons[mask] = reason
        rejected |= mask

    dup = t.pop("_duplicate").to_numpy(bool)  # marked by _read, in DuckDB, on every source column
    reject(dup, "exact_duplicate_row", "exact duplicate of an earlier row")
    layouts = date_format_of(t["order_ts"])
    lg.add("transactions", "mixed_date_format", "changed", t,
           (layouts == "slashed").fillna(False).to_numpy(bool) & (layouts.nunique() > 1), "order_ts",
           "day/month date among other layouts, read the way its file was read (load_log)")
    reject(ts.isna().to_numpy(), "unparseable_date", "order_ts is not a valid date in its file's layout",
           "order_ts")
    amount = parse_by_file(t, "amount", readings, "money", cfg.reading)
    qty = parse_integers(t["quantity"])
    price = parse_by_file(t, "unit_price", readings, "money", cfg.reading)
    derived = (t["amount"].isna() & qty.notna() & price.notna()).to_numpy(bool)
    amount = amount.mask(derived, (qty.astype("float64") * price).round(2))
    if derived.all():
        lg.add_fact("transactions", "amount_from_price", "filled", "amount", len(t), "no amount column: every "
                    "line's amount is quantity × unit_price")
    else:
        lg.add("transactions", "amount_from_price", "filled", t, derived, "amount", "quantity × unit_price")
    as_text = ~fullmatch(t["amount"].astype("string").str.strip(), _PLAIN_NUMBER) & ~derived
    lg.add("transactions", "amount_as_text", "changed", t, as_text & amount.notna().to_numpy(bool),
           "amount", "currency symbol or separators removed")
    reject(amount.isna().to_numpy(), "unparseable_amount",
           "amount is not a number in a known currency format", "amount")
    lg.add("transactions", "missing_value", "filled", t, t["quantity"].isna().to_numpy(bool),
           "quantity", "policy: 1")
    qty = qty.fillna(1)
    for col in ("category", "channel"):
        _filled_missing(lg, "transactions", t, col, "policy: unknown")
    reject(isin(t["customer_id"], test_ids), "test_account", "order of a test/internal account")
    if known_ids is not None:
        reject(~isin(t["customer_id"], known_ids), "unknown_customer",
               "customer_id not in the customers table", "customer_id")
    t = t.assign(order_ts=ts, amount=amount, quantity=qty, unit_price=price,
                 category=t["category"].astype("string").str.strip().str.lower().fillna("unknown"),
                 channel=t["channel"].astype("string").str.strip().str.lower().fillna("unknown"))
    t, cancel = mark_cancellations(t, cfg, rejected, lg)
    matched = match_cancellations(t, cancel & ~rejected)
    reject(cancel & matched.isna().to_numpy(), "unmatched_cancellation",
           "cancellation without an earlier purchase of the same product by the same customer")
    t["returned_order_id"] = t["returned_order_id"].mask(cancel, matched)
    is_return = t["returned_order_id"].notna().to_numpy()
    orphan = is_return & ~isin(t["returned_order_id"], t.loc[~rejected & ~is_return, "order_id"])
    reject(orphan, "orphan_return", "return references an order that is not in the data")
    netted = is_return & ~rejected
    into = np.full(len(t), None, dtype=object)  # the detail, built for the netted rows only
    into[netted] = ("into order " + t.loc[netted, "returned_order_id"].astype("string")).to_numpy()
    lg.add("transactions", "return_netted", "merged", t, netted, "amount", into)
    rej = t.loc[rejected].assign(_reason=reasons[rejected])
    lines = _take_rows(t, ~rejected, LINE_COLUMNS + ["_source_row"])
    return lines, rej, int(netted.sum())


def _take_rows(frame: pd.DataFrame, keep: np.ndarray, columns: list[str]) -> pd.DataFrame:
    """``frame.loc[keep, columns]`` built one column at a time, each column removed from
    ``frame`` as it is copied: at most one column is held twice (``frame`` is emptied)."""
    out = {}
    for col in columns:
        s = frame.pop(col)
        out[col] = s if keep.all() else s[keep].reset_index(drop=True)
        del s
    for col in list(frame.columns):
        del frame[col]
    return pd.DataFrame(out)


def _rejects(frame, table, reason_col="_reason"):
    if frame is None or not len(frame):
        return pd.DataFrame()
    src = [c for c in frame.columns if not c.startswith("_")]
    record = frame[src].astype("string").to_json(orient="records", lines=True).splitlines()
    return pd.DataFrame({
        "stage": "clean", "source_table": "raw_" + table,
        "source_file": frame["_source_file"].to_numpy(), "source_row": frame["_source_row"].to_numpy(),
        "column_name": "*", "rule": "clean", "reason": frame[reason_col].astype("string").to_numpy(),
        "value": pd.NA, "record": record, "load_id": frame["_load_id"].to_numpy(),
        "rejected_at": pd.Timestamp("1970-01-01"),
    })


def clean_database(con, cfg: CleanConfig | None = None, *, write: bool = True,
                   progress: bool = False, engine: str = "duckdb") -> CleanResult:
    """Clean the raw layer of the marketing database; see the module docstring.
    ``progress`` shows a bar over the steps (read, customers, transactions, campaigns, write).

    ``engine="duckdb"`` (default) applies the order-line rules in SQL over the raw table
    (:mod:`dbmlib.clean.lines_sql`): memory does not grow with the number of lines.
    ``engine="pandas"`` applies the same rules to the lines held in pandas — the reference
    implementation, which gives identical tables (tested)."""
    if engine not in {"duckdb", "pandas"}:
        raise ValueError(f"engine must be 'duckdb' or 'pandas', got {engine!r}")
    cfg = cfg or CleanConfig()
    lg = _Log()
    with StepBar("clean", ["read", "customers", "transactions", "campaigns", "write"], progress) as bar:
        bar.step("read")
        try:
            result = _clean_all(con, cfg, lg, bar, write, engine == "duckdb")
        finally:
            drop_staging(con)
        bar.close()
    return result


def _clean_all(con, cfg, lg, bar, write, in_sql) -> CleanResult:
    tx_cols = [c for c in SOURCES["transactions"].column_names if _has_column(con, "raw_transactions", c)]
    raw_c = _read(con, "raw_customers")
    raw_t = None if in_sql else _read(con, "raw_transactions", tx_cols)
    raw_k, raw_x = _read(con, "raw_campaigns"), _read(con, "raw_campaign_contacts")
    raw_p = _read(con, "raw_products")
    if (in_sql and not _n_rows(con, "raw_transactions")) or (not in_sql and raw_t is None):
        loaded = table_exists(con, "raw_transactions")
        raise InputError("raw_transactions",
                         problem=("the raw layer holds no transaction rows: 01 rejected every row (see its rejected "
                                  "rows)") if loaded else "the raw layer has no transactions: run 01_collection first",
                         expected="a transactions file whose rows pass validation (01 loaded none)")
    readings = {t: recorded_readings(con, t) for t in _RAW_TABLES}
    if in_sql:
        reference = parse_line_values(con, cfg, readings["raw_transactions"])
    else:
        for col in SOURCES["transactions"].column_names:
            if col not in raw_t:
                raw_t[col] = pd.Series(pd.NA, index=raw_t.index, dtype="string")
        order_ts = parse_by_file(raw_t, "order_ts", readings["raw_transactions"], "date", cfg.reading)
        reference = order_ts.max()
    recon, rejects = [], []
    bar.step("customers")
    if raw_c is not None:
        people, rej_c, reasons, test_ids = _clean_customers(raw_c, cfg, lg, reference, readings["raw_customers"])
        for ident in cfg.opt_out:
            hit = ((people["email"] == str(ident).strip().lower()) | (people["customer_id"] == ident)
                   ).fillna(False).to_numpy(bool)
            lg.add("customers", "opt_out", "changed", people, hit & people["email_opt_in"].to_numpy(),
                   "email_opt_in", "on the opt-out list")
            people.loc[hit, "email_opt_in"] = False
        master, id_map, merged = _merge_customers(people.loc[~rej_c], cfg, lg)
        rejects.append(_rejects(raw_c.loc[rej_c].assign(_reason=reasons[rej_c]), "customers"))
        recon.append(("customers", len(raw_c), 0, len(master), int(rej_c.sum()), int(merged.sum())))
    else:
        test_ids, id_map, master = set(), None, None
    known = None if raw_c is None else id_map["source_id"]
    raw_c = None  # free the raw frames as soon as they are cleaned: at 10M rows they are gigabytes
    bar.step("transactions")
    if in_sql:
        done = clean_lines_sql(con, cfg, lg, test_ids, known, id_map)
        n_raw_t, rej_t, n_netted, lines = done.n_raw, done.rejected, done.n_netted, None
    else:
        n_raw_t = len(raw_t)
        holder = {"raw": raw_t}
        del raw_t  # _clean_transactions takes the only reference (see there)
        lines, rej_t, n_netted = _clean_transactions(holder, order_ts, cfg, lg, test_ids, known,
                                                     readings["raw_transactions"])
        del order_ts
        if id_map is not None:
            lines["customer_id"] = _rekey(lg, "transactions", lines.assign(_key=lines["order_id"]), id_map)
    rejects.append(_rejects(rej_t, "transactions"))
    if not in_sql:  # the lines in load order, as the raw table (the SQL engine left them there)
        replace_tables(con, {LINES_TABLE: lines}, index=False)
        del lines
    n_orders, n_grouped = orders_from_lines(con, LINES_TABLE, lg)
    recon.append(("transactions", n_raw_t, 0, n_orders, len(rej_t), n_netted + n_grouped))
    amounts = read_frame(con, f"SELECT order_id, amount, net_amount, _source_row FROM {ORDERS_TABLE} "
                               "ORDER BY _source_row, order_id")
    flag, cap, outlier_summary = outliers(amounts, cfg, lg)
    counts = {"orders": n_orders, "gross_revenue": float(amounts["amount"].sum()),
              "net_revenue": float(amounts["net_amount"].sum())}
    replace_tables(con, {"_clean_flags": amounts.loc[flag.to_numpy(bool), ["order_id"]]}, index=False)
    del amounts, flag
    first_order = read_frame(con, f"SELECT customer_id, min(order_ts) AS ts FROM {ORDERS_TABLE} "
                                  "WHERE customer_id IS NOT NULL GROUP BY ALL").set_index("customer_id")["ts"]
    if master is None:  # e.g. CDNOW: customers are who bought
        first_order = first_order.sort_index()
        master = pd.DataFrame({"customer_id": first_order.index, "signup_date": first_order.to_numpy()})
        for col in ("gender", "region", "income_band", "acquisition_channel"):
            master[col] = "unknown"
        master["region"] = region_from_lines(con, master["customer_id"])
        master["birth_date"] = pd.NaT
        master["email_opt_in"] = False
        master["records_merged"] = 0
        recon.append(("customers", 0, len(master), len(master), 0, 0))
    else:
        no_signup = master["signup_date"].isna()
        master.loc[no_signup, "signup_date"] = master.loc[no_signup, "customer_id"].map(first_order)
    master["age_band"] = age_band(master["birth_date"], reference)
    customers = master[["customer_id", "gender", "age_band", "region", "income_band", "signup_date",
                        "acquisition_channel", "email_opt_in", "records_merged"]].copy()
    pii_cols = ["customer_id", "first_name", "last_name", "email", "phone", "street", "postcode",
                "birth_date"]
    pii = master[[c for c in pii_cols if c in master.columns]].copy()
    bar.step("campaigns")
    campaigns, contacts = _clean_campaigns(raw_k, raw_x, cfg, lg, id_map, test_ids, recon, rejects, readings)
    products = clean_products(raw_p, readings["raw_products"], cfg.reading)
    if raw_p is not None:
        recon.append(("products", len(raw_p), 0, len(products), 0, 0))
    _transaction_tables(con)
    reconciliation = pd.DataFrame(recon, columns=["table", "rows_in", "rows_derived", "rows_out",
                                                  "rows_rejected", "rows_merged"])
    reconciliation["balanced"] = (reconciliation["rows_in"] + reconciliation["rows_derived"]
                                  == reconciliation["rows_out"] + reconciliation["rows_rejected"]
                                  + reconciliation["rows_merged"])
    if not reconciliation["balanced"].all():
        raise ReconciliationError("rows do not reconcile:\n" + reconciliation.to_string())
    quality_log = lg.frame()
    counts |= dict(zip(["order_lines", "sale_lines"], con.execute(
        f"SELECT count(*), count(*) FILTER (returned_order_id IS NULL) FROM {LINES_TABLE}").fetchall()[0]))
    tables = {"customers": customers, "customer_pii": pii,
              "customer_id_map": id_map if id_map is not None else pd.DataFrame(
                  {"source_id": customers["customer_id"], "customer_id": customers["customer_id"],
                   "match_key": "self"}),
              "campaigns": campaigns, "campaign_contacts": contacts, "products": products,
              "quality_log": quality_log}
    rejects_df = pd.concat([r for r in rejects if len(r)], ignore_index=True) if any(
        len(r) for r in rejects) else pd.DataFrame()
    if write:
        bar.step("write")
        _write(con, tables, rejects_df, cap)
        raw = [t for t in _RAW_TABLES if table_exists(con, t)]
        record_lineage(con, [*_STAGED, MODEL_VIEW, *tables], stage="02_cleaning", inputs=raw)
    stored = StoredTables(tables, con if write else None)
    return CleanResult(stored, quality_log, rejects_df, reconciliation, outlier_summary, counts)


#: The clean tables built in the database (final name → staging name), never held in memory.
_STAGED = {"order_lines": LINES_TABLE, "transactions": "_clean_tx"}
#: The modelling copy of ``transactions``: a view (net amounts capped), no second ten-million-row table.
MODEL_VIEW = "transactions_model"


def _transaction_tables(con) -> None:
    """``transactions`` (one row per order, by time and order id, outliers flagged) in its
    staging table."""
    con.execute(f"""
        CREATE OR REPLACE TABLE _clean_tx AS
        SELECT o.order_id, o.customer_id, o.order_ts, o.channel, o.category, o.quantity, o.amount,
               o.returned_amount, o.net_amount, f.order_id IS NOT NULL AS is_outlier, o._source_row AS source_row
        FROM {ORDERS_TABLE} o LEFT JOIN _clean_flags f ON f.order_id = o.order_id
        ORDER BY o.order_ts, o.order_id""")


def _model_view(con, cap: float) -> None:
    """``transactions_model``: ``transactions`` with net amounts capped at ``cap`` (in its order;
    the campaign write-back's orders are capped too). The cap is written as text read back as
    a DOUBLE, the same number to the last bit (a decimal literal would be a DECIMAL)."""
    con.execute(f"CREATE VIEW {MODEL_VIEW} AS SELECT * REPLACE (least(net_amount, '{float(cap)!r}'::DOUBLE) "
                "AS net_amount) FROM transactions")


class StoredTables(dict):
    """The clean tables by name: the per-customer ones in memory, the line- and order-level
    ones (``order_lines``, ``transactions``, ``transactions_model``) read from the database
    on access — ten million lines are not held in memory for a report that shows five."""

    def __init__(self, tables: dict, con):
        super().__init__(tables)
        self._con = con

    def __missing__(self, name):
        if name not in (*_STAGED, MODEL_VIEW) or self._con is None:
            raise KeyError(name)
        return read_frame(self._con, f"SELECT * FROM {name}")


def _n_rows(con, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] if table_exists(con, table) else 0


def _has_column(con, table: str, column: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = ? "
                            "AND column_name = ?", [table, column]).fetchall()[0][0])


def _rekey(lg, table: str, frame: pd.DataFrame, id_map: pd.DataFrame) -> pd.Series:
    """Each row's master customer id (merged duplicates point to their master), with the
    rows whose id changes logged as ``rekeyed``; an id without a master stays missing."""
    master = lookup(frame["customer_id"], id_map["source_id"], id_map["customer_id"])
    moved = (master != frame["customer_id"]).fillna(True).to_numpy(bool)
    lg.add(table, "rekeyed", "changed", frame, moved, "customer_id", "re-keyed to the master customer")
    return master


def _clean_campaigns(raw_k, raw_x, cfg, lg, id_map, test_ids, recon, rejects, readings):
    campaigns = pd.DataFrame(columns=["campaign_id", "name", "channel", "start_date",
                                      "response_window_days", "contact_cost", "offer"])
    contacts = pd.DataFrame(columns=["campaign_id", "customer_id", "group", "contacted",
                                     "contact_date", "contact_cost", "responded", "response_revenue", "offer"])
    if raw_k is not None:
        campaigns = pd.DataFrame({
            "campaign_id": raw_k["campaign_id"], "name": raw_k["name"],
            "channel": raw_k["channel"].str.strip().str.lower(),
            "start_date": parse_by_file(raw_k, "start_date", readings["raw_campaigns"], "date", cfg.reading),
            "response_window_days": parse_integers(raw_k["response_window_days"]).fillna(30),
            "contact_cost": parse_by_file(raw_k, "contact_cost", readings["raw_campaigns"], "money",
                                          cfg.reading).fillna(0.0),
            "offer": raw_k["offer"]})
        recon.append(("campaigns", len(raw_k), 0, len(campaigns), 0, 0))
    if raw_x is None:
        return campaigns, contacts
    x = raw_x.copy()
    x["_key"] = x["campaign_id"] + ":" + x["customer_id"]
    remap = id_map is not None and len(id_map) > 0
    test = isin(x["customer_id"], test_ids)
    unknown = (~isin(x["customer_id"], id_map["source_id"]) & ~test) if remap else np.zeros(len(x), bool)
    reason = np.where(test, "contact of a test/internal account", "customer_id not in customers")
    bad = test | unknown
    lg.add("campaign_contacts", "test_account", "rejected", x, test, "customer_id", "test account")
    lg.add("campaign_contacts", "unknown_customer", "rejected", x, unknown, "customer_id",
           "customer_id not in customers")
    rejects.append(_rejects(x.loc[bad].assign(_reason=reason[bad]), "campaign_contacts"))
    keep = x.loc[~bad].copy()
    if remap:
        keep["customer_id"] = _rekey(lg, "campaign_contacts", keep, id_map)
    dup = keep.duplicated(subset=["campaign_id", "customer_id"], keep="first").to_numpy()
    lg.add("campaign_contacts", "duplicate_contact", "merged", keep, dup, "customer_id",
           "the same person twice in one campaign (duplicate records); first kept")
    keep = keep.loc[~dup]
    contacts = pd.DataFrame({
        "campaign_id": keep["campaign_id"], "customer_id": keep["customer_id"],
        "group": keep["group"].str.strip().str.lower(),
        "contacted": parse_flags(keep["contacted"]).fillna(keep["group"].str.strip().str.lower() != "control"),
        "contact_date": parse_by_file(keep, "contact_date", readings["raw_campaign_contacts"], "date", cfg.reading),
        "contact_cost": parse_by_file(keep, "contact_cost", readings["raw_campaign_contacts"], "money",
                                      cfg.reading).fillna(0.0),
        "responded": parse_flags(keep["responded"]).astype(bool),
        "response_revenue": parse_by_file(keep, "response_revenue", readings["raw_campaign_contacts"], "money",
                                          cfg.reading).fillna(0.0),
        "offer": keep["offer"].astype("string").str.strip().str.lower() if "offer" in keep else pd.NA,
    }).reset_index(drop=True)
    recon.append(("campaign_contacts", len(x), 0, len(contacts), int(bad.sum()), int(dup.sum())))
    return campaigns, contacts


def _write(con, tables: dict, rejects: pd.DataFrame, cap: float) -> None:
    """Replace the clean tables (``order_lines`` and ``transactions`` from their staging
    tables, ``transactions_model`` the view capping at ``cap``) and this stage's rejects in one
    transaction."""
    with transaction(con):
        drop_relation(con, MODEL_VIEW)  # a table in a database an earlier version cleaned
        for name, staged in _STAGED.items():
            con.execute(f"DROP TABLE IF EXISTS {name}")
            con.execute(f"ALTER TABLE {staged} RENAME TO {name}")
        _model_view(con, cap)
        con.execute("ALTER TABLE order_lines RENAME COLUMN _source_row TO source_row")
        for name, df in tables.items():
            with registered(con, "_clean_src", df):
                con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _clean_src")
        if table_exists(con, "rejects"):
            con.execute("DELETE FROM rejects WHERE stage = 'clean'")
            if len(rejects):
                insert_rows(con, "rejects", rejects)


def quality_report(quality_log: pd.DataFrame) -> pd.DataFrame:
    """Rows per table, rule and action (changed, filled, flagged, merged, rejected): the
    quality log's ``rows`` summed (a column-level fact counts every row it covers)."""
    if not len(quality_log):
        return pd.DataFrame(columns=["table", "rule", "action", "rows"])
    return (quality_log.groupby(["table", "rule", "action"])["rows"].sum().rename("rows")
            .reset_index().sort_values(["table", "rows"], ascending=[True, False])
            .reset_index(drop=True))


