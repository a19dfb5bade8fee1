"""The retail-demo world, one campaign period further: what **every** customer buys next.

A round of the campaign loop lets the world respond to the planned campaign. Every generated
customer continues the same buy-till-you-die process the generator drew them from: a customer
still alive at the start of the period buys at their own Poisson rate ``λ`` and, after each
purchase, drops out for good with their own probability ``p`` (BG/NBD); spend per purchase is
Gamma-distributed around their own mean. On top of that, the campaign's causal effect follows
the generator's hidden contact rules (:func:`~dbmlib.demo.retail_demo.response_rules`): a
contacted customer who would not have bought in the response window is *persuaded* into one
purchase with probability ``τ``; one who would have bought is *put off* (the window's first
purchase does not happen) with probability ``κ``.

Every purchase has a category drawn from the customer's own mix — their preferred category
(``_truth/customers.csv``) with probability :data:`~dbmlib.demo.catalogue.PREFERRED_SHARE`,
else any, with the planted pairs' sequence on top. A **cross-sell** campaign (``groups`` with
an ``offer`` column: the category each listed customer is offered) works on that category
only: a contacted active customer who would not have bought the offered category in the
window buys it with the probability of
:func:`~dbmlib.demo.catalogue.cross_sell_persuasion` (higher for the planted partner of their
preferred category); nobody is put off; a response is a purchase of the offered category.

Who is alive at the end of a period is kept for the next round (``_world_state.csv`` in the
round's feedback folder), so round after round the world is one process, not a fresh draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..campaign.writeback import write_back
from ..core.io import atomic_write_csv
from .catalogue import PREFERRED_SHARE, cross_sell_persuasion
from .retail_demo import CATEGORIES, CHANNELS, RetailDemoConfig, _category_chain, response_rules
from .truth import generated_ids

__all__ = ["RoundOutcome", "period_start", "simulate_round", "world_state", "write_round"]

_STATE = "_world_state.csv"


@dataclass
class RoundOutcome:
    """One period of the demo world.

    Attributes
    ----------
    contacts : one row per listed customer (clean id): group, ``contacted``, ``responded``
        (bought in the response window), ``response_ts``, ``response_revenue``,
        ``true_uplift``, ``persuaded``, ``put_off``, ``contact_date``, ``contact_cost``
    purchases : every purchase of the period (generated customer ids): ``order_id``,
        ``customer_id``, ``order_ts``, ``amount``, ``channel``, ``category``
    alive : whether each generated customer is still active at the end of the period
    end : the first day after the period
    """

    contacts: pd.DataFrame
    purchases: pd.DataFrame
    alive: pd.Series
    end: pd.Timestamp

    def save_state(self, folder) -> Path:
        """Write who is alive and when the period ended into ``folder`` (the round's feedback
        folder), for the next round."""
        state = self.alive.rename("alive").to_frame().assign(period_end=self.end.strftime("%Y-%m-%d"))
        return atomic_write_csv(state.rename_axis("customer_id").reset_index(), Path(folder) / _STATE)


def world_state(feedback_folder, truth: pd.DataFrame) -> tuple[pd.Series, pd.Timestamp | None]:
    """Who is alive now and when the last simulated period ended: the latest round's state in
    ``feedback_folder``, or the generator's ``alive_at_end`` before the first round."""
    states = sorted(Path(feedback_folder).glob(f"*/{_STATE}")) if feedback_folder else []
    if not states:
        return truth["alive_at_end"].astype(bool), None
    last = pd.read_csv(states[-1]).set_index("customer_id")
    alive = last["alive"].reindex(truth.index).fillna(False).astype(bool)
    return alive, pd.Timestamp(last["period_end"].iloc[0])


def period_start(feedback_folder, default) -> pd.Timestamp:
    """Where the next period starts: right after the last simulated one (its state in
    ``feedback_folder``), else ``default``."""
    states = sorted(Path(feedback_folder).glob(f"*/{_STATE}")) if feedback_folder else []
    if not states:
        return pd.Timestamp(default)
    return pd.Timestamp(pd.read_csv(states[-1], nrows=1)["period_end"].iloc[0])


def write_round(con, outcome: RoundOutcome, campaign: dict, feedback_folder) -> dict:
    """Write a simulated round back for the next one: the campaign, its contacts and every
    purchase of the period (:func:`~dbmlib.campaign.writeback.write_back`), who is alive at
    the end, and the campaign's truth (``_campaign_truth.csv``: persuaded, put off, true
    uplift of each contacted customer) for grading its measurement next round."""
    counts = write_back(con, campaign, outcome.contacts, outcome.purchases, feedback_folder)
    folder = Path(feedback_folder) / str(campaign["campaign_id"])
    outcome.save_state(folder)
    treated = outcome.contacts[outcome.contacts["contacted"].astype(bool)]
    truth = treated[["customer_id", "true_uplift", "put_off", "persuaded"]].assign(
        campaign_id=campaign["campaign_id"])
    atomic_write_csv(truth, folder / "_campaign_truth.csv")
    return counts


def _purchases(lam, p, alive, days, rng):
    """BG/NBD continued for ``days``: (customer position, day) of each purchase and who is
    alive at the end."""
    who, when = [], []
    t = np.zeros(len(lam))
    active = alive & (lam > 0)
    alive = alive.copy()
    while active.any():
        idx = np.flatnonzero(active)
        t[idx] += rng.exponential(1.0 / lam[idx])
        inside = idx[t[idx] < days]
        who.append(inside)
        when.append(t[inside])
        drop = inside[rng.random(len(inside)) < p[inside]]
        alive[drop] = False
        active[:] = False
        active[inside] = True
        active[drop] = False
    if not who:
        return np.array([], int), np.array([]), alive
    return np.concatenate(who), np.concatenate(when), alive


def _categories(who, preferred, rng):
    """A category (position in :data:`CATEGORIES`) for each purchase of customer position
    ``who`` (in time order per customer): the customer's ``preferred`` one with probability
    :data:`PREFERRED_SHARE`, else any, then the planted pairs' sequence."""
    cat = np.where(rng.random(len(who)) < PREFERRED_SHARE, preferred[who], rng.integers(0, len(CATEGORIES), len(who)))
    return _category_chain(cat, who, rng) if len(who) else cat


def _preferred(truth: pd.DataFrame) -> np.ndarray:
    """Each generated customer's preferred category as a position in :data:`CATEGORIES`."""
    return pd.Index(CATEGORIES).get_indexer(truth["preferred_category"].astype(object))


def simulate_round(folder, groups: pd.DataFrame, customers: pd.DataFrame, *, channel: str, start,
                   period_days: int, window_days: int, contact_cost: float, campaign_id: str, seed: int,
                   feedback_folder=None, id_map: pd.DataFrame | None = None,
                   alive: pd.Series | None = None) -> RoundOutcome:
    """The next ``period_days`` of every customer of the generated company in ``folder``, with
    the effect of contacting the ``contacted`` customers of ``groups`` (clean ids) on
    ``channel`` at ``start``; see the module docstring. Seeded by ``seed``. Who is alive at
    ``start`` comes from ``alive`` (by generated id) if given, else from the rounds in
    ``feedback_folder``."""
    truth = pd.read_csv(Path(folder) / "_truth" / "customers.csv").set_index("customer_id")
    if alive is None:
        alive, _ = world_state(feedback_folder, truth)
    alive = alive.reindex(truth.index).fillna(False).astype(bool)
    alive &= truth["buyer"].astype(bool)  # prospects stay prospects
    start = pd.Timestamp(start)
    rng = np.random.default_rng(seed)
    lam = truth["lam_per_day"].fillna(0.0).to_numpy()
    p = truth["p_dropout"].fillna(1.0).to_numpy()
    who, day, alive_end = _purchases(lam, p, alive.to_numpy(), period_days, rng)
    crng = np.random.default_rng([seed, 19])  # categories: their own stream
    preferred = _preferred(truth)
    cat = _categories(who, preferred, crng)
    # the campaign: who is listed, contacted, and what the contact changes
    listed = generated_ids(groups.index, truth, id_map)
    pos = truth.index.get_indexer(listed)
    known = pos >= 0
    contacted = groups["contacted"].astype(bool).to_numpy()
    at = np.where(known, pos, 0)
    offered = None if "offer" not in groups else pd.Index(CATEGORIES).get_indexer(groups["offer"].astype(object))
    if offered is None:
        cut = float(np.quantile(lam, 0.9))
        income = customers["income_band"].reindex(groups.index).astype(object).to_numpy()
        age = truth["age"].to_numpy(float)[at]
        tau, kappa, _ = response_rules(channel, np.where(known, age, 40), income, np.where(known, lam[pos], 0),
                                       sure_cut=cut)
        share = np.ones(len(pos))
        counts = np.ones(len(who), bool)  # any purchase is a response
    else:
        pref_names = np.asarray(CATEGORIES, dtype=object)[preferred[at]]
        offer_names = np.asarray(CATEGORIES + [None], dtype=object)[offered]
        tau, kappa = np.where(offered >= 0, cross_sell_persuasion(pref_names, offer_names), 0.0), np.zeros(len(pos))
        share = PREFERRED_SHARE * (preferred[at] == offered) + (1 - PREFERRED_SHARE) / len(CATEGORIES)
        offer_of = np.full(len(truth), -2)
        offer_of[pos[known]] = offered[known]
        counts = cat == offer_of[who]  # only a purchase of the offered category is a response
    wi = np.flatnonzero((day < window_days) & counts)
    first = (pd.DataFrame({"who": who[wi], "day": day[wi], "i": wi}).sort_values(["day", "i"])
             .drop_duplicates("who").set_index("who")["i"])  # each buyer's first window response
    natural = known & np.isin(pos, first.index.to_numpy())
    was_alive = known & alive.to_numpy()[at]
    put_off = contacted & natural & (rng.random(len(pos)) < kappa)
    persuaded = contacted & ~natural & was_alive & (rng.random(len(pos)) < tau)
    keep = np.ones(len(who), bool)
    keep[first.reindex(pos[put_off]).dropna().astype(int).to_numpy()] = False  # they do not buy
    extra = offered[persuaded] if offered is not None else _categories(pos[persuaded], preferred, crng)
    who = np.concatenate([who[keep], pos[persuaded]])
    day = np.concatenate([day[keep], rng.uniform(0, window_days, int(persuaded.sum()))])
    cat = np.concatenate([cat[keep], extra])
    cfg = RetailDemoConfig()
    nu = truth["nu_spend_rate"].fillna(1.0).to_numpy()
    amount = np.round(np.maximum(rng.gamma(cfg.p_spend, 1.0 / nu[who]), 1.0), 2)
    order = np.lexsort((day, who))
    who, day, amount, cat = who[order], day[order], amount[order], cat[order]
    ts = start + pd.to_timedelta(np.round(day * 24 * 60), unit="min")
    purchases = pd.DataFrame({
        "order_id": [f"{i:07d}" for i in range(len(who))],
        "customer_id": truth.index.to_numpy()[who], "order_ts": ts, "amount": amount,
        "channel": rng.choice(CHANNELS, len(who)), "category": np.asarray(CATEGORIES, dtype=object)[cat]})
    # responses of the listed customers: their (offered-category) purchases in the window
    responds = (day < window_days) & (True if offered is None else cat == offer_of[who])
    by_person = purchases[responds].drop_duplicates("customer_id").set_index("customer_id")
    resp_ts = by_person["order_ts"].reindex(listed)
    p0 = was_alive * (1 - np.exp(-np.where(known, lam[pos], 0) * window_days * share))
    contacts = groups.assign(
        responded=resp_ts.notna().to_numpy(), response_ts=resp_ts.to_numpy(),
        response_revenue=by_person["amount"].reindex(listed).fillna(0.0).to_numpy(),
        true_uplift=tau * was_alive * (1 - p0) - kappa * p0, persuaded=persuaded, put_off=put_off,
    ).rename_axis("customer_id").reset_index()
    contacts["contact_date"] = start
    contacts["contact_cost"] = contacts["contacted"] * contact_cost
    return RoundOutcome(contacts, purchases, pd.Series(alive_end, index=truth.index),
                        start + pd.Timedelta(days=period_days))
