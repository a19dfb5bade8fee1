"""Close the loop: write a campaign's contacts and responses back as history.

:func:`write_back` does two things, both idempotent (keyed by the campaign id, so writing
the same campaign twice leaves the same rows once):

1. it writes the campaign, its contact history and its response purchases as source files
   into a *feedback folder* (``<campaign_id>/campaigns.csv``, ``campaign_contacts.csv``,
   ``transactions.csv``) that :func:`dbmlib.run.sources.load_source` loads with the source on
   every later run — so the next run's RFM, scores and frequency caps see them (the raw
   export files themselves are never touched);
2. it replaces the campaign's rows in the clean tables of the current database
   (``campaigns``, ``campaign_contacts``, ``transactions`` and so the ``transactions_model``
   view) in one transaction, so the rest of this run sees them too.

Response purchases get the order id ``<campaign_id>:<customer_id>``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..core.db import insert_rows, is_view, table_exists, transaction
from ..core.errors import InputError
from ..core.io import atomic_write_csv
from ..core.lineage import touch
from ..segment.rfm import rfm_table

__all__ = [
    "CONTACT_COLUMNS",
    "RESPONSE_CHANNEL",
    "campaign_record",
    "responders_before_after",
    "response_order_prefix",
    "write_back",
    "write_back_responses",
]

CONTACT_COLUMNS = ["campaign_id", "customer_id", "group", "contacted", "contact_date",
                   "contact_cost", "responded", "response_revenue", "offer"]
_OPTIONAL_CONTACT_COLUMNS = {"offer"}  # a cross-sell campaign's offered category
_CAMPAIGN_COLUMNS = ["campaign_id", "name", "channel", "start_date", "response_window_days",
                     "contact_cost", "offer"]


def response_order_prefix(campaign_id: str) -> str:
    """Order ids of a campaign's written-back response purchases start with this."""
    return f"{campaign_id}:"


def _check(contacts: pd.DataFrame, responses: pd.DataFrame, campaign: dict) -> None:
    missing = [c for c in _CAMPAIGN_COLUMNS if c not in campaign]
    if missing:
        raise InputError("campaign", column=missing[0], problem="field missing",
                         expected=f"fields {_CAMPAIGN_COLUMNS}")
    for name, df, cols in (("contacts", contacts, [c for c in CONTACT_COLUMNS[1:] if c not in _OPTIONAL_CONTACT_COLUMNS]),
                           ("responses", responses, ["customer_id", "order_ts", "amount"])):
        gone = [c for c in cols if c not in df.columns]
        if gone:
            raise InputError(name, column=gone[0], problem="column missing", expected=f"columns {cols}")
    dup = contacts["customer_id"].duplicated()
    if dup.any():
        raise InputError("contacts", column="customer_id", rows=list(dup[dup].index[:10]),
                         problem="customer contacted twice in one campaign", expected="one row per customer")


def write_back(con, campaign: dict, contacts: pd.DataFrame, responses: pd.DataFrame,
               feedback_dir) -> dict:
    """Write one campaign's contacts and response purchases back (see the module docstring).

    Parameters
    ----------
    campaign : dict with ``campaign_id, name, channel, start_date, response_window_days,
        contact_cost, offer``.
    contacts : one row per customer of the experiment (treated and control):
        ``customer_id, group, contacted, contact_date, contact_cost, responded,
        response_revenue`` and, for a cross-sell campaign, ``offer`` (the offered category).
    responses : the response purchases: ``customer_id, order_ts, amount`` (optional
        ``channel``, ``category``).
    feedback_dir : folder of written-back campaigns (one subfolder per campaign).

    Returns
    -------
    dict of counts: contacts and transactions written, rows they replaced.
    """
    _check(contacts, responses, campaign)
    cid = str(campaign["campaign_id"])
    camp = pd.DataFrame([{c: campaign[c] for c in _CAMPAIGN_COLUMNS}])
    camp["start_date"] = pd.Timestamp(camp["start_date"].iloc[0])
    cont = contacts.assign(campaign_id=cid).reindex(columns=CONTACT_COLUMNS)
    cont["contact_date"] = pd.to_datetime(cont["contact_date"])
    tx = pd.DataFrame({
        "order_id": response_order_prefix(cid) + (responses["order_id"] if "order_id" in responses
                                                  else responses["customer_id"]).astype(str),
        "customer_id": responses["customer_id"].astype(str).to_numpy(),
        "order_ts": pd.to_datetime(responses["order_ts"]).to_numpy(),
        "channel": responses["channel"].to_numpy() if "channel" in responses else "unknown",
        "category": responses["category"].to_numpy() if "category" in responses else "unknown",
        "quantity": 1,
        "amount": responses["amount"].astype(float).round(2).to_numpy(),
    }).sort_values("order_id", kind="stable").reset_index(drop=True)

    folder = Path(feedback_dir) / cid
    fmt = "%Y-%m-%d %H:%M:%S"
    atomic_write_csv(camp.assign(start_date=camp["start_date"].dt.strftime("%Y-%m-%d")),
                     folder / "campaigns.csv")
    atomic_write_csv(cont.assign(contact_date=cont["contact_date"].dt.strftime("%Y-%m-%d"))
                     .sort_values("customer_id"), folder / "campaign_contacts.csv")
    atomic_write_csv(tx.assign(order_ts=tx["order_ts"].dt.strftime(fmt), returned_order_id=""),
                     folder / "transactions.csv")

    counts = {"campaign_id": cid, "contacts": len(cont), "transactions": len(tx)}
    prefix = response_order_prefix(cid) + "%"
    with transaction(con):
        counts["contacts_replaced"] = _replace(con, "campaign_contacts", cont, "campaign_id = ?", [cid])
        _replace(con, "campaigns", camp, "campaign_id = ?", [cid])
        clean_tx = tx.assign(returned_amount=0.0, net_amount=tx["amount"], is_outlier=False,
                             source_row=pd.NA)
        counts["transactions_replaced"] = _replace(con, "transactions", clean_tx,
                                                   "order_id LIKE ?", [prefix])
        if table_exists(con, "transactions_model") and not is_view(con, "transactions_model"):  # an older database
            _replace(con, "transactions_model", clean_tx, "order_id LIKE ?", [prefix])
        written = ["campaigns", "campaign_contacts", "transactions", "transactions_model"]
        if table_exists(con, "order_lines"):  # one line per response order, no product known
            _replace(con, "order_lines", tx.assign(returned_order_id=None, source_row=pd.NA),
                     "order_id LIKE ?", [prefix])
            written.append("order_lines")
        touch(con, written, stage="05_campaigns write-back")
    return counts


def _replace(con, table: str, rows: pd.DataFrame, where: str, params: list) -> int:
    """Delete the rows matching ``where`` and insert ``rows`` (by column name)."""
    if not table_exists(con, table):
        raise InputError(table, problem="table missing", expected="run 02_cleaning first")
    before = con.execute(f"SELECT count(*) FROM {table} WHERE {where}", params).fetchall()[0][0]
    con.execute(f"DELETE FROM {table} WHERE {where}", params)
    cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    insert_rows(con, table, rows.reindex(columns=cols))
    return int(before)


#: Where response purchases of a campaign channel are booked (an e-mail brings web orders).
RESPONSE_CHANNEL = {"email": "web", "direct_mail": "catalogue"}


def write_back_responses(con, contacts: pd.DataFrame, *, campaign_id: str, channel: str, start,
                         response_window_days: int, contact_cost: float, offer: str,
                         feedback_dir) -> dict:
    """Write a measured campaign back for the next round: the campaign row, every contact
    row, and each responder's purchase as an order on the channel's sales channel
    (:data:`RESPONSE_CHANNEL`). ``contacts`` holds ``responded``, ``response_ts`` and
    ``response_revenue`` per customer (a channel's response file, or the demo's simulation).
    Returns :func:`write_back`'s counts."""
    purchases = contacts[contacts["responded"]].rename(columns={"response_ts": "order_ts",
                                                                "response_revenue": "amount"})
    purchases["channel"] = RESPONSE_CHANNEL.get(channel, channel)
    campaign = campaign_record(campaign_id, channel, start, response_window_days, contact_cost, offer)
    return write_back(con, campaign, contacts, purchases, feedback_dir)


def campaign_record(campaign_id: str, channel: str, start, response_window_days: int, contact_cost: float,
                    offer: str) -> dict:
    """The ``campaigns`` row of a campaign the workbench planned, for :func:`write_back`."""
    return {"campaign_id": campaign_id, "name": f"Next {channel} campaign", "channel": channel,
            "start_date": start, "response_window_days": response_window_days,
            "contact_cost": contact_cost, "offer": offer}


def responders_before_after(before: pd.DataFrame, after: pd.DataFrame, contacts: pd.DataFrame,
                            as_of, n: int = 5) -> pd.DataFrame:
    """Orders, revenue and recency of the first ``n`` responders (by id) as of ``as_of``, from
    the orders ``before`` and ``after`` the write-back: what the loop changed for them."""
    buyers = contacts.loc[contacts["responded"], "customer_id"].sort_values().head(n)
    cols = ["orders", "revenue", "recency_days"]
    return pd.concat({label: rfm_table(tx[tx["customer_id"].isin(buyers)], as_of)[cols]
                      for label, tx in (("before", before), ("after", after))}, axis=1)
