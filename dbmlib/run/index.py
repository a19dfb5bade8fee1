"""The run at a glance: ``reports/<run>/index.html`` and the ``reports/latest`` link.

One page for the person who opens a run: which source and round, the parameters, each
stage's status and time with links to its reports, the key figures the stages recorded
(read from ``metrics.json``, never recomputed or typed in), and every warning any stage
raised. Each figure carries the metric it shows (``data-metric``/``data-value``), so a test
can check the page against ``metrics.json``.
"""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

from ..core.io import atomic_write_text

__all__ = ["key_figures", "stage_findings", "stage_warnings", "update_latest", "write_index"]

_WARNING = re.compile(r"^\s*(?:[\w.]+Warning: |WARNING\b|[\w./-]+:\d+: \w*Warning: )(?P<text>.+)$")


def _fmt(value, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "pct":
        return f"{float(value):.1%}"
    if kind == "money":
        return f"{float(value):,.0f}"
    if kind == "num":
        return f"{float(value):,.3g}" if abs(float(value)) < 1000 else f"{float(value):,.0f}"
    return str(value)


def key_figures(metrics: dict) -> list[dict]:
    """The run's key figures from its metrics: ``[{label, text, sources: [(stage, name,
    value)]}]``; figures whose stage did not run (or did not record them) are left out."""
    def get(stage_prefix, name):
        for stage, values in metrics.items():
            if stage.startswith(stage_prefix) and name in values:
                return stage, values[name]
        return None, None

    figures = []

    def add(label, kind, *refs, text=None):
        found = []
        for prefix, name in refs:
            stage, value = get(prefix, name)
            if stage is None:
                return
            found.append((stage, name, value))
        figures.append({"label": label, "text": text(found) if text else _fmt(found[0][2], kind),
                        "sources": found})

    add("Customers", "int", ("03", "customers"))
    add("Orders", "int", ("02", "orders.count"))
    add("Net revenue", "money", ("02", "revenue.net"))
    add("Gini of customer revenue", "num", ("03", "concentration.gini"))
    add("Revenue share of the top 20 % of customers", "pct", ("03", "concentration.top20_share"))
    _, seg = next(((s, v) for s, v in metrics.items() if s.startswith("03")), (None, {}))
    segments = sorted(((v, k[len("segment."):-len(".customers")]) for k, v in seg.items()
                       if k.startswith("segment.") and k.endswith(".customers")), reverse=True)[:2]
    for size, name in segments:
        add(f"Segment “{name}”", "int", ("03", f"segment.{name}.customers"))
    _, chosen = get("04", "model.chosen")
    if chosen is not None:
        add("CLV model chosen (holdout MAE of purchases)", "", ("04", "model.chosen"), ("04", f"holdout.{chosen}.mae"),
            text=lambda f: f"{f[0][2]} ({_fmt(f[1][2], 'num')})")
        add("CLV model trusted", "", ("04", "model.trusted"), text=lambda f: "yes" if f[0][2] else "no — see 04")
    add("Response model: lift in the top decile", "num", ("04", "response.top_decile_lift"))
    _, camp = next(((s, v) for s, v in metrics.items() if s.startswith("05")), (None, {}))
    ids = sorted(k.split(".")[1] for k in camp if k.startswith("campaign.") and k.endswith(".abs_lift")
                 and all(f"{k}_{end}" in camp for end in ("lo", "hi")))  # evaluated, with an interval
    if ids:
        last = ids[-1]
        add(f"Last campaign ({last}): response lift, 95 % interval", "",
            ("05", f"campaign.{last}.abs_lift"), ("05", f"campaign.{last}.abs_lift_lo"),
            ("05", f"campaign.{last}.abs_lift_hi"),
            text=lambda f: f"{f[0][2]:+.2%} ({f[1][2]:+.2%} to {f[2][2]:+.2%})")
    add("Recommended list (customers)", "int", ("05", "plan.list_size"))
    add("Targeting rule", "", ("05", "plan.rule"))
    add("Expected profit of the list", "money", ("05", "plan.expected_profit"))
    return figures


_STAGE_EXTRAS = {
    "01": [("Rows loaded (transactions)", "int", "rows_loaded.transactions"),
           ("Rows rejected at load", "int", "rejects.rows"),
           ("First order", "", "transactions.first_date"), ("Last order", "", "transactions.last_date")],
    "02": [("Duplicate customer records merged", "int", "customers.merged_records"),
           ("Rows rejected by cleaning", "int", "rejects.clean_rows"),
           ("Revenue the modelling cap removes", "pct", "outliers.revenue_share_removed_by_cap")],
    "04": [("Customers scored", "int", "scores.rows"), ("Total expected CLV", "money", "scores.clv_total")],
    "05": [("Contacted", "int", "plan.contacted"), ("Control group", "int", "plan.control")],
}


def stage_findings(stage: str, stage_metrics: dict) -> str:
    """"What this run found" for one stage's report, in Markdown: its key figures and a few of
    its own (all from the metrics the stage recorded); "" when it recorded none of them."""
    lines = [f"- {f['label']}: **{f['text']}**" for f in key_figures({stage: stage_metrics})]
    for label, kind, name in _STAGE_EXTRAS.get(stage[:2], []):
        if name in stage_metrics:
            lines.append(f"- {label}: **{_fmt(stage_metrics[name], kind)}**")
    return "### What this run found\n\n" + "\n".join(lines) if lines else ""


def stage_warnings(executed: Path) -> list[str]:
    """Warnings an executed notebook raised: its standard-error lines (library warnings are
    logged there; a scheduled run draws no progress bars), in order, each once, with a
    ``…Warning:`` prefix removed."""
    import nbformat  # here, not at import: its JSON-schema stack takes a second to load in every notebook kernel

    try:
        nb = nbformat.read(executed, as_version=4)
    except (OSError, ValueError):
        return []
    seen = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                for line in str(out.get("text", "")).replace("\r", "\n").splitlines():
                    m = _WARNING.match(line)
                    text = (m.group("text") if m else line).strip()
                    if text and "%|" not in text and text not in seen:  # not a progress bar
                        seen.append(text)
    return seen


def _link(name: str | None, label: str) -> str:
    return f'<a href="{html.escape(name)}">{label}</a>' if name else ""


def write_index(run_dir, manifest: dict, metrics: dict) -> Path:
    """Write ``index.html`` into ``run_dir`` (see the module docstring); returns its path."""
    run_dir = Path(run_dir)
    e = html.escape
    rows = []
    for nb in manifest.get("notebooks", []):
        links = " · ".join(x for x in (_link(nb.get("html_nocode"), "report"), _link(nb.get("pdf"), "PDF"),
                                       _link(nb.get("html"), "with code"), _link(nb.get("output"), "notebook"))
                           if x)
        status = nb.get("status", "")
        rows.append(f'<tr class="{e(status)}"><td>{e(Path(nb["notebook"]).stem)}</td><td>{e(status)}</td>'
                    f'<td class="num">{nb.get("duration_s", 0):.1f} s</td><td>{links}</td></tr>')
    figures = []
    for f in key_figures(metrics):
        attrs = " ".join(f'data-metric="{e(s)}/{e(n)}" data-value="{e(json.dumps(v))}"' for s, n, v in f["sources"][:1])
        figures.append(f'<tr><th>{e(f["label"])}</th><td class="num" {attrs}>{e(f["text"])}</td></tr>')
    warnings = []
    for nb in manifest.get("notebooks", []):
        for w in stage_warnings(run_dir / nb["notebook"]):
            warnings.append(f"<li><b>{e(Path(nb['notebook']).stem)}</b>: {e(w)}</li>")
    params = manifest.get("parameters", {})
    shown = {k: (Path(v).name if isinstance(v, str) and os.path.isabs(v) else v)  # no absolute paths
             for k, v in params.items() if k not in {"db_path", "run_name", "interactive"}}
    source = Path(str(manifest.get("source", ""))).name or manifest.get("source", "")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>dbm-workbench run {e(manifest.get("run_name", ""))}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#222}}
table{{border-collapse:collapse;margin:0.5rem 0 1.5rem}}td,th{{padding:0.25rem 0.75rem;border-bottom:1px solid #ddd;text-align:left}}
.num{{text-align:right;font-variant-numeric:tabular-nums}}tr.failed td{{color:#b00}}code{{font-size:0.9em}}</style></head>
<body><h1>Run {e(manifest.get("run_name", ""))}</h1>
<p>Source <b>{e(str(source))}</b> · round {e(str(params.get("round_no", 0)))} · status <b>{e(manifest.get("status", ""))}</b>
· started {e(manifest.get("started", ""))} · {manifest.get("duration_s", 0):.0f} s</p>
<h2>Key figures</h2><table>{"".join(figures) or "<tr><td>no stage recorded key figures</td></tr>"}</table>
<h2>Stages</h2><table><tr><th>stage</th><th>status</th><th>time</th><th>reports</th></tr>{"".join(rows)}</table>
<h2>Warnings</h2>{"<ul>" + "".join(warnings) + "</ul>" if warnings else "<p>No stage raised a warning.</p>"}
<h2>Parameters</h2><table>{"".join(f"<tr><th>{e(k)}</th><td><code>{e(repr(v))}</code></td></tr>" for k, v in sorted(shown.items()))}</table>
<p><a href="manifest.json">manifest.json</a> · <a href="metrics.json">metrics.json</a></p>
</body></html>
"""
    out = run_dir / "index.html"
    atomic_write_text(page, out)
    return out


def update_latest(run_dir) -> Path:
    """Point ``<reports>/latest`` at ``run_dir`` (a relative symbolic link, replaced
    atomically); returns the link."""
    run_dir = Path(run_dir)
    link = run_dir.parent / "latest"
    tmp = run_dir.parent / f".latest.{os.getpid()}"
    tmp.unlink(missing_ok=True)
    os.symlink(run_dir.name, tmp)
    os.replace(tmp, link)
    return link
