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
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..core.fast_text import isin, lookup
from ..core.io import atomic_write_csv, atomic_write_text
from .catalogue import (
    CATEGORIES,
    CATEGORY_PAIRS,
    CROSS_SELL_RESPONSE,
    PAIR_STRENGTH,
    PREFERRED_SHARE,
    catalogue,
)
from .line_export import LINE_FORMATS, order_lines_from_orders, write_line_export
from .simulate import draw_bgnbd_traits, draw_spend, simulate_repeat_purchases

__all__ = ["GENERATOR_VERSION", "PROBLEM_RATES", "RATE_EFFECTS", "TRUTH_DIR", "RetailDemoConfig", "is_current",
           "make_retail_demo", "response_rules"]

log = logging.getLogger(__name__)

TRUTH_DIR = "_truth"
#: Bumped whenever the same seed would write different files; a cached company folder of
#: another version is generated again (``run.sources``). 2: planted category pairs. 3: the product
#: catalogue (``products.csv``) and each customer's preferred category in the truth.
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
    return np.asarray(labels, dtype=object)[np.searchsorted(stats.norm.ppf(cuts), z)]


def _people(cfg: RetailDemoConfig, traits, rng: np.random.Generator, channel_by_age: bool = True) -> pd.DataFrame:
    n = cfg.n_customers
    u_lam = stats.gamma.cdf(traits.lam, cfg.r, scale=1 / cfg.alpha)
    u_nu = stats.gamma.cdf(traits.nu, cfg.q, scale=1 / cfg.gamma)  # high nu = low spend
    u_p = stats.beta.cdf(traits.p, cfg.a, cfg.b)
    income = _bands(_copula_normal(1 - u_nu, 0.6, rng), INCOME_BANDS, [0.3, 0.7, 0.9])
    age_z = _copula_normal(1 - u_p, 0.5, rng)
    age = np.clip(np.round(46 + 15 * age_z), 18, 92).astype(int)
    region = _bands(_copula_normal(u_lam, 0.35, rng), REGIONS, [0.08, 0.28, 0.48, 0.62, 0.82])
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
    ids = np.char.add("C", np.char.zfill(np.arange(1, n + 1).astype(str), 6))
    domains = np.asarray(["example.com", "example.org", "example.net", "mail.example"])
    email = (
        np.char.lower(first.astype(str)) + "." + np.char.lower(last_n.astype(str))
        + np.arange(1, n + 1).astype(str) + "@" + domains[rng.integers(0, 4, n)]
    )
    phone_num = rng.integers(0, 1_000_000, n)
    phone = np.char.add(np.char.add("07", np.char.zfill(rng.integers(100, 999, n).astype(str), 3)),
                        np.char.add(" ", np.char.zfill(phone_num.astype(str), 6)))
    street = (rng.integers(1, 200, n).astype(str) + " "
              + np.asarray(STREETS)[rng.integers(0, len(STREETS), n)])
    areas = np.array([POSTCODE_AREAS[r][i] for r, i in zip(region, rng.integers(0, 4, n))])
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


def _orders(cfg, people, traits, rng):
    """Simulate first and repeat purchases; return orders and per-customer truth."""
    n = cfg.n_customers
    end = pd.Timestamp(cfg.end) + pd.Timedelta(days=1)  # exclusive
    buyer = rng.random(n) >= cfg.prospect_share
    first_ts = people["signup_date"] + pd.to_timedelta(rng.uniform(0, 14, n), unit="D")
    first_ts = first_ts.where(first_ts < end, end - pd.Timedelta(hours=1))
    horizon = np.where(buyer, (end - first_ts).dt.total_seconds() / 86400.0, 0.0)
    cust, t, alive, death = simulate_repeat_purchases(traits, horizon, rng)
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
    med_lam, med_spend = np.median(traits.lam), np.median(truth["mean_spend"])
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


def _campaign_effects(cfg, people, truth, orders, rng):
    """Run the past campaigns as randomised experiments; add/remove response purchases."""
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
        tau, kappa, sure_thing = response_rules(camp.channel, age, income, lam)
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
    for r in range(1, int(rank.max()) + 1 if len(rank) else 0):  # the chain is sequential per customer
        at = np.flatnonzero((rank == r) & switch)
        cat[at] = partner[cat[previous[at].astype(int)]]
    return cat


def _order_lines(cfg, people, truth, orders, rng):
    """Give orders ids, channel, category, quantity, amount; add returns."""
    orders = orders.sort_values(["ts", "cust_idx"], kind="stable").reset_index(drop=True)
    m = len(orders)
    ci = orders["cust_idx"].to_numpy()
    age = people["age"].to_numpy()[ci]
    pref = np.select([age < 35, age >= 65], [1, 3], 0)  # web / catalogue / store
    channel_idx = np.where(rng.random(m) < 0.7, pref, rng.integers(0, 4, m))
    camp_ch = orders.get("campaign_id")
    channel = np.asarray(CHANNELS, dtype=object)[channel_idx]
    if camp_ch is not None:
        from_dm = (camp_ch.astype(str).str.endswith("DM")).to_numpy()
        from_em = (camp_ch.astype(str).str.endswith("EM")).to_numpy()
        channel = np.where(from_dm, "catalogue", np.where(from_em, "web", channel))
    preferred = rng.integers(0, len(CATEGORIES), cfg.n_customers)
    cat = np.where(rng.random(m) < PREFERRED_SHARE, preferred[ci], rng.integers(0, len(CATEGORIES), m))
    cat = _category_chain(cat, ci, np.random.default_rng([cfg.seed, 19]))
    amount = np.round(np.maximum(draw_spend(truth["nu_spend_rate"].to_numpy(), ci,
                                            p_spend=cfg.p_spend, rng=rng), 1.0), 2)
    hours = pd.to_timedelta(rng.integers(8 * 60, 22 * 60, m), unit="min")
    ts = pd.to_datetime(orders["ts"]).dt.floor("D") + hours
    by_time = np.argsort(ts.to_numpy(), kind="stable")
    ci, channel, cat, amount = ci[by_time], channel[by_time], cat[by_time], amount[by_time]
    ts = ts.iloc[by_time].reset_index(drop=True)
    sales = pd.DataFrame({
        "order_id": np.char.add("O", np.char.zfill(np.arange(1, m + 1).astype(str), 7)),
        "customer_id": people["customer_id"].to_numpy()[ci],
        "order_ts": ts,
        "channel": channel,
        "category": np.asarray(CATEGORIES, dtype=object)[cat],
        "quantity": 1 + rng.poisson(0.6, m),
        "amount": amount,
        "returned_order_id": None,
    })
    end = pd.Timestamp(cfg.end) + pd.Timedelta(days=1)
    ret = sales.loc[rng.random(m) < cfg.return_share].copy()
    ret["order_ts"] = ret["order_ts"] + pd.to_timedelta(rng.integers(1, 30, len(ret)), unit="D")
    ret = ret.loc[ret["order_ts"] < end]
    full = rng.random(len(ret)) < 0.7
    qty_back = np.where(full, ret["quantity"], 1)
    ret["amount"] = -np.round(ret["amount"] * qty_back / ret["quantity"], 2)
    ret["quantity"] = -qty_back
    ret["returned_order_id"] = ret["order_id"]
    ret["order_id"] = np.char.add("R", np.char.zfill(np.arange(1, len(ret) + 1).astype(str), 7))
    lines = pd.concat([sales, ret], ignore_index=True).sort_values("order_ts", kind="stable")
    return lines.reset_index(drop=True), preferred


def _contacts_table(people, contacts, lines):
    rows = []
    cost = {c.campaign_id: c.contact_cost for c in CAMPAIGNS}
    for camp, df in zip(CAMPAIGNS, contacts):
        c0 = pd.Timestamp(camp.start)
        c1 = c0 + pd.Timedelta(days=camp.window_days)
        cid = people["customer_id"].to_numpy()[df["cust_idx"].to_numpy()]
        win = lines.loc[lines["order_ts"].between(c0, c1, inclusive="left")
                        & lines["returned_order_id"].isna()]
        rev = win.groupby("customer_id")["amount"].sum()
        revenue = rev.reindex(cid).fillna(0.0).to_numpy()
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


def _plant_problems(cfg, customers, lines, rng):
    """Plant the documented problems; return the messy tables and the truth of each."""
    rates = cfg.problem_rates
    problems: list[pd.DataFrame] = []

    def note(table, key, problem, column, detail=""):
        problems.append(pd.DataFrame({"table": table, "key": np.asarray(key, dtype=object),
                                      "problem": problem, "column": column, "detail": detail}))

    n = len(customers)
    customers = customers.copy()
    lines = lines.copy()
    # --- duplicate customers: the same person registered again, keys in other formats
    buyers = isin(customers["customer_id"], lines["customer_id"].unique())
    n_dup = int(round(rates["duplicate_customer"] * buyers.sum()))
    masters = rng.choice(np.flatnonzero(buyers), size=n_dup, replace=False)
    dup = customers.iloc[masters].copy()
    dup_ids = np.char.add("C", np.char.zfill(np.arange(n + 1, n + n_dup + 1).astype(str), 6))
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
    sale = lines["returned_order_id"].isna()
    cand = sale.to_numpy() & isin(lines["customer_id"], dup_truth["master_id"]) & (rng.random(len(lines)) < 0.4)
    move = cand | isin(lines["returned_order_id"], lines.loc[cand, "order_id"].unique())
    lines.loc[move, "customer_id"] = lookup(lines.loc[move, "customer_id"], dup_truth["master_id"],
                                            dup_truth["duplicate_id"])
    note("customers", dup_ids, "duplicate_customer", "customer_id", dup_truth["master_id"])
    customers = pd.concat([customers, dup], ignore_index=True)
    m = len(customers)
    # --- test / internal accounts with a few orders each
    k = N_TEST_ACCOUNTS
    test = customers.sample(k, random_state=int(rng.integers(1 << 31))).copy()
    test_ids = np.char.add("T", np.char.zfill(np.arange(1, k + 1).astype(str), 6))
    test["customer_id"] = test_ids
    test["first_name"] = "Test"
    test["last_name"] = ["Account", "Internal", "QA"] * (k // 3) + ["Account"] * (k % 3)
    test["email"] = [f"qa+{i}@dbm-retail.example" for i in range(1, k + 1)]
    test_orders = lines.loc[lines["returned_order_id"].isna()].sample(
        k * 4, random_state=int(rng.integers(1 << 31))).copy()
    test_orders["customer_id"] = np.repeat(test_ids, 4)
    test_orders["order_id"] = [f"X{i:07d}" for i in range(1, k * 4 + 1)]
    note("customers", test_ids, "test_account", "customer_id")
    customers = pd.concat([customers, test], ignore_index=True)
    lines = pd.concat([lines, test_orders], ignore_index=True).sort_values("order_ts", kind="stable")
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
    note("customers", cust_text.loc[bad, "customer_id"], "impossible_birth_date", "birth_date", fake)
    # --- mixed date formats (DD/MM/YYYY) in customers and transactions
    for col, src in (("birth_date", customers["birth_date"]), ("signup_date", customers["signup_date"])):
        mix = (rng.random(m) < rates["mixed_date_format"]) & ~bad
        cust_text.loc[mix, col] = src[mix].dt.strftime("%d/%m/%Y")
        note("customers", cust_text.loc[mix, "customer_id"], "mixed_date_format", col)
    lines = lines.reset_index(drop=True)
    tx = lines.assign(order_ts=lines["order_ts"].dt.strftime("%Y-%m-%d %H:%M:%S"),
                      amount=lines["amount"].map("{:.2f}".format))
    mix = rng.random(len(tx)) < rates["mixed_date_format"]
    tx.loc[mix, "order_ts"] = lines.loc[mix, "order_ts"].dt.strftime("%d/%m/%Y %H:%M")
    note("transactions", tx.loc[mix, "order_id"], "mixed_date_format", "order_ts")
    # --- extreme outliers on sales, amounts as text with currency symbol
    is_sale = lines["returned_order_id"].isna().to_numpy()
    out = is_sale & (rng.random(len(tx)) < rates["extreme_outlier"])
    big = np.round(lines.loc[out, "amount"] * rng.uniform(50, 200, out.sum()), 2)
    lines.loc[out, "amount"] = big
    tx.loc[out, "amount"] = big.map("{:.2f}".format)
    note("transactions", tx.loc[out, "order_id"], "extreme_outlier", "amount")
    txt = rng.random(len(tx)) < rates["amount_as_text"]
    tx.loc[txt, "amount"] = lines.loc[txt, "amount"].map(
        lambda v: f"-£{-v:,.2f}" if v < 0 else f"£{v:,.2f}")
    note("transactions", tx.loc[txt, "order_id"], "amount_as_text", "amount")
    # --- missing values
    for table, frame, cols in (("customers", cust_text, ["region", "income_band", "phone"]),
                               ("transactions", tx, ["category"])):
        key = "customer_id" if table == "customers" else "order_id"
        for col in cols:
            miss = rng.random(len(frame)) < rates["missing_value"]
            frame.loc[miss, col] = None
            note(table, frame.loc[miss, key], "missing_value", col)
    # --- exact duplicate rows (the same line exported twice)
    dup_rows = tx.loc[rng.random(len(tx)) < rates["exact_duplicate_row"]]
    note("transactions", dup_rows["order_id"], "exact_duplicate_row", "*")
    tx = pd.concat([tx, dup_rows]).sort_index(kind="stable").reset_index(drop=True)
    return cust_text, tx, dup_truth, pd.concat(problems, ignore_index=True), lines


def _orders_truth(lines: pd.DataFrame, dup_truth: pd.DataFrame) -> pd.DataFrame:
    """One row per sale order as cleaning should find it (``_truth/orders.csv``).

    Duplicate customer records are mapped to their master and test-account orders are left
    out. ``amount`` is the sale amount as planted, outliers included. ``returned_amount`` is
    the sum of the order's returns (0.0 if there are none).
    """
    is_ret = lines["returned_order_id"].notna()
    sales = lines.loc[~is_ret & ~lines["order_id"].str.startswith("X")]
    back = lines.loc[is_ret].groupby("returned_order_id")["amount"].sum()
    masters = dict(zip(dup_truth["duplicate_id"], dup_truth["master_id"]))
    returned = np.round(sales["order_id"].map(back).fillna(0.0).to_numpy(float), 2) + 0.0
    out = pd.DataFrame({
        "order_id": sales["order_id"].to_numpy(),
        "customer_id": lookup(sales["customer_id"], list(masters), list(masters.values()))
                       .fillna(sales["customer_id"]).to_numpy(),
        "order_ts": sales["order_ts"].dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(),
        "channel": sales["channel"].to_numpy(),
        "category": sales["category"].to_numpy(),
        "quantity": sales["quantity"].to_numpy(np.int64),
        "amount": sales["amount"].to_numpy(float),
        "returned_amount": returned,
        "net_amount": np.round(sales["amount"].to_numpy(float) + returned, 2),
    })
    return out.sort_values(["order_ts", "order_id"], kind="stable").reset_index(drop=True)


def _data_rows(problems, customers, tx):
    """1-based data-row number (header excluded) of each planted problem's first row."""
    cust_row = pd.Series(np.arange(1, len(customers) + 1), index=customers["customer_id"])
    tx_row = pd.Series(np.arange(1, len(tx) + 1), index=tx["order_id"])
    tx_row = tx_row[~tx_row.index.duplicated()]
    is_cust = problems["table"].eq("customers")
    rows = np.where(is_cust, problems["key"].map(cust_row), problems["key"].map(tx_row))
    return rows.astype("int64")


def is_current(folder) -> bool:
    """True when ``folder`` holds a company written by this generator version."""
    params = Path(folder) / TRUTH_DIR / "params.json"
    if not params.exists():
        return False
    return json.loads(params.read_text()).get("generator_version") == GENERATOR_VERSION


def make_retail_demo(out_dir, n_customers: int = 20_000, seed: int = 0, purchase_rate: float = 1.0,
                     layout: str = "orders", line_format: str = "xlsx", covariate_effects: bool = False) -> Path:
    """Write the synthetic retail company's raw exports and its ground truth.

    Parameters
    ----------
    out_dir : path
        Folder to write ``customers.csv``, ``transactions.csv``, ``campaigns.csv``,
        ``campaign_contacts.csv`` and ``_truth/`` into (created if missing).
    n_customers : int, default 20,000
        Number of distinct people (duplicate records and test accounts come on top).
    seed : int, default 0
        Seed of every random step: the same seed writes byte-identical files.
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
        calendar year.
    covariate_effects : bool, default False
        Multiply each customer's purchase rate by ``exp(γ)`` of their acquisition channel
        (:data:`RATE_EFFECTS`, recorded in ``_truth/params.json`` as ``rate_effects``), and draw
        the channel independently of age (which the generator ties to the dropout), so that
        given the channel the rate is Gamma(r, α·exp(−γ)) and the dropout Beta(a, b) exactly: the
        covariate models are then correctly specified. The same seed writes other files.

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
    cfg = RetailDemoConfig(n_customers=int(n_customers), seed=int(seed),
                           alpha=RetailDemoConfig.alpha / float(purchase_rate))
    rng = np.random.default_rng(cfg.seed)
    out = Path(out_dir)
    (out / TRUTH_DIR).mkdir(parents=True, exist_ok=True)
    traits = draw_bgnbd_traits(cfg.n_customers, r=cfg.r, alpha=cfg.alpha, a=cfg.a, b=cfg.b,
                               q=cfg.q, gamma=cfg.gamma, rng=rng)
    people = _people(cfg, traits, rng, channel_by_age=not covariate_effects)
    if covariate_effects:  # λ ~ Gamma(r, α·exp(−γ_channel)): draws no random numbers, the streams stay aligned
        gamma = people["acquisition_channel"].map(RATE_EFFECTS["acquisition_channel"]).to_numpy(float)
        traits = replace(traits, lam=traits.lam * np.exp(gamma))
    orders, truth = _orders(cfg, people, traits, rng)
    orders, contacts, camp_truth = _campaign_effects(cfg, people, truth, orders, rng)
    lines, preferred = _order_lines(cfg, people, truth, orders, rng)
    contact_table = _contacts_table(people, contacts, lines)
    customers, tx, dup_truth, problems, final_lines = _plant_problems(cfg, people, lines, rng)
    campaigns = pd.DataFrame([{
        "campaign_id": c.campaign_id, "name": c.name, "channel": c.channel,
        "start_date": c.start, "response_window_days": c.window_days,
        "contact_cost": c.contact_cost, "offer": c.offer} for c in CAMPAIGNS])
    truth = truth.merge(people[["customer_id", "age"]], on="customer_id")
    truth["preferred_category"] = truth["customer_id"].map(
        dict(zip(people["customer_id"], np.asarray(CATEGORIES, dtype=object)[preferred])))
    problems["row"] = _data_rows(problems, customers, tx)

    atomic_write_csv(customers, out / "customers.csv")
    # transaction files of the other layout or format would be loaded too: remove them
    written = {"transactions.csv"} if layout == "orders" else {LINE_FORMATS[line_format],
                                                                "mapping.yaml"}
    for name in sorted({*LINE_FORMATS.values(), "mapping.yaml"} - written):
        (out / name).unlink(missing_ok=True)
    if layout == "orders":
        atomic_write_csv(tx, out / "transactions.csv")
    else:
        export = order_lines_from_orders(final_lines, np.random.default_rng([cfg.seed, 16]),
                                         duplicates=dup_truth)
        write_line_export(export, out, line_format)
    atomic_write_csv(campaigns, out / "campaigns.csv")
    atomic_write_csv(catalogue(), out / "products.csv")
    atomic_write_csv(contact_table, out / "campaign_contacts.csv")
    atomic_write_csv(truth, out / TRUTH_DIR / "customers.csv")
    atomic_write_csv(dup_truth, out / TRUTH_DIR / "duplicates.csv")
    atomic_write_csv(problems, out / TRUTH_DIR / "problems.csv")
    atomic_write_csv(camp_truth, out / TRUTH_DIR / "campaign_truth.csv")
    atomic_write_csv(pd.DataFrame([(a, b, PAIR_STRENGTH) for x, y in CATEGORY_PAIRS for a, b in ((x, y), (y, x))],
                                  columns=["antecedent", "consequent", "next_order_probability"]),
                     out / TRUTH_DIR / "category_pairs.csv")
    atomic_write_csv(_orders_truth(final_lines, dup_truth), out / TRUTH_DIR / "orders.csv")
    params = asdict(cfg) | {
        "generator_version": GENERATOR_VERSION,
        "preferred_category_share": PREFERRED_SHARE,
        "cross_sell_response": CROSS_SELL_RESPONSE,
        "time_unit": "days",
        "campaigns": [asdict(c) for c in CAMPAIGNS],
        "test_accounts": N_TEST_ACCOUNTS,
        "counts": {"customers_rows": len(customers), "transactions_rows": len(tx),
                   "contacts_rows": len(contact_table)},
    }
    if covariate_effects:
        params |= {"rate_effects": RATE_EFFECTS, "rate_effects_reference": "web"}
    if layout == "lines":  # the orders layout's params.json stays as it was
        params |= {"layout": layout, "line_format": line_format}
        params["counts"]["transaction_lines_rows"] = len(export)
    atomic_write_text(json.dumps(params, indent=2, default=str), out / TRUTH_DIR / "params.json")
    log.info("retail-demo written to %s: %d customer rows, %d transaction %s rows", out,
             len(customers), len(tx) if layout == "orders" else len(export), layout)
    return out
