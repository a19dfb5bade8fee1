"""The ``retail-demo`` transactions as a POS / e-commerce system exports them: invoice lines.

``layout="lines"`` in :func:`dbmlib.demo.retail_demo.make_retail_demo` uses this module.
It writes invoice lines instead of ``transactions.csv``, which has one row per order:

* each sale order becomes 1 to 4 lines, each with a different product of the order's
  category from :func:`dbmlib.demo.catalogue.catalogue`. The lines' quantities add up to the
  order's quantity and ``Σ Quantity × UnitPrice`` equals the order's amount to the cent;
* each return becomes cancellation lines on invoice ``"C" + return id`` (``CR0000012``),
  with negative quantities. They do not name the original order. For a product P bought by
  person X, the loader takes the original order to be X's latest purchase of P at or before
  the cancellation. The generator makes sure that this rule finds the true order;
* 1 % of the lines are exported twice, one after the other.

Written to the folder: ``transactions.xlsx`` (one sheet per calendar year), or
``transactions.csv`` / ``transactions.csv.gz``, and ``mapping.yaml``. ``mapping.yaml`` maps
the export's column names to the loader's. ``InvoiceDate`` is text, month first, with a
two-digit year: ``"1/4/23 8:59"``.
"""

from __future__ import annotations

import gzip
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ..core.fast_text import csv_bytes
from ..core.io import atomic_path, atomic_write_text
from .catalogue import CATEGORIES, catalogue

__all__ = ["LINE_COLUMNS", "LINE_FORMATS", "LINE_MAPPING", "export_text", "format_invoice_date",
           "order_lines_from_orders", "write_line_export"]

#: Columns of the line export, in file order (like a public e-commerce export).
LINE_COLUMNS = ["InvoiceNo", "StockCode", "Description", "Category", "Channel", "Quantity",
                "InvoiceDate", "UnitPrice", "CustomerID", "Country"]
#: ``line_format`` → file name of the export.
LINE_FORMATS = {"xlsx": "transactions.xlsx", "csv": "transactions.csv",
                "csv.gz": "transactions.csv.gz"}
#: What ``mapping.yaml`` says: export column → the loader's ``transactions`` column.
LINE_MAPPING = {"transactions": {
    "InvoiceNo": "order_id", "StockCode": "product_id", "Description": "product_name",
    "Category": "category", "Channel": "channel", "Quantity": "quantity",
    "InvoiceDate": "order_ts", "UnitPrice": "unit_price", "CustomerID": "customer_id",
    "Country": "country"}}
COUNTRY = "United Kingdom"
MAX_LINES = 4  # lines per order at most
EXTRA_LINES_MEAN = 0.8  # k = min(quantity, 1 + Poisson(0.8), 4)
MIN_LINE_CENTS = 100  # an order has at most one line per pound of its amount
MAX_FIX_ROUNDS = 100


def format_invoice_date(ts: pd.Series) -> pd.Series:
    """Timestamps as the export writes them: month first, no leading zeros, two-digit year,
    ``"{month}/{day}/{yy} {hour}:{minute:02d}"``, e.g. ``"1/4/23 8:59"``, ``"12/31/24 17:05"``.

    The timestamps must be whole minutes, because the text drops the seconds.
    """
    ts = pd.to_datetime(pd.Series(ts))
    if (ts.dt.second != 0).any() or (ts.dt.microsecond != 0).any():
        raise ValueError("InvoiceDate keeps whole minutes only; some timestamps have seconds")

    def s(part):
        return part.astype("int64").astype(str)

    return (s(ts.dt.month) + "/" + s(ts.dt.day) + "/" + s(ts.dt.year % 100).str.zfill(2) + " "
            + s(ts.dt.hour) + ":" + s(ts.dt.minute).str.zfill(2))


def _unit_cents(total, qty, k, weights):
    """Unit prices in cents with ``Σ_j qty[:, j] × unit[:, j] == total`` for every row.

    The first ``k - 1`` lines take a ``weights`` share of ``total`` (at least 1 cent a unit).
    The last line, whose quantity is 1, takes the remainder. A single line (``k == 1``)
    holds the whole total, which must then divide by its quantity.
    """
    n, width = qty.shape
    col = np.arange(width)
    first = col < (k - 1)[:, None]
    w = np.where(col < k[:, None], weights, 0.0)
    share = w / w.sum(axis=1, keepdims=True) * total[:, None]
    unit = np.where(first, np.maximum(1, np.floor(share / np.maximum(qty, 1))), 0).astype(np.int64)
    over = (unit * qty).sum(axis=1) > total - 1
    unit[over] = first[over].astype(np.int64)  # every unit at 1 cent leaves the last line > 0
    rest = total - (unit * qty).sum(axis=1)
    last = qty[np.arange(n), k - 1]
    if ((rest % last) != 0).any() or (rest < last).any():
        raise ValueError("an amount cannot be split into whole-cent unit prices")
    unit[np.arange(n), k - 1] = rest // last
    return unit


def _people(customer_id: pd.Series, duplicates) -> np.ndarray:
    """Integer code of the person behind each customer id (duplicate records → master)."""
    if duplicates is None:
        masters = {}
    elif isinstance(duplicates, pd.DataFrame):
        masters = dict(zip(duplicates["duplicate_id"], duplicates["master_id"]))
    else:
        masters = dict(duplicates)
    person = customer_id.map(lambda c: masters.get(c, c))
    return pd.factorize(person)[0].astype(np.int64)


def _violations(line_product, line_person, line_ts, line_order, cancel_line, cancel_ts):
    """Sale lines that would capture a cancellation: same person and product as the
    cancelled sale line, another order, timestamp in [original ts, cancellation ts]."""
    if cancel_line.size == 0:
        return np.array([], dtype=np.int64)
    n_prod = int(line_product.max()) + 1
    sales = pd.DataFrame({"key": line_person * n_prod + line_product, "ts": line_ts,
                          "order": line_order, "line": np.arange(line_product.size)})
    orig = cancel_line
    canc = pd.DataFrame({"key": line_person[orig] * n_prod + line_product[orig],
                         "t0": line_ts[orig], "t1": cancel_ts, "order0": line_order[orig]})
    pairs = canc.merge(sales, on="key")
    bad = pairs.loc[(pairs["ts"] >= pairs["t0"]) & (pairs["ts"] <= pairs["t1"])
                    & (pairs["order"] != pairs["order0"]), "line"]
    return np.unique(bad.to_numpy())


def order_lines_from_orders(lines: pd.DataFrame, rng: np.random.Generator, duplicates=None,
                            duplicate_rate: float = 0.01) -> pd.DataFrame:
    """Expand one-row-per-order transactions into invoice lines.

    Parameters
    ----------
    lines : DataFrame
        Numeric orders and returns with columns ``order_id, customer_id, order_ts, channel,
        category, quantity, amount, returned_order_id``. Returns have ``returned_order_id``
        set, a negative quantity and a negative amount. A full return has ``-quantity`` equal
        to the order's quantity. A partial return has quantity -1.
    rng : numpy Generator
        The random stream of the expansion.
    duplicates : DataFrame with ``duplicate_id, master_id`` or a mapping, optional
        Duplicate customer records and their masters. The cancellation check treats them as
        one person.
    duplicate_rate : float, default 0.01
        Share of lines exported twice, the copy right after the line.

    Returns
    -------
    DataFrame with :data:`LINE_COLUMNS` in time order. ``InvoiceDate`` is a timestamp and
    ``UnitPrice`` a float in pounds with whole cents.

    Notes
    -----
    A sale of quantity ``q`` and amount ``A`` becomes ``k = min(q, 1 + Poisson(0.8), 4)``
    lines, each with a different product of the order's category. Quantities are at least 1,
    add up to ``q`` and the last line has quantity 1. The first ``k - 1`` lines take a random
    share of ``A`` and the last line's unit price is the remainder, so
    ``Σ Quantity × UnitPrice == A`` to the cent. An order has at most one line per pound of
    ``A``, so small amounts get fewer lines. One line holding ``q > 1`` units needs
    ``A`` (and any full return's amount) to divide by ``q``. When it does not, the order
    gets two lines.

    A full return gives one cancellation line per sale line, with the negative quantity and
    the same unit price. It sums to the return's amount. A full return of an order whose
    amount was later planted as an outlier does not sum to the order's amount. Its unit
    prices are then split again in the same proportions. A partial return gives one line of
    one of the order's products: quantity -1, unit price = the returned amount.

    The loader takes a cancellation line's order to be the same person's latest purchase of
    the same product at or before the cancellation. To make this find the true order, a sale
    line of that product by that person must not fall between the original order and the
    cancellation (ties with the original order's time included). Any such sale line gets
    another product of its category that is not already in its order. The check then runs
    again until no such line is left.
    """
    lines = lines.reset_index(drop=True)
    cat = catalogue()
    cat_index = {c: i for i, c in enumerate(CATEGORIES)}
    per_cat = [cat.index[cat["category"] == c].to_numpy() for c in CATEGORIES]
    width = max(len(p) for p in per_cat)
    table = np.full((len(CATEGORIES), width), -1, dtype=np.int64)
    for i, p in enumerate(per_cat):
        table[i, : len(p)] = p

    is_ret = lines["returned_order_id"].notna().to_numpy()
    sales, rets = lines.loc[~is_ret], lines.loc[is_ret]
    n_sale = len(sales)
    q = sales["quantity"].to_numpy(np.int64)
    amount = np.rint(sales["amount"].to_numpy(float) * 100).astype(np.int64)
    if (q < 1).any() or (amount < q).any():
        raise ValueError("every sale needs quantity >= 1 and at least 1 cent per unit")
    cat_i = sales["category"].map(cat_index)
    if cat_i.isna().any():
        raise ValueError(f"unknown categories: {sorted(set(sales['category'][cat_i.isna()]))}")
    cat_i = cat_i.to_numpy(np.int64)

    orig = pd.Index(sales["order_id"]).get_indexer(rets["returned_order_id"])
    if (orig < 0).any():
        raise ValueError("a return names an order that is not in the frame")
    r_qty = -rets["quantity"].to_numpy(np.int64)
    r_amount = -np.rint(rets["amount"].to_numpy(float) * 100).astype(np.int64)
    full = r_qty == q[orig]
    if not ((r_qty == 1) | full).all():
        raise ValueError("a return is neither full nor of one unit")
    full_back = np.zeros(n_sale, np.int64)  # the full return's amount, 0 if none
    full_back[orig[full]] = r_amount[full]

    # --- sale lines: how many, quantities, products, unit prices
    k = np.minimum(np.minimum(q, 1 + rng.poisson(EXTRA_LINES_MEAN, n_sale)), MAX_LINES)
    k = np.clip(k, 1, np.maximum(amount // MIN_LINE_CENTS, 1))  # small amounts: fewer lines
    uneven = (amount % q != 0) | (full_back % q != 0)
    k = np.where((k == 1) & (q > 1) & uneven, 2, k)
    col = np.arange(MAX_LINES)
    live = col < k[:, None]
    qty = live.astype(np.int64)
    qty[k == 1, 0] = q[k == 1]
    extra = np.where(k > 1, q - k, 0)  # units beyond one a line, on the first k - 1 lines
    for j in range(int(extra.max(initial=0))):
        rows = np.flatnonzero(extra > j)
        qty[rows, rng.integers(0, k[rows] - 1)] += 1
    keys = rng.random((n_sale, width))
    keys[table[cat_i] < 0] = 2.0  # padding slots sort last
    slots = np.argsort(keys, axis=1, kind="stable")[:, :MAX_LINES]
    product = np.take_along_axis(table[cat_i], slots, axis=1)
    unit = _unit_cents(amount, qty, k, rng.gamma(3.0, size=(n_sale, MAX_LINES)))

    o_idx, j_idx = np.nonzero(live)  # one entry per sale line, order by order
    line_id = np.full((n_sale, MAX_LINES), -1, dtype=np.int64)
    line_id[o_idx, j_idx] = np.arange(o_idx.size)
    line_product = product[o_idx, j_idx]
    line_qty, line_unit = qty[o_idx, j_idx], unit[o_idx, j_idx]
    line_ts = sales["order_ts"].to_numpy()[o_idx]
    person = _people(lines["customer_id"], duplicates)
    line_person = person[~is_ret][o_idx]

    # --- cancellation lines, each pointing at the sale line it cancels
    mirror = full & (r_amount == amount[orig])
    resplit = full & ~mirror
    c_ret, c_j, c_qty, c_unit = [], [], [], []
    r_idx = np.flatnonzero(mirror)
    rr, jj = np.nonzero(live[orig[r_idx]])
    c_ret.append(r_idx[rr]), c_j.append(jj)
    c_qty.append(-qty[orig[r_idx[rr]], jj]), c_unit.append(unit[orig[r_idx[rr]], jj])
    r_idx = np.flatnonzero(resplit)
    if r_idx.size:
        o = orig[r_idx]
        again = _unit_cents(r_amount[r_idx], qty[o], k[o], (unit[o] * qty[o]).astype(float))
        rr, jj = np.nonzero(live[o])
        c_ret.append(r_idx[rr]), c_j.append(jj)
        c_qty.append(-qty[o[rr], jj]), c_unit.append(again[rr, jj])
    r_idx = np.flatnonzero(~full)
    jj = rng.integers(0, k[orig[r_idx]])
    c_ret.append(r_idx), c_j.append(jj)
    c_qty.append(-np.ones(r_idx.size, np.int64)), c_unit.append(r_amount[r_idx])
    c_ret, c_j = np.concatenate(c_ret), np.concatenate(c_j)
    c_qty, c_unit = np.concatenate(c_qty), np.concatenate(c_unit)
    c_line = line_id[orig[c_ret], c_j]
    c_ts = rets["order_ts"].to_numpy()[c_ret]

    # --- make "latest earlier purchase of the product" find the true order
    in_order = {}
    for _ in range(MAX_FIX_ROUNDS):
        bad = _violations(line_product, line_person, line_ts, o_idx, c_line, c_ts)
        if bad.size == 0:
            break
        for b in bad:
            o = o_idx[b]
            taken = in_order.setdefault(o, set(product[o, : k[o]]))
            choices = [p for p in per_cat[cat_i[o]] if p not in taken]
            new = choices[int(rng.integers(len(choices)))]
            taken.discard(line_product[b])
            taken.add(new)
            product[o, j_idx[b]] = line_product[b] = new
    assert _violations(line_product, line_person, line_ts, o_idx, c_line, c_ts).size == 0, \
        "cancellation lines still ambiguous"

    # --- assemble: sale lines, then cancellation lines, in time order
    row = np.concatenate([np.flatnonzero(~is_ret)[o_idx], np.flatnonzero(is_ret)[c_ret]])
    src = pd.concat([sales.iloc[o_idx], rets.iloc[c_ret]], ignore_index=True)
    invoice = np.concatenate([sales["order_id"].to_numpy(object)[o_idx],
                              "C" + rets["order_id"].to_numpy(object)[c_ret]])
    prod = np.concatenate([line_product, line_product[c_line]])
    out = pd.DataFrame({
        "InvoiceNo": invoice,
        "StockCode": cat["product_id"].to_numpy(object)[prod],
        "Description": cat["product_name"].to_numpy(object)[prod],
        "Category": src["category"].to_numpy(object),
        "Channel": src["channel"].to_numpy(object),
        "Quantity": np.concatenate([line_qty, c_qty]),
        "InvoiceDate": pd.to_datetime(src["order_ts"]).to_numpy(),
        "UnitPrice": np.concatenate([line_unit, c_unit]) / 100,
        "CustomerID": src["customer_id"].to_numpy(object),
        "Country": COUNTRY,
    })
    within = np.concatenate([j_idx, c_j])
    order = np.lexsort((within, row, out["InvoiceDate"].to_numpy()))
    out = out.iloc[order].reset_index(drop=True)
    twice = rng.random(len(out)) < duplicate_rate
    return out.iloc[np.repeat(np.arange(len(out)), 1 + twice)].reset_index(drop=True)


def _fixed_xlsx(path: Path, stamp: pd.Timestamp) -> None:
    """Make an openpyxl file byte-reproducible: fixed zip entry times and document dates."""
    when = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(path) as zin:
        entries = [(info, zin.read(info.filename)) for info in zin.infolist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in entries:
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*",
                              rb"\g<1>" + when.encode(), data)
            fixed = zipfile.ZipInfo(info.filename, date_time=(stamp.year, stamp.month, stamp.day,
                                                              stamp.hour, stamp.minute, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(fixed, data)
    path.write_bytes(buf.getvalue())


def export_text(export: pd.DataFrame) -> pd.DataFrame:
    """The invoice lines as the files hold them: :data:`LINE_COLUMNS` with ``InvoiceDate`` as
    text (:func:`format_invoice_date`). A CSV writes ``UnitPrice`` with two decimals."""
    ts = pd.to_datetime(export["InvoiceDate"])
    return export[LINE_COLUMNS].assign(InvoiceDate=format_invoice_date(ts).to_numpy())


def write_line_export(export: pd.DataFrame, out_dir, line_format: str = "xlsx") -> Path:
    """Write invoice lines and ``mapping.yaml`` to ``out_dir``. Both files are written
    atomically.

    Parameters
    ----------
    export : DataFrame
        Output of :func:`order_lines_from_orders`: :data:`LINE_COLUMNS`, with ``InvoiceDate``
        as timestamps in time order.
    out_dir : path
        Folder to write into.
    line_format : {"xlsx", "csv", "csv.gz"}, default "xlsx"
        ``xlsx`` writes ``transactions.xlsx`` with one sheet per calendar year
        (``"2023"``, ``"2024"``, …). ``InvoiceDate`` is a text cell and ``UnitPrice`` a
        number shown with 2 decimals. ``csv`` and ``csv.gz`` write ``transactions.csv`` and
        ``transactions.csv.gz``. The same input gives byte-identical files.

    Returns
    -------
    Path of the transactions file.
    """
    if line_format not in LINE_FORMATS:
        raise ValueError(f"line_format must be one of {sorted(LINE_FORMATS)}, got {line_format!r}")
    out = Path(out_dir)
    target = out / LINE_FORMATS[line_format]
    ts = pd.to_datetime(export["InvoiceDate"])
    text = export_text(export)
    with atomic_path(target) as tmp:
        if line_format == "xlsx":
            years = ts.dt.year.to_numpy()
            with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
                for year in np.unique(years):
                    part = text.loc[years == year]
                    part.to_excel(writer, sheet_name=str(year), index=False)
                    sheet = writer.sheets[str(year)]
                    price_col = LINE_COLUMNS.index("UnitPrice") + 1
                    for (cell,) in sheet.iter_rows(min_row=2, min_col=price_col,
                                                   max_col=price_col):
                        cell.number_format = "0.00"
            _fixed_xlsx(tmp, ts.max() if len(ts) else pd.Timestamp("2000-01-01"))
        else:
            data = csv_bytes(text, float_format="%.2f")
            tmp.write_bytes(gzip.compress(data, mtime=0) if line_format == "csv.gz" else data)
    atomic_write_text(yaml.safe_dump(LINE_MAPPING, sort_keys=False), out / "mapping.yaml")
    return target
