"""Simulated randomised experiments with known heterogeneous effects, for testing and
benchmarking uplift models on data that is not the demo company's.

:func:`simulate_experiment` draws customers with numeric and categorical attributes, assigns
them at random to a no-contact control (label 0) or one of several offers, and draws each
customer's outcome — a yes/no response or an amount spent — from a known model, so every
customer's true effect of every offer is known:

* baseline: ``P(respond | control) = sigmoid(−2 + 0.8·x1 + 0.5·[region = north])``;
  an amount is ``40 + 15·x1 + 10·[region = north] + noise`` (σ = 20) for everyone;
* offer ``"A"`` helps customers high on ``x2`` and puts off those low on it:
  ``τ_A = 0.12·sigmoid(3·x2) − 0.04`` (from −0.04 to +0.08);
* offer ``"B"`` works only in the south and west, more for high ``x3``:
  ``τ_B = [region ∈ {south, west}]·(0.05 + 0.03·tanh(x3))``;
* offer ``"C"`` (when asked for three offers) is a small flat effect, 0.01.

For a response, ``P(respond | offer) = clip(P(control) + τ, 0, 1)``; for an amount, the effect
is ``250·τ`` money units on the mean. ``x4`` and ``channel`` are noise attributes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["simulate_experiment"]

_REGIONS = np.array(["north", "south", "east", "west"], dtype=object)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def simulate_experiment(n: int = 20_000, *, arms=("A", "B"), outcome: str = "binary", control_share: float = 0.25,
                        seed: int = 0) -> tuple[pd.DataFrame, pd.Series, pd.Series, pd.DataFrame]:
    """One randomised experiment (see the module docstring). Returns ``(X, treatment, y,
    truth)``: the attributes, the assigned label (0 = control, else the offer), the outcome
    and, per customer, the true effect of each offer (``effect_<arm>``) and the control's
    expected outcome (``baseline``)."""
    if outcome not in ("binary", "continuous"):
        raise ValueError(f"outcome must be 'binary' or 'continuous', got {outcome!r}")
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    region = _REGIONS[rng.integers(0, 4, n)]
    X = pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "x3": x[:, 2], "x4": x[:, 3], "region": region,
                      "channel": np.array(["web", "store", "phone"], dtype=object)[rng.integers(0, 3, n)]},
                     index=pd.RangeIndex(n, name="customer_id"))
    north = (region == "north").astype(float)
    effects = {"A": 0.12 * _sigmoid(3 * x[:, 1]) - 0.04,
               "B": np.isin(region, ["south", "west"]) * (0.05 + 0.03 * np.tanh(x[:, 2])),
               "C": np.full(n, 0.01)}
    labels = np.array([0, *arms], dtype=object)
    shares = np.r_[control_share, np.full(len(arms), (1 - control_share) / len(arms))]
    t = labels[rng.choice(len(labels), n, p=shares)]
    effect = np.zeros(n)
    for a in arms:
        effect[t == a] = effects[a][t == a]
    if outcome == "binary":
        base = _sigmoid(-2 + 0.8 * x[:, 0] + 0.5 * north)
        y = (rng.random(n) < np.clip(base + effect, 0, 1)).astype(int)
        scale = 1.0
    else:
        base = 40 + 15 * x[:, 0] + 10 * north
        y = base + 250 * effect + rng.normal(0, 20, n)
        scale = 250.0
    truth = pd.DataFrame({"baseline": base, **{f"effect_{a}": scale * effects[a] for a in arms}}, index=X.index)
    return X, pd.Series(t, index=X.index, name="treatment"), pd.Series(y, index=X.index, name="outcome"), truth
