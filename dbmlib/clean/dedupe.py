"""Merge duplicate customer records into one master customer.

Records are linked when they share a normalised key (e-mail, phone, or first name + last
name + postcode); linked records form connected components (union-find with
:func:`scipy.sparse.csgraph.connected_components`), and each component becomes one master
customer: the earliest signed-up record (then the smallest id). Every merged record keeps
the key that linked it, so each merge is explainable.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..core.fast_text import lookup

__all__ = ["MERGE_KEYS", "match_keys", "merge_duplicates", "merge_precision_recall"]

#: Keys that can link two records, in the order they are reported.
MERGE_KEYS = ("email", "phone", "name_postcode")


def match_keys(people: pd.DataFrame) -> pd.DataFrame:
    """The normalised key values of each record (columns named as in :data:`MERGE_KEYS`)."""
    name_pc = people["first_name"] + "|" + people["last_name"] + "|" + people["postcode"]
    return pd.DataFrame({"email": people["email"], "phone": people["phone"],
                         "name_postcode": name_pc}, index=people.index)


def merge_duplicates(people: pd.DataFrame, keys=MERGE_KEYS) -> pd.DataFrame:
    """Map every record to its master.

    Parameters
    ----------
    people : DataFrame
        Normalised ``customer_id, first_name, last_name, email, phone, postcode,
        signup_date`` (one row per record).
    keys : sequence of str
        The merge rule: which of :data:`MERGE_KEYS` may link records.

    Returns
    -------
    DataFrame ``source_id, customer_id (master), match_key`` with ``match_key`` the first
    key (in ``keys`` order) the record shares with another record of its group, or
    ``self`` for a record that stands alone.
    """
    unknown = set(keys) - set(MERGE_KEYS)
    if unknown:
        raise ValueError(f"unknown merge keys {sorted(unknown)}; choose from {MERGE_KEYS}")
    n = len(people)
    kv = match_keys(people.reset_index(drop=True))
    rows, cols = [np.arange(n)], [np.arange(n)]
    shared_by = pd.Series(pd.NA, index=range(n), dtype="string")
    for key in keys:
        codes, uniques = pd.factorize(kv[key], use_na_sentinel=True)
        if not len(uniques):  # the key is missing on every record (e.g. no phone column): links nobody
            continue
        valid = codes >= 0
        counts = np.bincount(codes[valid], minlength=len(uniques))
        linked = valid & (counts[np.where(valid, codes, 0)] > 1)
        idx = np.flatnonzero(linked)
        # link each record to the first record with the same key value
        first = pd.Series(idx).groupby(codes[idx]).transform("min").to_numpy()
        rows.append(idx)
        cols.append(first)
        shared_by[linked & shared_by.isna().to_numpy()] = key
    graph = coo_matrix((np.ones(sum(map(len, rows))), (np.concatenate(rows), np.concatenate(cols))),
                       shape=(n, n))
    _, component = connected_components(graph, directed=False)
    p = people.reset_index(drop=True)
    order = pd.DataFrame({"component": component, "signup": p["signup_date"],
                          "id": p["customer_id"]}).sort_values(["component", "signup", "id"],
                                                               na_position="last")
    master = order.groupby("component")["id"].first()
    return pd.DataFrame({
        "source_id": p["customer_id"].to_numpy(),
        "customer_id": master.reindex(component).to_numpy(),
        "match_key": shared_by.fillna("self").to_numpy(),
    })


def merge_precision_recall(id_map: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Precision and recall of merges against planted duplicates.

    ``truth`` has ``duplicate_id, master_id``. A merge is the pair (record, master) for a
    record mapped to another id; it is right when the truth puts both in the same person.
    """
    truth = truth.drop_duplicates("duplicate_id", keep="last")  # as a dict of the pairs keeps the last
    dup, master = (truth[c].astype("string") for c in ("duplicate_id", "master_id"))
    source, target = (id_map[c].astype("string") for c in ("source_id", "customer_id"))

    def person(ids: pd.Series) -> pd.Series:  # the planted person behind an id: its master, or itself
        return lookup(ids, dup, master).fillna(ids)

    moved = (source != target).fillna(True).to_numpy(bool)
    tp = int((person(source[moved]) == person(target[moved])).fillna(False).sum())
    recalled = int((lookup(dup, source, target) == lookup(master, source, target)).fillna(False).sum())
    merges, planted = int(moved.sum()), len(dup)
    return {
        "merges": merges,
        "correct_merges": tp,
        "precision": tp / merges if merges else 1.0,
        "planted_duplicates": planted,
        "recall": recalled / planted if planted else 1.0,
    }
