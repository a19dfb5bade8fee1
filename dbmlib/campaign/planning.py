"""Plan a campaign: who may be contacted, who is worth contacting, and the experiment design.

The planning steps, in order:

1. :func:`eligibility` — consent for the channel, the user's suppression list and a
   frequency cap on recent contacts; every excluded customer keeps its reason.
2. :func:`expected_profit` and :func:`select_targets` — rank by expected profit of a
   contact (P(response) × value of a response × margin − contact cost, or the incremental
   version with uplift) and cut the list by budget or size; :func:`segment_rule_targets`
   is the plain RFM alternative.
3. :func:`assign_groups` — a seeded, stratified random control group withheld from
   contact and optional test cells ("test small, then roll out").
4. :func:`sample_size_two_proportions` and :func:`check_cell_sizes` — is each cell big
   enough to detect the lift the campaign is hoped to make?
5. :func:`export_contacts` — the only step that reads personal data: contact fields of the
   selected, contacted customers, written to a file for the channel.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.config import REPORTS_DIR
from ..core.db import registered
from ..core.errors import InputError
from ..core.fast_text import isin
from ..core.io import atomic_write_csv

__all__ = [
    "CONTACT_FIELDS",
    "assign_groups",
    "check_cell_sizes",
    "eligibility",
    "expected_profit",
    "export_contacts",
    "list_size",
    "read_suppression",
    "sample_size_two_proportions",
    "segment_rule_targets",
    "select_targets",
]

log = logging.getLogger(__name__)

#: Contact fields exported per channel (from ``customer_pii``).
CONTACT_FIELDS = {
    "email": ["email", "first_name"],
    "direct_mail": ["first_name", "last_name", "street", "postcode"],
    "phone": ["phone", "first_name"],
}


def _require(df: pd.DataFrame, cols, what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(what, column=missing[0], problem="column missing",
                         expected=f"columns {list(cols)}")


def read_suppression(path) -> pd.Index:
    """Customer ids of a suppression (do-not-contact) file: a CSV with a ``customer_id``
    column. A missing file or column is an :class:`InputError` naming it; blank ids are
    ignored and counted in the log."""
    path = Path(path)
    if not path.exists():
        raise InputError(str(path), problem="suppression file not found",
                         expected="a CSV file with a customer_id column")
    df = pd.read_csv(path, dtype=str)
    if "customer_id" not in df.columns:
        raise InputError(str(path), column="customer_id", problem="column missing",
                         expected=f"a customer_id column (found {list(df.columns)})")
    ids = df["customer_id"].str.strip()
    blank = ids.isna() | (ids == "")
    if blank.any():
        log.warning("%s: %d blank customer ids ignored", path, int(blank.sum()))
    return pd.Index(ids[~blank].unique(), name="customer_id")


def eligibility(customers: pd.DataFrame, *, channel: str, as_of, suppression=None,
                contacts: pd.DataFrame | None = None, frequency_cap_days: int = 30) -> pd.DataFrame:
    """Who may be contacted on ``channel`` on ``as_of``, with the reason for each exclusion.

    Parameters
    ----------
    customers : DataFrame indexed by customer id, with ``email_opt_in`` (consent to email).
    channel : {"email", "direct_mail", "phone"}
        Email needs ``email_opt_in``; mail and phone are allowed unless suppressed.
    suppression : iterable of customer ids that must never be contacted (do-not-mail list).
    contacts : contact history (``customer_id, contact_date, contacted``); customers contacted
        within ``frequency_cap_days`` before ``as_of`` are excluded.

    Returns
    -------
    DataFrame indexed like ``customers``: ``eligible`` and ``exclusion`` (first reason, or
    missing when eligible).
    """
    if channel not in CONTACT_FIELDS:
        raise ValueError(f"channel must be one of {list(CONTACT_FIELDS)}, got {channel!r}")
    as_of = pd.Timestamp(as_of)
    reason = pd.Series(pd.NA, index=customers.index, dtype="string")
    if suppression is not None:
        reason = reason.mask(isin(customers.index.to_series(), pd.Index(list(suppression))) & reason.isna(),
                             "on suppression list")
    if channel == "email":
        _require(customers, ["email_opt_in"], "customers")
        no_consent = ~customers["email_opt_in"].fillna(False).astype(bool)
        reason = reason.mask(no_consent & reason.isna(), "no email consent")
    if contacts is not None and len(contacts):
        _require(contacts, ["customer_id", "contact_date", "contacted"], "campaign_contacts")
        date = pd.to_datetime(contacts["contact_date"])
        recent = contacts.loc[contacts["contacted"].astype(bool)
                              & (date > as_of - pd.Timedelta(days=frequency_cap_days))
                              & (date <= as_of), "customer_id"]
        reason = reason.mask(isin(customers.index.to_series(), recent) & reason.isna(),
                             f"contacted in the last {frequency_cap_days} days")
    return pd.DataFrame({"eligible": reason.isna(), "exclusion": reason}, index=customers.index)


def expected_profit(scores: pd.DataFrame, *, margin: float, contact_cost: float,
                    probability_col: str = "p_response", value_col: str = "expected_spend"
                    ) -> pd.Series:
    """Expected profit of one contact: ``P × value × margin − contact_cost``.

    With ``probability_col="uplift"`` (the *extra* response probability the contact causes)
    this is the expected *incremental* profit, the quantity a campaign should maximise.
    """
    _require(scores, [probability_col, value_col], "scores")
    return scores[probability_col] * scores[value_col] * margin - contact_cost


def list_size(budget: float, contact_cost: float, control_share: float) -> int:
    """How many customers the budget lists when ``control_share`` of them is not contacted
    (rounded down, with a tolerance for binary fractions: 250 at 0.05 with a 20 % control
    lists 6,250, not 6,249); every customer when contacts cost nothing."""
    per_listed = contact_cost * (1 - control_share)
    if per_listed <= 0:
        return np.iinfo(np.int64).max
    return int(np.floor(budget / per_listed * (1 + 1e-12)))


def select_targets(profit: pd.Series, *, contact_cost: float, budget: float | None = None,
                   max_size: int | None = None, eligible: pd.Series | None = None,
                   only_profitable: bool = True) -> pd.Index:
    """Customer ids to contact, best first: eligible, (profitable,) within budget and size.

    Ties are broken by customer id so the list is reproducible.
    """
    p = profit.dropna()
    if eligible is not None:
        p = p[eligible.reindex(p.index).fillna(False).astype(bool)]
    if only_profitable:
        p = p[p > 0]
    order = pd.DataFrame({"profit": p, "id": p.index}).sort_values(["profit", "id"],
                                                                  ascending=[False, True])
    n = len(order)
    if budget is not None:
        n = min(n, int(np.floor(budget / contact_cost)) if contact_cost > 0 else n)
    if max_size is not None:
        n = min(n, int(max_size))
    return pd.Index(order["id"].iloc[:n], name=profit.index.name)


def segment_rule_targets(features: pd.DataFrame, segments, *, eligible: pd.Series | None = None,
                         max_size: int | None = None) -> pd.Index:
    """The plain alternative: every eligible customer of the chosen RFM ``segments``
    (most recent buyers first)."""
    _require(features, ["segment", "recency_days"], "customer_features")
    f = features[features["segment"].astype(str).isin(list(segments))]
    if eligible is not None:
        f = f[eligible.reindex(f.index).fillna(False).astype(bool)]
    f = f.assign(_id=f.index).sort_values(["recency_days", "_id"])
    return pd.Index(f.index[: max_size if max_size is not None else len(f)], name=features.index.name)


def assign_groups(targets: pd.Index, *, control_share: float, seed: int,
                  strata: pd.Series | None = None, cells: dict[str, float] | None = None
                  ) -> pd.DataFrame:
    """Randomly withhold a control group, stratified, and split the rest into test cells.

    Parameters
    ----------
    targets : customer ids selected for the campaign.
    control_share : share of every stratum withheld from contact (0 < share < 1).
    strata : label per customer (decile, segment); each stratum is split separately so the
        control group mirrors the contacted group.
    cells : test cells and their shares of the contacted customers, e.g.
        ``{"offer A": 0.5, "offer B": 0.5}``; default one cell ``"treatment"``.

    Returns
    -------
    DataFrame indexed by customer id: ``group`` ("control" or a cell), ``contacted``, ``stratum``.
    """
    if not 0 < control_share < 1:
        raise ValueError(f"control_share must be between 0 and 1, got {control_share}")
    cells = cells or {"treatment": 1.0}
    shares = np.array(list(cells.values()), float)
    if (shares <= 0).any() or not np.isclose(shares.sum(), 1.0):
        raise ValueError(f"cell shares must be positive and add up to 1, got {cells}")
    ids = pd.Index(targets)
    stratum = (strata.reindex(ids).astype("string").fillna("all") if strata is not None
               else pd.Series("all", index=ids, dtype="string"))
    rng = np.random.default_rng(seed)
    group = pd.Series("", index=ids, dtype=object)
    bounds = np.concatenate([[control_share], control_share + (1 - control_share) * np.cumsum(shares)])
    labels = np.array(["control", *cells.keys()], dtype=object)
    for _, members in sorted(stratum.groupby(stratum, sort=True).groups.items()):
        members = pd.Index(sorted(members))
        # a random permutation, then cut at the cumulative shares: exact sizes per stratum
        pos = (rng.permutation(len(members)) + 0.5) / len(members)
        group[members] = labels[np.searchsorted(bounds, pos, side="right").clip(0, len(labels) - 1)]
    return pd.DataFrame({"group": group, "contacted": group != "control", "stratum": stratum})


def sample_size_two_proportions(p_control: float, min_detectable_lift: float, alpha: float = 0.05,
                                power: float = 0.8, *, relative: bool = False, ratio: float = 1.0
                                ) -> int:
    """Customers needed in the *control* cell to detect a lift with a two-sided test.

    The test cell needs ``ratio`` times as many. ``min_detectable_lift`` is in percentage
    points of response rate (``relative=True``: a fraction of ``p_control``). The effect
    size is Cohen's h (arcsine transformation), solved with statsmodels' ``NormalIndPower``.
    """
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    p_test = p_control * (1 + min_detectable_lift) if relative else p_control + min_detectable_lift
    if not (0 < p_control < 1 and 0 < p_test < 1) or p_test == p_control:
        raise ValueError(f"response rates must be in (0, 1) and differ: control {p_control}, "
                         f"test {p_test}")
    h = abs(proportion_effectsize(p_test, p_control))
    n = NormalIndPower().solve_power(effect_size=h, alpha=alpha, power=power, ratio=ratio,
                                     alternative="two-sided")
    return int(np.ceil(n))


def check_cell_sizes(groups: pd.DataFrame, *, p_control: float, min_detectable_lift: float,
                     alpha: float = 0.05, power: float = 0.8, relative: bool = False,
                     group_col: str = "group", control_label: str = "control") -> pd.DataFrame:
    """Size of every cell against the size needed to detect the lift against the control
    (cells in ``group_col``, the control labelled ``control_label``).

    A cell that is too small is flagged (``enough = False``) and logged as a warning.
    """
    _require(groups, [group_col], "groups")
    sizes = groups[group_col].astype(str).value_counts()
    n_control = int(sizes.get(control_label, 0))
    rows = []
    for cell, n in sizes.items():
        if cell == control_label:
            continue
        ratio = n / n_control if n_control else 1.0
        need = sample_size_two_proportions(p_control, min_detectable_lift, alpha, power,
                                           relative=relative, ratio=ratio)
        rows.append({"cell": cell, "customers": int(n), "control": n_control,
                     "control_needed": need, "cell_needed": int(np.ceil(need * ratio)),
                     "enough": n_control >= need})
    out = pd.DataFrame(rows, columns=["cell", "customers", "control", "control_needed",
                                      "cell_needed", "enough"]).set_index("cell")
    for cell in out.index[~out["enough"]]:
        log.warning("cell %r: %d control customers, %d needed to detect a lift of %s",
                    cell, n_control, out.loc[cell, "control_needed"], min_detectable_lift)
    return out


def export_contacts(con, groups: pd.DataFrame, *, channel: str, path) -> dict:
    """Write the contact file for the channel: ids and contact fields of contacted customers.

    This is the only function that reads ``customer_pii``. Customers without the field the
    channel needs (no email address for an email campaign; a source without that column at
    all) are not written and are counted.
    The file may not be written under the reports folder (reports never hold personal data).
    """
    path = Path(path).resolve()
    if REPORTS_DIR.resolve() in path.parents:
        raise ValueError(f"{path}: contact files hold personal data and may not be written "
                         f"under {REPORTS_DIR}")
    fields = CONTACT_FIELDS[channel]
    ids = groups.index[groups["contacted"].astype(bool)]
    with registered(con, "_ids", pd.DataFrame({"customer_id": ids})):
        have = {r[0] for r in con.execute("DESCRIBE customer_pii").fetchall()}
        select = ", ".join(f"p.{f}" if f in have else f"NULL::VARCHAR AS {f}" for f in fields)
        pii = con.execute(f"SELECT p.customer_id, {select} "
                          "FROM customer_pii p JOIN _ids USING (customer_id) "
                          "ORDER BY p.customer_id").df()
    key = fields[0] if channel != "direct_mail" else "street"
    usable = pii[key].notna() & (pii[key].astype(str).str.strip() != "")
    out = pii[usable].merge(groups[["group"]], left_on="customer_id", right_index=True)
    atomic_write_csv(out, path)
    counts = {"selected": len(ids), "written": len(out),
              f"no_{key}": int((~usable).sum()), "not_in_database": int(len(ids) - len(pii))}
    log.info("contact file %s: %s", path, counts)
    return counts
