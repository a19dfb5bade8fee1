"""An ipywidgets segment explorer: pick a segment or cluster, see its size, value, profile
and a sample of pseudonymous ids. Under papermill the notebook shows the static tables."""

from __future__ import annotations

import ipywidgets as widgets
import pandas as pd

__all__ = ["SegmentExplorer"]


def _num(value) -> float:
    """A plain float; NaN for a missing mean (e.g. recency of prospects)."""
    return float("nan") if pd.isna(value) else float(value)


class SegmentExplorer:
    """Build with the feature table; ``.widget`` is the control to display.

    Parameters
    ----------
    features : DataFrame indexed by customer id (pseudonymous), with ``revenue``,
        ``orders``, ``recency_days`` and the grouping columns.
    groupings : list of str, default ("segment", "cluster")
    sample_size : int, default 10
    random_state : int, default 0
    """

    def __init__(self, features: pd.DataFrame, groupings=("segment", "cluster"),
                 profile_columns=("region", "age_band", "income_band"), sample_size: int = 10,
                 random_state: int = 0):
        self.features = features
        self.groupings = [g for g in groupings if g in features.columns]
        if not self.groupings:
            raise ValueError(f"none of the groupings {list(groupings)} is a column of the features")
        self.profile_columns = [c for c in profile_columns if c in features.columns
                                and features[c].nunique() > 1]
        self.sample_size = sample_size
        self.random_state = random_state
        self._text = {}  # grouping → its column as text, converted once (a million rows: 0.1 s each time)
        self.by = widgets.ToggleButtons(options=self.groupings, description="Group by")
        self.group = widgets.Dropdown(description="Group")
        self.output = widgets.HTML()
        self.by.observe(self._on_by, names="value")
        self.group.observe(self._render, names="value")
        self._on_by()
        self.widget = widgets.VBox([self.by, self.group, self.output])

    def _as_text(self, by: str) -> pd.Series:
        if by not in self._text:
            self._text[by] = self.features[by].astype(str)
        return self._text[by]

    def options(self, by: str) -> list:
        """The groups of the grouping ``by``, largest first."""
        counts = self._as_text(by).value_counts()
        return list(counts.index)

    def summary_table(self, by: str = "segment") -> pd.DataFrame:
        """Size and value of every group of ``by`` — the static view of the explorer for
        scheduled reports (no profile or ids)."""
        return (pd.DataFrame({g: self.summary(by, g) for g in self.options(by)}).T
                .drop(columns=["profile", "sample_ids"]))

    def _on_by(self, *_):
        self.group.options = self.options(self.by.value)
        self.group.value = self.group.options[0]
        self._render()

    def summary(self, by: str, value: str) -> dict:
        """Size, value and profile of one group, plus a sample of its ids."""
        f = self.features
        members = f[self._as_text(by) == str(value)]
        n = len(members)
        sample = members.sample(min(self.sample_size, n), random_state=self.random_state)
        profile = {c: members[c].value_counts(normalize=True).head(3).round(3).to_dict()
                   for c in self.profile_columns}
        return {
            "customers": n,
            "share_customers": n / len(f),
            "revenue": float(members["revenue"].sum()),
            "share_revenue": float(members["revenue"].sum() / f["revenue"].sum()),
            "mean_orders": _num(members["orders"].mean()),
            "mean_recency_days": _num(members["recency_days"].mean()),
            "profile": profile,
            "sample_ids": list(map(str, sample.index)),
        }

    def _render(self, *_):
        if self.group.value is None:
            return
        s = self.summary(self.by.value, self.group.value)
        rows = "".join(
            f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in [
                ("customers", f"{s['customers']:,} ({s['share_customers']:.1%})"),
                ("revenue", f"{s['revenue']:,.0f} ({s['share_revenue']:.1%})"),
                ("mean orders", f"{s['mean_orders']:.2f}"),
                ("mean days since last order", f"{s['mean_recency_days']:.0f}"),
                *[(c, ", ".join(f"{k} {v:.0%}" for k, v in p.items())) for c, p in s["profile"].items()],
                ("sample ids", ", ".join(s["sample_ids"])),
            ])
        self.output.value = f"<h4>{self.by.value}: {self.group.value}</h4><table>{rows}</table>"
