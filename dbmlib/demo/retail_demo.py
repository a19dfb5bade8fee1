"""The ``retail-demo`` company: a seeded synthetic retailer with known truth.

Behaviour is model-consistent so that later stages can be graded against the truth:

* purchases follow the BG/NBD buy-till-you-die process (time unit: days) with customer
  heterogeneity, spend per order follows the Gamma-Gamma model
  (:mod:`dbmlib.demo.simulate`);
* demographics correlate with the latent traits through a Gaussian copula (income with
  spend, age with loyalty, region with purchase rate), so marginal BTYD distributions
  stay exact;
* past campaigns are randomised experiments whose uplift is heterogeneous in known
  attributes: some customers are persuadable, some are "sure things", some are put off
  ("sleeping dogs"). Responses are real purchases in the response window.

Data-quality problems are then planted at documented rates (:data:`PROBLEM_RATES`) and
every planted problem is written, with its row, to ``_truth/problems.csv``.

Files written to ``out_dir``: ``customers.csv``, ``transactions.csv``, ``campaigns.csv``,
``campaign_contacts.csv`` and ``_truth/`` (``params.json``, ``customers.csv``,
``duplicates.csv``, ``problems.csv``, ``campaign_truth.csv``, ``orders.csv``).
``layout="lines"`` replaces ``transactions.csv`` with invoice lines. See
:mod:`dbmlib.demo.line_export`.

Customers are simulated and written in chunks (:data:`CHUNK_CUSTOMERS` at a time, each from
its own random stream), so memory is bounded by the chunk and not by the company; a company of
one chunk is exactly what the generator wrote before it was chunked. Order lines stay numeric
until they are written (ids, channels and categories become text in Arrow), and a thread writes
each chunk's CSV text (:func:`~dbmlib.core.fast_text.csv_bytes`) while the next is simulated.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import shutil
import tempfile
import threading
import zlib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml
from scipy import stats

from ..core.fast_text import csv_bytes, float_text
from ..core.io import atomic_write_csv, atomic_write_text
from .catalogue import (
    CATEGORIES,
    CATEGORY_PAIRS,
    CROSS_SELL_RESPONSE,
    PAIR_STRENGTH,
    PREFERRED_SHARE,
    catalogue,
)
from .line_export import (
    LINE_FORMATS,
    LINE_MAPPING,
    export_text,
    order_lines_from_orders,
    write_line_export,
)
from .simulate import draw_bgnbd_traits, draw_repeat_purchases, draw_spend

__all__ = ["CHUNK_CUSTOMERS", "GENERATOR_VERSION", "PROBLEM_RATES", "RATE_EFFECTS", "TRUTH_DIR", "RetailDemoConfig",
           "chunk_sizes", "is_current", "make_retail_demo", "response_rules"]

log = logging.getLogger(__name__)

TRUTH_DIR = "_truth"
#: Bumped whenever the same seed would write different files; a cached company folder of
#: another version is generated again (``run.sources``). 2: planted category pairs. 3: the product
#: catalogue (``products.csv``) and each customer's preferred category in the truth. Chunking
#: (:data:`CHUNK_CUSTOMERS`) kept every company of up to one chunk byte-identical, so the version
#: stayed; a larger one records its ``chunk_customers`` and :func:`is_current` checks it.
GENERATOR_VERSION = 3

#: Planted data-quality problems and their rates (share of the rows of the named table).
PROBLEM_RATES: dict[str, float] = {
    "duplicate_customer": 0.03,  # of purchasing customers: a second record of the same person
    "mixed_date_format": 0.06,  # of date cells: DD/MM/YYYY instead of ISO
    "amount_as_text": 0.04,  # of transaction amounts: "£1,234.50"
    "missing_value": 0.02,  # of region, income_band, phone and category cells
    "impossible_birth_date": 0.005,  # of customers: born before 1900 or in the future
    "exact_duplicate_row": 0.01,  # of transaction rows: exported twice
    "extreme_outlier": 0.001,  # of sale amounts: multiplied by 50-200
}
N_TEST_ACCOUNTS = 12
#: Customers :func:`make_retail_demo` simulates and writes at a time by default (a company of at
#: most this many is one chunk: exactly what the generator wrote before it was chunked).
CHUNK_CUSTOMERS = 100_000
MIN_CHUNK = 1_000
#: Planted covariate effects (``covariate_effects=True``): the log multiplier of each acquisition
#: channel's mean purchase rate, web = 0 (the channel is then drawn independently of age) — Fader & Hardie's exponential link, λ ~ Gamma(r,
#: α·exp(−γ)), so a covariate BG/NBD or Pareto/NBD should recover them. Off by default: with
#: them the population's rates are a mixture of gammas, and the plain BG/NBD that 04 grades
#: against the truth would have no true ``r`` and ``α``.
RATE_EFFECTS = {"acquisition_channel": {"web": 0.0, "store": 0.0, "referral": 0.4, "social": -0.4,
                                        "catalogue": 0.2}}

REGIONS = ["Scotland", "North", "Midlands", "South West", "South East", "London"]
INCOME_BANDS = ["low", "medium", "high", "very high"]
CHANNELS = ["store", "web", "phone", "catalogue"]
ACQUISITION = ["web", "store", "referral", "social", "catalogue"]
FIRST_NAMES = ["Olivia", "Amelia", "Isla", "Ava", "Mia", "Ivy", "Lily", "Isabella", "Rosie", "Sophia", "Grace", "Freya", "Willow", "Emily", "Ella", "Poppy", "Evie", "Charlotte", "Harper", "Sienna", "Oliver", "George", "Noah", "Arthur", "Muhammad", "Leo", "Harry", "Oscar", "Archie", "Henry", "Theodore", "Freddie", "Jack", "Charlie", "Theo", "Alfie", "Jacob", "Thomas", "Finley", "Arlo", "Priya", "Aisha", "Fatima", "Zara", "Ravi", "Arjun", "Kwame", "Chidi", "Mei", "Wei", "Hana", "Yusuf", "Omar", "Lucas", "Mateo"]
LAST_NAMES = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Thomas", "Clarke", "Jackson", "Wood", "Harris", "Edwards", "Turner", "Martin", "Cooper", "Hill", "Ward", "Hughes", "Moore", "Clark", "King", "Harrison", "Lewis", "Baker", "Lee", "Allen", "Morris", "Khan", "Scott", "Watson", "Davis", "Parker", "James", "Bennett", "Young", "Phillips", "Richardson", "Mitchell", "Bailey", "Carter", "Cook", "Singh", "Shaw", "Bell", "Collins", "Morgan", "Kelly", "Begum", "Miller", "Cox", "Hussain", "Marshall"]
STREETS = ["High Street", "Station Road", "Church Lane", "Victoria Road", "Green Lane", "Manor Road", "Park Avenue", "Kings Road", "Queens Road", "Mill Lane", "The Crescent", "Orchard Way", "Springfield Road", "Grange Road"]
POSTCODE_AREAS = {
    "Scotland": ["EH", "G", "AB", "DD"],
    "North": ["M", "LS", "NE", "L"],
    "Midlands": ["B", "NG", "LE", "CV"],
    "South West": ["BS", "EX", "PL", "BA"],
    "South East": ["BN", "GU", "RH", "ME"],
    "London": ["E", "N", "SW", "SE"],
}
LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))
_AREAS = np.array([POSTCODE_AREAS[r] for r in REGIONS])  # region position × 4 postcode areas


@dataclass(frozen=True)
class RetailDemoConfig:
    """Generating parameters (all recorded in ``_truth/params.json``)."""

    n_customers: int = 20_000
    seed: int = 0
    start: str = "2023-01-01"  # first sign-up day
    last_signup: str = "2025-03-31"
    end: str = "2025-06-30"  # last day of the export
    prospect_share: float = 0.08  # signed up, never bought
    # BG/NBD, time unit = days (E[lambda] = r/alpha per day)
    r: float = 0.75
    alpha: float = 110.0
    a: float = 0.8
    b: float = 3.2
    # Gamma-Gamma spend (rate gamma): E[spend] = p_spend * gamma / (q - 1)
    p_spend: float = 6.0
    q: float = 4.0
    gamma: float = 30.0
    return_share: float = 0.06
    problem_rates: dict = field(default_factory=lambda: dict(PROBLEM_RATES))


@dataclass(frozen=True)
class _Campaign:
    campaign_id: str
    name: str
    channel: str
    start: str
    window_days: int
    contact_cost: float
    control_share: float
    offer: str


CAMPAIGNS = [
    _Campaign("C2024-09-EM", "Autumn email", "email", "2024-09-16", 30, 0.05, 0.20,
              "10% off"),
    _Campaign("C2025-02-DM", "Spring catalogue mailing", "direct_mail", "2025-02-03", 30, 0.85,
              0.25, "catalogue + free delivery"),
]


def _copula_normal(u_latent: np.ndarray, rho: float, rng: np.random.Generator) -> np.ndarray:
    """A standard normal correlated ``rho`` with the latent uniform ranks."""
    z = stats.norm.ppf(np.clip(u_latent, 1e-9, 1 - 1e-9))
    return rho * z + np.sqrt(1 - rho**2) * rng.standard_normal(u_latent.size)


def _bands(z: np.ndarray, labels: list[str], cuts: list[float]) -> np.ndarray:
    return np.asarray(labels, dtype=object)[_band_index(z, cuts)]


def _band_index(z: np.ndarray, cuts: list[float]) -> np.ndarray:
    return np.searchsorted(stats.norm.ppf(cuts), z)


def _people(cfg: RetailDemoConfig, traits, rng: np.random.Generator, channel_by_age: bool = True,
            first_number: int = 1) -> pd.DataFrame:
    """``cfg.n_customers`` people numbered from ``first_number`` (``C000001`` …)."""
    n = cfg.n_customers
    u_lam = stats.gamma.cdf(traits.lam, cfg.r, scale=1 / cfg.alpha)
    u_nu = stats.gamma.cdf(traits.nu, cfg.q, scale=1 / cfg.gamma)  # high nu = low spend
    u_p = stats.beta.cdf(traits.p, cfg.a, cfg.b)
    income = _bands(_copula_normal(1 - u_nu, 0.6, rng), INCOME_BANDS, [0.3, 0.7, 0.9])
    age_z = _copula_normal(1 - u_p, 0.5, rng)
    age = np.clip(np.round(46 + 15 * age_z), 18, 92).astype(int)
    region_idx = _band_index(_copula_normal(u_lam, 0.35, rng), [0.08, 0.28, 0.48, 0.62, 0.82])
    region = np.asarray(REGIONS, dtype=object)[region_idx]
    gender = rng.choice(["F", "M", "X"], size=n, p=[0.52, 0.46, 0.02])
    start, last = pd.Timestamp(cfg.start), pd.Timestamp(cfg.last_signup)
    signup = start + pd.to_timedelta(rng.uniform(0, (last - start).days + 1, n), unit="D")
    signup = signup.floor("D")
    birth = signup - pd.to_timedelta(age * 365.25 + rng.uniform(0, 365, n), unit="D")
    acq_p = np.where(age[:, None] < 40, [0.45, 0.2, 0.1, 0.2, 0.05], [0.25, 0.35, 0.15, 0.05, 0.2])
    if not channel_by_age:  # planted channel effects: the channel independent of age (and so of the dropout)
        acq_p = np.broadcast_to([0.32, 0.3, 0.13, 0.12, 0.13], acq_p.shape)
    acq = np.asarray(ACQUISITION)[(rng.random(n)[:, None] > np.cumsum(acq_p, axis=1)).sum(1)]
    first = np.asarray(FIRST_NAMES)[rng.integers(0, len(FIRST_NAMES), n)]
    last_n = np.asarray(LAST_NAMES)[rng.integers(0, len(LAST_NAMES), n)]
    number = np.arange(first_number, first_number + n).astype(str)
    ids = np.char.add("C", np.char.zfill(number, 6))
    domains = np.asarray(["example.com", "example.org", "example.net", "mail.example"])
    email = (
        np.char.lower(first.astype(str)) + "." + np.char.lower(last_n.astype(str))
        + number + "@" + domains[rng.integers(0, 4, n)]
    )
    phone_num = rng.integers(0, 1_000_000, n)
    phone = np.char.add(np.char.add("07", np.char.zfill(rng.integers(100, 999, n).astype(str), 3)),
                        np.char.add(" ", np.char.zfill(phone_num.astype(str), 6)))
    street = (rng.integers(1, 200, n).astype(str) + " "
              + np.asarray(STREETS)[rng.integers(0, len(STREETS), n)])
    areas = _AREAS[region_idx, rng.integers(0, 4, n)]
    postcode = (areas + rng.integers(1, 30, n).astype(str) + " " + rng.integers(1, 10, n).astype(str)
                + LETTERS[rng.integers(0, len(LETTERS), n)] + LETTERS[rng.integers(0, len(LETTERS), n)])
    return pd.DataFrame({
        "customer_id": ids,
        "first_name": first,
        "last_name": last_n,
        "email": email,
        "phone": phone,
        "street": street,
        "postcode": postcode,
        "region": region,
        "birth_date": birth.floor("D"),
        "gender": gender,
        "income_band": income,
        "signup_date": signup,
        "acquisition_channel": acq,
        "email_opt_in": rng.random(n) < 0.7,
        "age": age,
    })


def _channel_rates(cfg, traits, rng: np.random.Generator, first_number: int) -> np.ndarray:
    """The purchase rates with the planted channel effects (:data:`RATE_EFFECTS`) of the
    ``cfg.n_customers`` people :func:`_people` draws next from ``rng``, which is left where it
    was (so the people are drawn again, the same, when their chunk is simulated)."""
    state = rng.bit_generator.state
    people = _people(cfg, traits, rng, channel_by_age=False, first_number=first_number)
    rng.bit_generator.state = state
    return _with_channel_effects(traits, people).lam


def _with_channel_effects(traits, people):
    """λ ~ Gamma(r, α·exp(−γ_channel)): draws no random numbers, the streams stay aligned."""
    gamma = people["acquisition_channel"].map(RATE_EFFECTS["acquisition_channel"]).to_numpy(float)
    return replace(traits, lam=traits.lam * np.exp(gamma))


def _orders(cfg, people, traits, rng, medians):
    """Simulate first and repeat purchases; return orders and per-customer truth. ``medians``:
    the whole population's median purchase rate and mean spend (the behaviour groups' cuts)."""
    n = cfg.n_customers
    end = pd.Timestamp(cfg.end) + pd.Timedelta(days=1)  # exclusive
    buyer = rng.random(n) >= cfg.prospect_share
    first_ts = people["signup_date"] + pd.to_timedelta(rng.uniform(0, 14, n), unit="D")
    first_ts = first_ts.where(first_ts < end, end - pd.Timedelta(hours=1))
    horizon = np.where(buyer, (end - first_ts).dt.total_seconds() / 86400.0, 0.0)
    cust, t, alive, death = draw_repeat_purchases(traits, horizon, rng)
    first_idx = np.flatnonzero(buyer)
    idx = np.concatenate([first_idx, cust])
    ts = np.concatenate([first_ts.to_numpy()[first_idx],
                         first_ts.to_numpy()[cust] + pd.to_timedelta(t, unit="D").to_numpy()])
    orders = pd.DataFrame({"cust_idx": idx, "ts": ts, "is_first": np.r_[np.ones(first_idx.size, bool),
                                                                         np.zeros(cust.size, bool)]})
    truth = pd.DataFrame({
        "customer_id": people["customer_id"],
        "lam_per_day": traits.lam,
        "p_dropout": traits.p,
        "nu_spend_rate": traits.nu,
        "mean_spend": cfg.p_spend / traits.nu,
        "buyer": buyer,
        "first_purchase": first_ts.where(buyer),
        "alive_at_end": buyer & alive,
        "death_time": np.where(buyer, first_ts.to_numpy() + pd.to_timedelta(
            np.where(np.isfinite(death), death, 0), unit="D").to_numpy(), np.datetime64("NaT")),
    })
    truth.loc[~np.isfinite(death) | ~buyer, "death_time"] = pd.NaT
    med_lam, med_spend = medians
    freq = np.where(traits.lam >= med_lam, "frequent", "occasional")
    spend = np.where(truth["mean_spend"] >= med_spend, "high spend", "low spend")
    truth["behaviour_group"] = np.char.add(np.char.add(freq.astype(str), " "), spend.astype(str))
    return orders, truth


def response_rules(channel: str, age, income, lam, sure_cut: float | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How a contact changes a customer's response, by channel (the generator's hidden rules).

    Returns ``(tau, kappa, sure_thing)``: the probability that the contact persuades a
    customer who would not have bought, the probability that it puts off one who would
    have, and whether the customer is a "sure thing" (top 10 % purchase rate: the contact
    changes nothing; ``sure_cut`` is that 90th percentile when ``lam`` is not the whole base).
    """
    age, income, lam = np.asarray(age, float), np.asarray(income, dtype=object), np.asarray(lam)
    if channel == "email":
        tau = np.select([age < 35, age < 55], [0.10, 0.04], 0.0)
        kappa = np.where((age >= 65) & (income == "low"), 0.35, 0.0)
    else:
        tau = np.select([age >= 60, age >= 35], [0.12, 0.05], 0.0)
        kappa = np.where((age < 30) & np.isin(income, ["high", "very high"]), 0.40, 0.0)
    sure_thing = lam > (np.quantile(lam, 0.9) if sure_cut is None else sure_cut)
    return np.where(sure_thing, 0.0, tau), np.where(sure_thing, 0.0, kappa), sure_thing


def _campaign_effects(cfg, people, truth, orders, rng, sure_cut):
    """Run the past campaigns as randomised experiments; add/remove response purchases.
    ``sure_cut``: the whole population's 90th percentile purchase rate (the sure things')."""
    contacts, ctruth = [], []
    age = people["age"].to_numpy()
    income = people["income_band"].to_numpy()
    lam = truth["lam_per_day"].to_numpy()
    for camp in CAMPAIGNS:
        c0 = pd.Timestamp(camp.start)
        c1 = c0 + pd.Timedelta(days=camp.window_days)
        bought_before = orders.loc[orders["ts"] < c0, "cust_idx"].unique()
        eligible = np.zeros(len(people), bool)
        eligible[bought_before] = True
        if camp.channel == "email":
            eligible &= people["email_opt_in"].to_numpy()
        tau, kappa, sure_thing = response_rules(camp.channel, age, income, lam, sure_cut=sure_cut)
        ids = np.flatnonzero(eligible)
        death = truth["death_time"].to_numpy()
        alive_c = np.isnat(death[ids]) | (death[ids] > np.datetime64(c0))
        p0 = alive_c * (1 - np.exp(-lam[ids] * camp.window_days))
        treated = rng.random(ids.size) >= camp.control_share
        in_win = orders["ts"].between(c0, c1, inclusive="left") & orders["cust_idx"].isin(ids)
        natural = np.isin(ids, orders.loc[in_win, "cust_idx"].to_numpy())
        # sleeping dogs: the contact cancels a purchase they would have made
        put_off = treated & natural & (rng.random(ids.size) < kappa[ids])
        drop = orders["cust_idx"].isin(ids[put_off]) & in_win
        orders = orders.loc[~drop]
        # persuadables: the contact triggers a purchase they would not have made
        persuaded = treated & ~natural & alive_c & (rng.random(ids.size) < tau[ids])
        extra = pd.DataFrame({
            "cust_idx": ids[persuaded],
            "ts": c0 + pd.to_timedelta(rng.uniform(0, camp.window_days, persuaded.sum()), unit="D"),
            "is_first": False,
        })
        extra["campaign_id"] = camp.campaign_id
        orders = pd.concat([orders, extra], ignore_index=True)
        true_uplift = tau[ids] * alive_c * (1 - p0 / np.maximum(alive_c, 1e-12)) - kappa[ids] * p0
        contacts.append(pd.DataFrame({"campaign_id": camp.campaign_id, "cust_idx": ids,
                                      "treated": treated}))
        ctruth.append(pd.DataFrame({
            "campaign_id": camp.campaign_id,
            "customer_id": people["customer_id"].to_numpy()[ids],
            "p_response_control": p0,
            "true_uplift": true_uplift,
            "type": np.select([sure_thing[ids], kappa[ids] > 0, tau[ids] > 0],
                              ["sure thing", "sleeping dog", "persuadable"], "lost cause"),
            "put_off": put_off,
            "persuaded": persuaded,
        }))
    return orders, contacts, pd.concat(ctruth, ignore_index=True)


def _category_chain(cat: np.ndarray, ci: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Plant the cross-sell pairs (:data:`~dbmlib.demo.catalogue.CATEGORY_PAIRS`): walking each
    customer's orders in time order, an order after one in a paired category switches to the
    partner with probability :data:`~dbmlib.demo.catalogue.PAIR_STRENGTH`. Its own random
    stream, so every other draw of the generator is unchanged."""
    partner = np.arange(len(CATEGORIES))
    for a, b in CATEGORY_PAIRS:
        partner[CATEGORIES.index(a)], partner[CATEGORIES.index(b)] = CATEGORIES.index(b), CATEGORIES.index(a)
    cat = cat.copy()
    rank = pd.Series(ci).groupby(ci).cumcount().to_numpy()
    previous = pd.Series(np.arange(len(ci))).groupby(ci).shift(1).to_numpy()
    switch = rng.random(len(ci)) < PAIR_STRENGTH
    at = np.flatnonzero(switch & (rank > 0))
    at = at[np.argsort(rank[at], kind="stable")]  # by rank, then position: the chain is sequential per customer
    bounds = np.searchsorted(rank[at], np.arange(1, int(rank.max()) + 2 if len(rank) else 1))
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        step = at[lo:hi]
        cat[step] = partner[cat[previous[step].astype(int)]]
    return cat


def _order_lines(cfg, people, truth, orders, rng, chain_rng, first_number: int = 1, first_order: int = 1,
                 first_return: int = 1):
    """Give orders ids, channel, category, quantity, amount; add returns. ``chain_rng``: the
    cross-sell chain's own stream.

    The lines are numeric (:func:`_lines_frame` gives them as the files write them):
    ``oid`` the order's number and ``kind`` its letter (0 ``O`` sale, numbered from
    ``first_order``; 1 ``R`` return, from ``first_return``; 2 ``X`` test-account order),
    ``cust`` the customer's number (people numbered from ``first_number``; a test account's is
    negative), ``order_ts``, ``channel`` and ``category`` (positions in :data:`CHANNELS` and
    :data:`CATEGORIES`), ``quantity``, ``amount`` and ``returned`` (the number of the sale a return
    returns, else 0)."""
    orders = orders.sort_values(["ts", "cust_idx"], kind="stable").reset_index(drop=True)
    m = len(orders)
    ci = orders["cust_idx"].to_numpy()
    age = people["age"].to_numpy()[ci]
    pref = np.select([age < 35, age >= 65], [1, 3], 0)  # web / catalogue / store
    channel = np.where(rng.random(m) < 0.7, pref, rng.integers(0, 4, m))
    camp_ch = orders.get("campaign_id")
    if camp_ch is not None:
        from_dm = (camp_ch.astype(str).str.endswith("DM")).to_numpy()
        from_em = (camp_ch.astype(str).str.endswith("EM")).to_numpy()
        channel = np.where(from_dm, CHANNELS.index("catalogue"), np.where(from_em, CHANNELS.index("web"), channel))
    preferred = rng.integers(0, len(CATEGORIES), cfg.n_customers)
    cat = np.where(rng.random(m) < PREFERRED_SHARE, preferred[ci], rng.integers(0, len(CATEGORIES), m))
    cat = _category_chain(cat, ci, chain_rng)
    amount = np.round(np.maximum(draw_spend(truth["nu_spend_rate"].to_numpy(), ci,
                                            p_spend=cfg.p_spend, rng=rng), 1.0), 2)
    hours = pd.to_timedelta(rng.integers(8 * 60, 22 * 60, m), unit="min")
    ts = pd.to_datetime(orders["ts"]).dt.floor("D") + hours
    by_time = np.argsort(ts.to_numpy(), kind="stable")
    ci, channel, cat, amount = ci[by_time], channel[by_time], cat[by_time], amount[by_time]
    ts = ts.iloc[by_time].reset_index(drop=True)
    sales = pd.DataFrame({
        "oid": np.arange(first_order, first_order + m),
        "kind": np.zeros(m, np.int8),
        "cust": first_number + ci,
        "order_ts": ts,
        "channel": channel.astype(np.int8),
        "category": cat.astype(np.int8),
        "quantity": 1 + rng.poisson(0.6, m),
        "amount": amount,
        "returned": np.zeros(m, np.int64),
    })
    end = pd.Timestamp(cfg.end) + pd.Timedelta(days=1)
    ret = sales.loc[rng.random(m) < cfg.return_share].copy()
    ret["order_ts"] = ret["order_ts"] + pd.to_timedelta(rng.integers(1, 30, len(ret)), unit="D")
    ret = ret.loc[ret["order_ts"] < end]
    full = rng.random(len(ret)) < 0.7
    qty_back = np.where(full, ret["quantity"], 1)
    ret["amount"] = -np.round(ret["amount"] * qty_back / ret["quantity"], 2)
    ret["quantity"] = -qty_back
    ret["returned"] = ret["oid"]
    ret["oid"] = np.arange(first_return, first_return + len(ret))
    ret["kind"] = np.int8(1)
    lines = pd.concat([sales, ret], ignore_index=True).sort_values("order_ts", kind="stable")
    return lines.reset_index(drop=True), preferred


def _numbered(letters, numbers, width: int) -> pa.Array:
    """Ids as text: a letter (``letters``: one for all, or an array of ASCII codes, one per
    number) then the number zero-padded to ``width`` digits (more if it needs them), as
    ``np.char.zfill`` writes it."""
    numbers = np.asarray(numbers, dtype=np.int64)
    n = numbers.size
    codes = np.full(n, ord(letters), np.uint8) if isinstance(letters, str) else np.asarray(letters, np.uint8)
    if n and (numbers.min() < 0 or numbers.max() >= 10**width):  # wider ids: Arrow's padding
        digits = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width, "0")
        return pc.binary_join_element_wise(pc.cast(pa.array(codes.view("S1")), pa.string()), digits, "")
    cells = np.empty((n, width + 1), dtype=np.uint8)  # every id has width + 1 bytes: write them
    cells[:, 0] = codes
    rest = numbers
    for j in range(width, 0, -1):
        rest, digit = np.divmod(rest, 10)
        cells[:, j] = digit + 48
    offsets = np.arange(0, (n + 1) * (width + 1), width + 1, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(cells))


_LETTERS = {"order": np.frombuffer(b"ORX", np.uint8), "customer": np.frombuffer(b"CT", np.uint8)}


def _order_ids(lines: pd.DataFrame) -> pa.Array:
    return _numbered(_LETTERS["order"][lines["kind"].to_numpy()], lines["oid"], 7)


def _customer_ids(cust) -> pa.Array:
    """``C000001`` for people and their duplicate records (positive numbers), ``T000001`` for
    test accounts (negative)."""
    cust = np.asarray(cust)
    return _numbered(_LETTERS["customer"][(cust < 0).astype(np.int8)], np.abs(cust), 6)


def _returned_ids(lines: pd.DataFrame) -> pa.Array:
    returned = lines["returned"].to_numpy()
    return pc.if_else(pa.array(returned > 0), _numbered("O", returned, 7), pa.scalar(None, pa.string()))


def _names(codes, labels: list[str]) -> pa.Array:
    return pa.array(labels, pa.string()).take(pa.array(np.asarray(codes)))


def _arrow_text(values: pd.Series) -> pa.Array:
    """A pandas text column as one Arrow array (no copy when Arrow holds it)."""
    arrow = pa.array(values.array) if isinstance(values.dtype, pd.StringDtype) else None
    if arrow is None or values.isna().any():
        return pa.array(values.to_numpy(object), pa.large_string(), from_pandas=True)
    return arrow.combine_chunks() if isinstance(arrow, pa.ChunkedArray) else arrow


def _text(values) -> pd.arrays.ArrowStringArray:
    """An Arrow text array as a pandas column, without a copy."""
    return pd.arrays.ArrowStringArray(pc.cast(values, pa.large_string()))


def _lines_frame(lines: pd.DataFrame) -> pd.DataFrame:
    """Numeric lines (:func:`_order_lines`) as the transaction files hold them: ``order_id,
    customer_id, order_ts, channel, category, quantity, amount, returned_order_id``."""
    return pd.DataFrame({
        "order_id": _text(_order_ids(lines)),
        "customer_id": _text(_customer_ids(lines["cust"])),
        "order_ts": lines["order_ts"].to_numpy(),
        "channel": _text(_names(lines["channel"], CHANNELS)),
        "category": _text(_names(lines["category"], CATEGORIES)),
        "quantity": lines["quantity"].to_numpy(),
        "amount": lines["amount"].to_numpy(),
        "returned_order_id": _text(_returned_ids(lines)),
    })


def _contacts_table(people, contacts, lines, first_number: int = 1):
    rows = []
    cost = {c.campaign_id: c.contact_cost for c in CAMPAIGNS}
    for camp, df in zip(CAMPAIGNS, contacts):
        c0 = pd.Timestamp(camp.start)
        c1 = c0 + pd.Timedelta(days=camp.window_days)
        ci = df["cust_idx"].to_numpy()
        cid = people["customer_id"].to_numpy()[ci]
        win = lines.loc[lines["order_ts"].between(c0, c1, inclusive="left") & lines["kind"].eq(0)]
        rev = win.groupby("cust")["amount"].sum()
        revenue = rev.reindex(first_number + ci).fillna(0.0).to_numpy()
        rows.append(pd.DataFrame({
            "campaign_id": camp.campaign_id,
            "customer_id": cid,
            "group": np.where(df["treated"], "treatment", "control"),
            "contacted": df["treated"].to_numpy(),
            "contact_date": camp.start,
            "contact_cost": np.where(df["treated"], cost[camp.campaign_id], 0.0),
            "responded": revenue > 0,
            "response_revenue": np.round(revenue, 2),
        }))
    return pd.concat(rows, ignore_index=True)


def _phone_variant(phone: pd.Series, rng) -> pd.Series:
    digits = phone.str.replace(" ", "", regex=False)
    k = rng.integers(0, 3, len(phone))
    return pd.Series(np.select(
        [k == 0, k == 1],
        ["+44 " + digits.str[1:5] + " " + digits.str[5:], digits],
        "(" + digits.str[:5] + ") " + digits.str[5:8] + "-" + digits.str[8:],
    ), index=phone.index)


def _test_accounts(customers, lines, rng, note):
    """Add the :data:`N_TEST_ACCOUNTS` test / internal accounts (copies of customers) with four
    orders each (copies of sales)."""
    k = N_TEST_ACCOUNTS
    m = len(customers)
    test = customers.sample(k, random_state=int(rng.integers(1 << 31))).copy()
    test_ids = np.char.add("T", np.char.zfill(np.arange(1, k + 1).astype(str), 6))
    test["customer_id"] = test_ids
    test["first_name"] = "Test"
    test["last_name"] = ["Account", "Internal", "QA"] * (k // 3) + ["Account"] * (k % 3)
    test["email"] = [f"qa+{i}@dbm-retail.example" for i in range(1, k + 1)]
    test_orders = lines.loc[lines["kind"].eq(0)].sample(k * 4, random_state=int(rng.integers(1 << 31))).copy()
    test_orders["cust"] = -np.repeat(np.arange(1, k + 1), 4)
    test_orders["oid"] = np.arange(1, k * 4 + 1)
    test_orders["kind"] = np.int8(2)
    note("customers", test_ids, "test_account", "customer_id", rows=np.arange(m, m + k))
    customers = pd.concat([customers, test], ignore_index=True)
    lines = pd.concat([lines, test_orders], ignore_index=True).sort_values("order_ts", kind="stable")
    return customers, lines


def _plant_problems(cfg, customers, lines, rng, first_number: int = 1, first_dup: int | None = None,
                    test_accounts: bool = True):
    """Plant the documented problems; return the messy tables and the truth of each.

    ``customers`` are the people numbered from ``first_number`` and ``lines`` their numeric
    lines (:func:`_order_lines`). Returns the customers (the people, then their duplicate
    records numbered from ``first_dup``, default right after them, then the test accounts if
    ``test_accounts``), the transactions, the duplicates (ids and numbers), one frame of planted
    problems per kind and column (always the same list, empty where none were planted; ``row``:
    the problem's first row in the customers or transactions returned, from 0), the numeric
    lines with the test accounts' orders and amounts as planted, and their ``order_ts`` as text.
    """
    rates = cfg.problem_rates
    problems: list[pd.DataFrame] = []
    tx_notes: list[int] = []  # notes whose rows are lines, placed in the transactions at the end

    def note(table, key, problem, column, detail="", rows=()):
        if table == "transactions":
            tx_notes.append(len(problems))
        problems.append(pd.DataFrame({"table": table, "key": np.asarray(key, dtype=object),
                                      "problem": problem, "column": column, "detail": detail,
                                      "row": np.asarray(rows, dtype=np.int64)}))

    n = len(customers)
    customers = customers.copy()
    lines = lines.copy()
    cust = lines["cust"].to_numpy() - first_number  # the person's position among the customers
    # --- duplicate customers: the same person registered again, keys in other formats
    buyers = np.zeros(n, bool)
    buyers[cust] = True
    n_dup = int(round(rates["duplicate_customer"] * buyers.sum()))
    masters = rng.choice(np.flatnonzero(buyers), size=n_dup, replace=False)
    dup = customers.iloc[masters].copy()
    first_dup = first_number + n if first_dup is None else first_dup
    dup_numbers = np.arange(first_dup, first_dup + n_dup)
    dup_ids = np.char.add("C", np.char.zfill(dup_numbers.astype(str), 6))
    variant = rng.integers(0, 4, n_dup)  # which fields are written differently
    upper = variant % 2 == 0
    dup.loc[upper, "email"] = "  " + dup.loc[upper, "email"].str.upper()
    dup.loc[~upper, "email"] = dup.loc[~upper, "email"].str.title() + " "
    dup["phone"] = _phone_variant(dup["phone"], rng)
    dup.loc[variant >= 2, "first_name"] = dup.loc[variant >= 2, "first_name"].str.upper()
    dup.loc[variant >= 2, "last_name"] = " " + dup.loc[variant >= 2, "last_name"].str.lower()
    dup.loc[variant == 3, "postcode"] = dup.loc[variant == 3, "postcode"].str.replace(" ", "").str.lower()
    dup["signup_date"] = dup["signup_date"] + pd.to_timedelta(rng.integers(30, 400, n_dup), unit="D")
    dup["signup_date"] = dup["signup_date"].where(dup["signup_date"] <= pd.Timestamp(cfg.end),
                                                  pd.Timestamp(cfg.end))
    dup["customer_id"] = dup_ids
    dup_truth = pd.DataFrame({"duplicate_id": dup_ids,
                              "master_id": customers["customer_id"].to_numpy()[masters]})
    # move a share of each master's orders (with their returns) to the duplicate record
    is_master = np.zeros(n, bool)
    is_master[masters] = True
    cand = lines["kind"].eq(0).to_numpy() & is_master[cust] & (rng.random(len(lines)) < 0.4)
    move = cand | np.isin(lines["returned"].to_numpy(), lines["oid"].to_numpy()[cand])
    dup_of = np.zeros(n, np.int64)
    dup_of[masters] = dup_numbers
    lines.loc[move, "cust"] = dup_of[cust[move]]
    note("customers", dup_ids, "duplicate_customer", "customer_id", dup_truth["master_id"], rows=np.arange(n, n + n_dup))
    customers = pd.concat([customers, dup], ignore_index=True)
    # --- test / internal accounts with a few orders each (in one chunk of a company only)
    if not test_accounts:
        note("customers", [], "test_account", "customer_id")
    else:
        customers, lines = _test_accounts(customers, lines, rng, note)
    m = len(customers)
    # --- impossible birth dates
    bad = rng.random(m) < rates["impossible_birth_date"]
    fake = np.where(rng.random(bad.sum()) < 0.5, "1899-12-31", "2031-05-05")
    cust_text = customers.assign(
        birth_date=customers["birth_date"].dt.strftime("%Y-%m-%d"),
        signup_date=customers["signup_date"].dt.strftime("%Y-%m-%d"),
        email_opt_in=np.where(customers["email_opt_in"], "Y", "N"),
    ).drop(columns="age")
    cust_text.loc[bad, "birth_date"] = fake
    note("customers", cust_text.loc[bad, "customer_id"], "impossible_birth_date", "birth_date", fake,
         rows=np.flatnonzero(bad))
    # --- mixed date formats (DD/MM/YYYY) in customers and transactions
    for col, src in (("birth_date", customers["birth_date"]), ("signup_date", customers["signup_date"])):
        mix = (rng.random(m) < rates["mixed_date_format"]) & ~bad
        cust_text.loc[mix, col] = src[mix].dt.strftime("%d/%m/%Y")
        note("customers", cust_text.loc[mix, "customer_id"], "mixed_date_format", col, rows=np.flatnonzero(mix))
    lines = lines.reset_index(drop=True)
    ids = _order_ids(lines)
    n_tx = len(lines)

    def tx_note(mask, problem, column):
        at = np.flatnonzero(mask)
        note("transactions", ids.take(pa.array(at)).to_numpy(zero_copy_only=False), problem, column, rows=at)

    iso = _arrow_text(lines["order_ts"].dt.strftime("%Y-%m-%d %H:%M:%S"))
    mix = rng.random(n_tx) < rates["mixed_date_format"]
    order_ts = _replaced(iso, mix, lines.loc[mix, "order_ts"].dt.strftime("%d/%m/%Y %H:%M"))
    tx_note(mix, "mixed_date_format", "order_ts")
    # --- extreme outliers on sales, amounts as text with currency symbol
    is_sale = lines["kind"].ne(1).to_numpy()  # test-account orders too
    out = is_sale & (rng.random(n_tx) < rates["extreme_outlier"])
    big = np.round(lines.loc[out, "amount"] * rng.uniform(50, 200, out.sum()), 2)
    lines.loc[out, "amount"] = big
    tx_note(out, "extreme_outlier", "amount")
    txt = rng.random(n_tx) < rates["amount_as_text"]
    amount = lines["amount"].to_numpy()
    amount_text = _replaced(float_text(amount, two_decimals=True), txt,
                            [f"-£{-v:,.2f}" if v < 0 else f"£{v:,.2f}" for v in amount[txt]])
    tx_note(txt, "amount_as_text", "amount")
    # --- missing values
    for col in ["region", "income_band", "phone"]:
        miss = rng.random(m) < rates["missing_value"]
        cust_text.loc[miss, col] = None
        note("customers", cust_text.loc[miss, "customer_id"], "missing_value", col, rows=np.flatnonzero(miss))
    miss = rng.random(n_tx) < rates["missing_value"]
    category = pc.if_else(pa.array(miss), pa.scalar(None, pa.string()), _names(lines["category"], CATEGORIES))
    tx_note(miss, "missing_value", "category")
    # --- exact duplicate rows (the same line exported twice, the copy right after it)
    twice = rng.random(n_tx) < rates["exact_duplicate_row"]
    tx_note(twice, "exact_duplicate_row", "*")
    rep = pa.array(np.repeat(np.arange(n_tx), 1 + twice))
    moved = np.cumsum(twice) - twice  # copies before each line
    for i in tx_notes:
        problems[i]["row"] += moved[problems[i]["row"].to_numpy()]
    tx = pd.DataFrame({
        "order_id": _text(ids.take(rep)),
        "customer_id": _text(_customer_ids(lines["cust"]).take(rep)),
        "order_ts": _text(order_ts.take(rep)),
        "channel": _text(_names(lines["channel"], CHANNELS).take(rep)),
        "category": _text(category.take(rep)),
        "quantity": lines["quantity"].to_numpy()[rep.to_numpy()],
        "amount": _text(amount_text.take(rep)),
        "returned_order_id": _text(_returned_ids(lines).take(rep)),
    })
    dup_truth = dup_truth.assign(_dup=dup_numbers, _master=first_number + masters)
    return cust_text, tx, dup_truth, problems, lines, iso


def _replaced(text: pa.Array, mask: np.ndarray, values) -> pa.Array:
    """``text`` with the cells where ``mask`` holds replaced by ``values`` (in order)."""
    if not mask.any():
        return text
    new = np.empty(len(text), dtype=object)
    new[mask] = np.asarray(values, dtype=object)
    return pc.if_else(pa.array(mask), pa.array(new, text.type), text)


def _orders_truth(lines: pd.DataFrame, iso: pa.Array, dup_truth: pd.DataFrame) -> pd.DataFrame:
    """One row per sale order as cleaning should find it (``_truth/orders.csv``).

    Duplicate customer records are mapped to their master and test-account orders are left
    out. ``amount`` is the sale amount as planted, outliers included. ``returned_amount`` is
    the sum of the order's returns (0.0 if there are none). ``lines``: the numeric lines,
    ``iso``: their ``order_ts`` as text; ``dup_truth`` with the numbers of the duplicates
    (``_dup``) and of their masters (``_master``).
    """
    kind = lines["kind"].to_numpy()
    sales = lines.loc[kind == 0]
    back = lines.loc[kind == 1].groupby("returned")["amount"].sum()
    at = back.index.get_indexer(sales["oid"])
    returned = np.round(np.where(at >= 0, back.to_numpy(float)[at], 0.0), 2) + 0.0
    cust = sales["cust"].to_numpy().copy()
    dups, masters = dup_truth["_dup"].to_numpy(), dup_truth["_master"].to_numpy()
    if len(dups):  # the duplicates are numbered in a run
        is_dup = (cust >= dups[0]) & (cust <= dups[-1])
        cust[is_dup] = masters[cust[is_dup] - dups[0]]
    pick = pa.array(np.flatnonzero(kind == 0))
    order_id = _order_ids(sales)
    # by time (to the second, as written) and then order id, as text sorts
    order = pc.sort_indices(pa.table({"t": sales["order_ts"].to_numpy().astype("datetime64[s]"), "o": order_id}),
                            sort_keys=[("t", "ascending"), ("o", "ascending")])
    amount = sales["amount"].to_numpy(float)
    out = pd.DataFrame({
        "order_id": _text(order_id),
        "customer_id": _text(_customer_ids(cust)),
        "order_ts": _text(iso.take(pick)),
        "channel": _text(_names(sales["channel"], CHANNELS)),
        "category": _text(_names(sales["category"], CATEGORIES)),
        "quantity": sales["quantity"].to_numpy(np.int64),
        "amount": amount,
        "returned_amount": returned,
        "net_amount": np.round(amount + returned, 2),
    })
    return out.take(order.to_numpy()).reset_index(drop=True)


def is_current(folder) -> bool:
    """True when ``folder`` holds a company written by this generator version with the default
    chunking: a company of more than :data:`CHUNK_CUSTOMERS` customers written whole (before
    the generator was chunked) or in other chunks is another draw, so it is not current."""
    params = Path(folder) / TRUTH_DIR / "params.json"
    if not params.exists():
        return False
    params = json.loads(params.read_text())
    chunked = len(chunk_sizes(params.get("n_customers", 1))) > 1
    return (params.get("generator_version") == GENERATOR_VERSION
            and params.get("chunk_customers") == (CHUNK_CUSTOMERS if chunked else None))


class _CsvFiles:
    """CSV files written part by part, chunk after chunk, each to its temporary file in a
    staging folder inside the output folder: a file's first part (in the order parts are first
    added) goes straight into it, later parts into side files appended when the files are
    closed; then every file is renamed over its target. The header is the first frame's; a name
    ending ``.gz`` is one gzip stream (the bytes of ``gzip.compress(data, mtime=0)``).

    A thread turns the frames into text and writes them, in the order they were added, while
    the caller simulates the next ones (Arrow's kernels and the writes release the GIL); at most
    ``backlog`` frames wait for it. Frames added must not change afterwards."""

    def __init__(self, out: Path, backlog: int = 6):
        self.out = out
        self.stage = Path(tempfile.mkdtemp(prefix=".generating-", dir=out))
        self.files: dict[str, dict] = {}
        self.jobs: queue.Queue = queue.Queue(maxsize=backlog)
        self.error: BaseException | None = None
        self.worker = threading.Thread(target=self._work, name="retail-demo-writer", daemon=True)
        self.worker.start()

    def add(self, name: str, frame: pd.DataFrame, part: str = "", float_format: str | None = None) -> None:
        if self.error is not None:
            raise self.error
        f = self.files.get(name)
        if f is None:
            path = self.stage / f"{len(self.files)}.csv"
            f = self.files[name] = {"path": path, "parts": [part], "fh": open(path, "wb"),
                                    "zip": zlib.compressobj(9, zlib.DEFLATED, 31) if name.endswith(".gz") else None}
            self.jobs.put((f, None, frame.iloc[:0], float_format, True))
        if part not in f["parts"]:
            f["parts"].append(part)
        side = None if part == f["parts"][0] else self._side(f, part)
        self.jobs.put((f, side, frame, float_format, False))

    def _work(self) -> None:
        while (job := self.jobs.get()) is not None:
            if self.error is not None:
                continue  # drain after a failure
            f, side, frame, float_format, header = job
            try:
                data = csv_bytes(frame, header=header, float_format=float_format)
                if side is None:
                    self._write(f, f["fh"], data)
                else:
                    with open(side, "ab") as fh:
                        fh.write(data)
            except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
                self.error = exc

    def _finish_writes(self) -> None:
        if self.worker.is_alive():
            self.jobs.put(None)
            self.worker.join()

    def _side(self, f: dict, part: str) -> Path:
        return f["path"].with_suffix(f".{f['parts'].index(part)}")

    @staticmethod
    def _write(f: dict, fh, data: bytes) -> None:
        fh.write(f["zip"].compress(data) if f["zip"] is not None else data)

    def close(self) -> None:
        """Wait for the writes, append each file's later parts, then move every file to its target."""
        self._finish_writes()
        if self.error is not None:
            raise self.error
        for f in self.files.values():
            for part in f["parts"][1:]:
                side = self._side(f, part)
                if side.exists():
                    with open(side, "rb") as src:
                        while block := src.read(1 << 24):
                            self._write(f, f["fh"], block)
                    side.unlink()
            if f["zip"] is not None:
                f["fh"].write(f["zip"].flush())
            f["fh"].close()
            os.chmod(f["path"], 0o644)
        for name, f in self.files.items():
            os.replace(f["path"], self.out / name)
        shutil.rmtree(self.stage, ignore_errors=True)

    def discard(self) -> None:
        """Stop writing and remove every temporary file (the targets are untouched)."""
        self.error = self.error or RuntimeError("discarded")
        self._finish_writes()
        for f in self.files.values():
            f["fh"].close()
        shutil.rmtree(self.stage, ignore_errors=True)


def chunk_sizes(n_customers: int, chunk_customers: int = CHUNK_CUSTOMERS) -> list[int]:
    """How :func:`make_retail_demo` splits ``n_customers`` into chunks of at most
    ``chunk_customers``: as few as that allows, of sizes differing by at most one."""
    k = -(-int(n_customers) // int(chunk_customers))
    base, extra = divmod(int(n_customers), k)
    return [base + 1] * extra + [base] * (k - extra)


def _stream(entropy, chunk: int) -> np.random.SeedSequence:
    """The seed of chunk ``chunk``'s random stream: ``entropy``'s own for the first chunk (a
    one-chunk company draws exactly what the unchunked generator drew), else its child
    ``SeedSequence(entropy).spawn(k)[chunk]``: independent streams."""
    return np.random.SeedSequence(entropy, spawn_key=(chunk,) if chunk else ())


def make_retail_demo(out_dir, n_customers: int = 20_000, seed: int = 0, purchase_rate: float = 1.0,
                     layout: str = "orders", line_format: str = "xlsx", covariate_effects: bool = False,
                     chunk_customers: int = CHUNK_CUSTOMERS) -> Path:
    """Write the synthetic retail company's raw exports and its ground truth.

    Parameters
    ----------
    out_dir : path
        Folder to write ``customers.csv``, ``transactions.csv``, ``campaigns.csv``,
        ``campaign_contacts.csv`` and ``_truth/`` into (created if missing).
    n_customers : int, default 20,000
        Number of distinct people (duplicate records and test accounts come on top).
    seed : int, default 0
        Seed of every random step: the same seed (and ``chunk_customers``) writes
        byte-identical files.
    purchase_rate : float, default 1.0
        Multiplies every customer's purchase rate (the BG/NBD ``alpha`` is divided by it):
        about 3 order lines per customer at 1.0, 5.7 at 4, 9 at 12, about 10 at 15 (dropout
        bounds the count) — for scale tests with many
        orders per customer. The true ``alpha`` is recorded in ``_truth/params.json``.
    layout : {"orders", "lines"}, default "orders"
        ``orders`` writes ``transactions.csv`` with one row per order or return.
        ``lines`` writes everything else unchanged but replaces ``transactions.csv`` with
        invoice lines and ``mapping.yaml`` (:mod:`dbmlib.demo.line_export`). It uses a random
        stream of its own, so the other files are byte-identical to the ``orders`` layout's.
        ``_truth/problems.csv`` still describes the ``orders`` layout's ``transactions.csv``.
        A transactions file of the other layout left in ``out_dir`` is removed.
    line_format : {"xlsx", "csv", "csv.gz"}, default "xlsx"
        File format of the line export (``layout="lines"`` only). ``xlsx`` has one sheet per
        calendar year (it is written whole at the end: its memory grows with the company).
    covariate_effects : bool, default False
        Multiply each customer's purchase rate by ``exp(γ)`` of their acquisition channel
        (:data:`RATE_EFFECTS`, recorded in ``_truth/params.json`` as ``rate_effects``), and draw
        the channel independently of age (which the generator ties to the dropout), so that
        given the channel the rate is Gamma(r, α·exp(−γ)) and the dropout Beta(a, b) exactly: the
        covariate models are then correctly specified. The same seed writes other files.
    chunk_customers : int, default :data:`CHUNK_CUSTOMERS` (100,000)
        Customers simulated and written at a time (at least 1,000): memory is bounded by the
        chunk, not by ``n_customers``. A company of more customers is split into
        :func:`chunk_sizes`, each simulated from its own random stream and appended to the files
        before the next; whatever spans customers is kept whole — ids run on, the sure-thing
        and behaviour-group cuts are the whole population's, each chunk plants duplicates of its
        own customers (ids after all the people's), the last one the test accounts, and the
        truth files list every chunk's. A company of one chunk is exactly the unchunked
        generator's; another chunk size gives another (equally valid) draw, recorded as
        ``chunk_customers`` in ``params.json``.

    Returns
    -------
    Path of ``out_dir``.
    """
    if n_customers < 100:
        raise ValueError(f"n_customers must be at least 100, got {n_customers}")
    if not purchase_rate > 0:
        raise ValueError(f"purchase_rate must be positive, got {purchase_rate}")
    if layout not in ("orders", "lines"):
        raise ValueError(f"layout must be 'orders' or 'lines', got {layout!r}")
    if line_format not in LINE_FORMATS:
        raise ValueError(f"line_format must be one of {sorted(LINE_FORMATS)}, got {line_format!r}")
    if chunk_customers < MIN_CHUNK:
        raise ValueError(f"chunk_customers must be at least {MIN_CHUNK:,}, got {chunk_customers}")
    cfg = RetailDemoConfig(n_customers=int(n_customers), seed=int(seed),
                           alpha=RetailDemoConfig.alpha / float(purchase_rate))
    out = Path(out_dir)
    (out / TRUTH_DIR).mkdir(parents=True, exist_ok=True)
    sizes = chunk_sizes(cfg.n_customers, chunk_customers)
    firsts = np.cumsum([0, *sizes[:-1]]).tolist()
    rngs = [np.random.default_rng(_stream(cfg.seed, i)) for i in range(len(sizes))]
    traits = [draw_bgnbd_traits(size, r=cfg.r, alpha=cfg.alpha, a=cfg.a, b=cfg.b, q=cfg.q, gamma=cfg.gamma,
                                rng=rng) for size, rng in zip(sizes, rngs)]
    lams = [t.lam for t in traits]
    if covariate_effects:  # each chunk's people first, for the rates of the whole population
        lams = [_channel_rates(replace(cfg, n_customers=size), t, rng, first + 1)
                for size, first, t, rng in zip(sizes, firsts, traits, rngs)]
    lam_all, nu_all = np.concatenate(lams), np.concatenate([t.nu for t in traits])
    sure_cut = float(np.quantile(lam_all, 0.9))
    medians = (np.median(lam_all), np.median(cfg.p_spend / nu_all))
    del lam_all, nu_all

    # transaction files of the other layout or format would be loaded too: remove them
    tx_name = "transactions.csv" if layout == "orders" else LINE_FORMATS[line_format]
    written = {tx_name} if layout == "orders" else {tx_name, "mapping.yaml"}
    for name in sorted({*LINE_FORMATS.values(), "mapping.yaml"} - written):
        (out / name).unlink(missing_ok=True)
    files = _CsvFiles(out)
    counts = {"customers_rows": 0, "transactions_rows": 0, "contacts_rows": 0}
    n_lines, n_orders, n_returns, n_dups, exports = 0, 0, 0, 0, []
    try:
        for i, (size, first, rng) in enumerate(zip(sizes, firsts, rngs)):
            ccfg = replace(cfg, n_customers=size)
            last = i == len(sizes) - 1
            people = _people(ccfg, traits[i], rng, channel_by_age=not covariate_effects, first_number=first + 1)
            chunk_traits = replace(traits[i], lam=lams[i])
            traits[i] = lams[i] = None  # drawn for this chunk only
            orders, truth = _orders(ccfg, people, chunk_traits, rng, medians)
            orders, contacts, camp_truth = _campaign_effects(ccfg, people, truth, orders, rng, sure_cut)
            lines, preferred = _order_lines(ccfg, people, truth, orders, rng,
                                            np.random.default_rng(_stream([cfg.seed, 19], i)), first_number=first + 1,
                                            first_order=n_orders + 1, first_return=n_returns + 1)
            del orders
            is_ret = lines["kind"].eq(1).to_numpy()
            n_orders, n_returns = n_orders + int((~is_ret).sum()), n_returns + int(is_ret.sum())
            contact_table = _contacts_table(people, contacts, lines, first_number=first + 1)
            for c in CAMPAIGNS:
                files.add("campaign_contacts.csv", contact_table[contact_table["campaign_id"].eq(c.campaign_id)],
                          c.campaign_id)
                files.add(f"{TRUTH_DIR}/campaign_truth.csv", camp_truth[camp_truth["campaign_id"].eq(c.campaign_id)],
                          c.campaign_id)
            counts["contacts_rows"] += len(contact_table)
            del contacts, contact_table, camp_truth
            customers, tx, dup_truth, notes, final_lines, iso = _plant_problems(
                ccfg, people, lines, rng, first_number=first + 1, first_dup=cfg.n_customers + n_dups + 1,
                test_accounts=last)
            del lines
            # planted problems: each one's first data row (1-based) in the whole file
            problems = pd.concat(notes, ignore_index=True)
            local = problems.pop("row").to_numpy()
            nd = len(dup_truth)
            problems["row"] = np.where(
                problems["table"].eq("customers").to_numpy(),
                # people in id order; then every chunk's duplicates, then (last chunk) the test accounts
                np.where(local < size, first + local, cfg.n_customers + n_dups + local - size),
                counts["transactions_rows"] + local) + 1
            n_dups += nd
            files.add("customers.csv", customers.iloc[:size], "people")
            files.add("customers.csv", customers.iloc[size:size + nd], "duplicates")
            files.add("customers.csv", customers.iloc[size + nd:], "test accounts")
            counts["customers_rows"] += len(customers)
            counts["transactions_rows"] += len(tx)
            if layout == "orders":
                files.add(tx_name, tx)
            bounds = np.cumsum([0, *(len(x) for x in notes)])
            for j, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
                files.add(f"{TRUTH_DIR}/problems.csv", problems.iloc[a:b], str(j))
            files.add(f"{TRUTH_DIR}/duplicates.csv", dup_truth[["duplicate_id", "master_id"]])
            del customers, tx, notes, problems
            truth["age"] = people["age"].to_numpy()
            truth["preferred_category"] = np.asarray(CATEGORIES, dtype=object)[preferred]
            files.add(f"{TRUTH_DIR}/customers.csv", truth)
            del people, truth
            files.add(f"{TRUTH_DIR}/orders.csv", _orders_truth(final_lines, iso, dup_truth))
            del iso
            if layout == "lines":
                export = order_lines_from_orders(_lines_frame(final_lines),
                                                 np.random.default_rng(_stream([cfg.seed, 16], i)),
                                                 duplicates=dup_truth)
                n_lines += len(export)
                if line_format == "xlsx":
                    exports.append(export)
                else:
                    files.add(tx_name, export_text(export), float_format="%.2f")
                del export
            del final_lines, dup_truth
            log.info("retail-demo chunk %d of %d: %d customers", i + 1, len(sizes), size)
        files.close()
    except BaseException:
        files.discard()
        raise
    if layout == "lines":
        if line_format == "xlsx":
            write_line_export(pd.concat(exports, ignore_index=True) if len(exports) > 1 else exports[0], out,
                              line_format)
        else:
            atomic_write_text(yaml.safe_dump(LINE_MAPPING, sort_keys=False), out / "mapping.yaml")
    campaigns = pd.DataFrame([{
        "campaign_id": c.campaign_id, "name": c.name, "channel": c.channel,
        "start_date": c.start, "response_window_days": c.window_days,
        "contact_cost": c.contact_cost, "offer": c.offer} for c in CAMPAIGNS])
    atomic_write_csv(campaigns, out / "campaigns.csv")
    atomic_write_csv(catalogue(), out / "products.csv")
    atomic_write_csv(pd.DataFrame([(a, b, PAIR_STRENGTH) for x, y in CATEGORY_PAIRS for a, b in ((x, y), (y, x))],
                                  columns=["antecedent", "consequent", "next_order_probability"]),
                     out / TRUTH_DIR / "category_pairs.csv")
    params = asdict(cfg) | {
        "generator_version": GENERATOR_VERSION,
        "preferred_category_share": PREFERRED_SHARE,
        "cross_sell_response": CROSS_SELL_RESPONSE,
        "time_unit": "days",
        "campaigns": [asdict(c) for c in CAMPAIGNS],
        "test_accounts": N_TEST_ACCOUNTS,
        "counts": counts,
    }
    if len(sizes) > 1:  # a one-chunk company's params.json stays as the unchunked generator wrote it
        params["chunk_customers"] = int(chunk_customers)
    if covariate_effects:
        params |= {"rate_effects": RATE_EFFECTS, "rate_effects_reference": "web"}
    if layout == "lines":  # the orders layout's params.json stays as it was
        params |= {"layout": layout, "line_format": line_format}
        params["counts"]["transaction_lines_rows"] = n_lines
    atomic_write_text(json.dumps(params, indent=2, default=str), out / TRUTH_DIR / "params.json")
    log.info("retail-demo written to %s: %d customer rows, %d transaction %s rows", out,
             counts["customers_rows"], counts["transactions_rows"] if layout == "orders" else n_lines, layout)
    return out
