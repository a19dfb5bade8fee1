"""What-if planning of a campaign: budget, control share and contact cost → list size and
expected incremental profit. An ipywidgets control for JupyterLab; the same numbers as a
static table for scheduled (papermill) runs."""

from __future__ import annotations

import ipywidgets as widgets
import pandas as pd

from .planning import list_size

__all__ = ["CampaignWhatIf", "plan_outcome", "what_if_table"]


def plan_outcome(uplift: pd.Series, value: pd.Series, *, budget: float, control_share: float,
                 contact_cost: float, margin: float) -> dict:
    """Outcome of targeting by expected incremental profit under a budget.

    Customers are ranked by ``uplift × value × margin − contact_cost``; only those with a
    positive expected incremental profit are listed; the budget pays for the contacted part
    of the list (``1 − control_share`` of it).
    """
    gain = (uplift * value.reindex(uplift.index) * margin - contact_cost).dropna()
    gain = gain[gain > 0].sort_values(ascending=False, kind="stable")
    size = min(len(gain), list_size(budget, contact_cost, control_share))
    chosen = gain.iloc[:size]
    contacted = int(round(size * (1 - control_share)))
    return {
        "budget": budget, "control_share": control_share, "contact_cost": contact_cost,
        "list_size": size, "contacted": contacted, "control": size - contacted,
        "cost": contacted * contact_cost,
        "expected_incremental_responders": float(uplift.reindex(chosen.index).mean() * contacted)
        if size else 0.0,
        "expected_incremental_profit": float(chosen.mean() * contacted) if size else 0.0,
    }


def what_if_table(uplift: pd.Series, value: pd.Series, *, budgets, control_shares, contact_costs,
                  margin: float) -> pd.DataFrame:
    """:func:`plan_outcome` for every combination of the given values."""
    rows = [plan_outcome(uplift, value, budget=b, control_share=s, contact_cost=c, margin=margin)
            for b in budgets for s in control_shares for c in contact_costs]
    return pd.DataFrame(rows)


class CampaignWhatIf:
    """Sliders for budget, control share and contact cost; ``.widget`` is the control.

    Parameters
    ----------
    uplift, value : per-customer predicted uplift and value of a response (eligible only).
    margin : gross margin.
    budget, control_share, contact_cost : starting values of the sliders.
    """

    def __init__(self, uplift: pd.Series, value: pd.Series, *, margin: float, budget: float,
                 control_share: float, contact_cost: float):
        self.uplift, self.value, self.margin = uplift, value, margin
        self.budget = widgets.FloatSlider(value=budget, min=0, max=max(budget * 4, 1.0),
                                          step=max(budget / 20, 0.01), description="Budget")
        self.control = widgets.FloatSlider(value=control_share, min=0.05, max=0.5, step=0.05,
                                           description="Control share")
        self.cost = widgets.FloatSlider(value=contact_cost, min=0.01, max=max(contact_cost * 4, 0.1),
                                        step=0.01, description="Contact cost")
        self.output = widgets.HTML()
        for w in (self.budget, self.control, self.cost):
            w.observe(self._render, names="value")
        self._render()
        self.widget = widgets.VBox([self.budget, self.control, self.cost, self.output])

    def outcome(self) -> dict:
        """:func:`plan_outcome` at the sliders' current budget, control share and contact cost."""
        return plan_outcome(self.uplift, self.value, budget=self.budget.value,
                            control_share=self.control.value, contact_cost=self.cost.value,
                            margin=self.margin)

    def _render(self, *_):
        o = self.outcome()
        self.output.value = (
            f"<b>{o['list_size']:,}</b> customers listed: {o['contacted']:,} contacted, "
            f"{o['control']:,} held out; cost {o['cost']:,.2f}; expected "
            f"{o['expected_incremental_responders']:,.1f} extra responders and "
            f"{o['expected_incremental_profit']:,.2f} incremental profit")
