"""The ``dbm`` command.

``dbm run``        execute the notebooks into ``reports/<run>/`` (see :mod:`dbmlib.run.pipeline`)
``dbm generate``   write the retail-demo exports to a folder
``dbm load``       load a source into the marketing database without running notebooks
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import yaml

from ..core.errors import InputError, StageError
from ..core.lock import DatabaseBusyError

__all__ = ["main", "parse_params"]


EXIT_CODES = """exit codes:
  0    the run finished; every stage ok
  1    a stage failed (the message names the notebook and the cell; its database changes are undone)
  2    the run was refused before it started: an unknown parameter or stage, bad input, an unusable --db
  3    another run holds the database (use --wait SECONDS)
  130  interrupted (Ctrl-C); the running stage was rolled back, manifest.json says so
"""


def _literal(text: str, declared: str | None = None):
    """The value of ``-p name=text``: the text itself for a parameter the notebooks declare as
    ``str`` (``decimal=,``, ``sheet=2024``, ``date_format=%d/%m/%Y``); otherwise YAML scalar
    rules (``3`` → 3, ``true`` → True, ``null`` → None), and the text itself where YAML cannot
    read it or reads a list or mapping."""
    if declared == "str" or not text.strip():
        return text if declared == "str" else ""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return text if isinstance(value, (list, dict)) else value


def parse_params(pairs: list[str], declared: dict | None = None) -> tuple[dict, dict]:
    """``["seed=1", "01.errors=raise"]`` → (``{"seed": 1}``, ``{"01": {"errors": "raise"}}``).

    ``declared`` maps a stage (``"01"``) to its parameters' declared type names; a value for a
    ``str`` parameter is taken literally (see :func:`_literal`)."""
    declared = declared or {}
    common, per_stage = {}, {}
    for pair in pairs or []:
        if "=" not in pair:
            raise SystemExit(f"dbm: -p expects name=value, got {pair!r}")
        key, value = pair.split("=", 1)
        if "." in key and key.split(".", 1)[0].isdigit():
            stage, name = key.split(".", 1)
            kind = declared.get(stage.zfill(2), {}).get(name)
            per_stage.setdefault(stage.zfill(2), {})[name] = _literal(value, kind)
        else:
            kinds = {types[key] for types in declared.values() if key in types}
            common[key] = _literal(value, "str" if kinds == {"str"} else None)
    return common, per_stage


def _load_config(path) -> dict:
    if not path:
        return {}
    p = Path(path)
    if not p.exists():
        raise SystemExit(f"dbm: config file {p} does not exist")
    data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise SystemExit(f"dbm: {p}: expected a mapping of parameters at the top level")
    allowed = {"source", "run_name", "seed", "stages", "params", "stage_params", "db_path"}
    unknown = set(data) - allowed
    if unknown:
        raise SystemExit(f"dbm: {p}: unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
    return data


def _cmd_run(args) -> int:
    from . import pipeline

    cfg = _load_config(args.config)
    common, per_stage = parse_params(args.param, pipeline.parameter_types(args.notebooks_dir))
    params = dict(cfg.get("params") or {}) | common
    stage_params = {str(k).zfill(2): dict(v) for k, v in (cfg.get("stage_params") or {}).items()}
    for stage, values in per_stage.items():
        stage_params.setdefault(stage, {}).update(values)
    try:
        result = pipeline.run(
            source=args.source or cfg.get("source", "retail-demo"),
            run_name=args.run_name or cfg.get("run_name"),
            seed=args.seed if args.seed is not None else int(cfg.get("seed", 0)),
            stages=args.stages or cfg.get("stages"),
            params=params,
            stage_params=stage_params,
            db_path=args.db or cfg.get("db_path"),
            reports_dir=args.reports_dir,
            notebooks_dir=args.notebooks_dir,
            lock_wait=args.wait,
            loop_round=args.loop_round,
            echo=lambda line: print(line, file=sys.stderr, flush=True),
            pdf=args.pdf,
        )
    except DatabaseBusyError as exc:
        print(f"dbm run: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("dbm run: interrupted (Ctrl-C); the running stage was rolled back, the database is as "
              "it was before it, and manifest.json says so", file=sys.stderr)
        return 130
    except StageError as exc:
        print(f"dbm run: FAILED in {exc}\n  partial notebook kept at {exc.output}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"dbm run: {exc}", file=sys.stderr)
        return 2
    print(f"report: {result.run_dir}")
    return 0


def _cmd_generate(args) -> int:
    from ..demo import CHUNK_CUSTOMERS, make_retail_demo

    out = make_retail_demo(args.out, n_customers=args.n_customers, seed=args.seed,
                           purchase_rate=args.purchase_rate, layout=args.layout,
                           line_format=args.line_format, covariate_effects=args.covariate_effects,
                           chunk_customers=args.chunk_customers or CHUNK_CUSTOMERS)
    print(out)
    return 0


def _cmd_load(args) -> int:
    from ..core.db import connect
    from .sources import load_source

    try:
        with connect(args.db) as con:
            reports = load_source(con, args.source, errors=args.errors, rebuild=not args.append)
    except InputError as exc:
        print(f"dbm load: {exc}", file=sys.stderr)
        return 1
    print(json.dumps([r.as_dict() for r in reports], indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dbm", description="dbm-workbench: database marketing notebooks, run and reported.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXIT_CODES)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="execute the notebooks into reports/<run>/")
    r.add_argument("--source", help="retail-demo (default), cdnow, cdnow-sample or a folder")
    r.add_argument("--run-name", help="report folder name (default: the start time)")
    r.add_argument("--seed", type=int, help="seed for every random step (default 0)")
    r.add_argument("--stages", nargs="+", help="stage numbers to run, e.g. --stages 01 02")
    r.add_argument("--config", help="YAML file with source, run_name, seed, stages, params, "
                   "stage_params")
    r.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a notebook parameter; prefix with the stage for one notebook: 01.errors=raise")
    r.add_argument("--db", help="marketing database file (default: the source's own, "
                   "data/processed/<source>.duckdb)")
    r.add_argument("--round", dest="loop_round", metavar="next",
                   help="play the next round of the campaign loop: load the campaigns written back by "
                   "earlier rounds, measure the last one, plan and write back this round's (default: a "
                   "pristine run that changes nothing for the next one)")
    r.add_argument("--reports-dir", help="where run folders go (default reports/)")
    r.add_argument("--notebooks-dir", help="folder of numbered notebooks (default notebooks/)")
    r.add_argument("--pdf", action="store_true",
                   help="also print each code-hidden report to PDF with the system's Chromium")
    r.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="if another run holds the database, wait this long for it (default: "
                   "stop at once with exit code 3)")
    r.set_defaults(func=_cmd_run)

    g = sub.add_parser("generate", help="write the synthetic retail-demo exports")
    g.add_argument("out", help="output folder")
    g.add_argument("--n-customers", type=int, default=20_000)
    g.add_argument("--purchase-rate", type=float, default=1.0,
                   help="multiply every purchase rate (15: about 10 orders per customer)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--layout", choices=["orders", "lines"], default="orders",
                   help="orders: transactions.csv, one row per order (default); lines: invoice "
                   "lines as a POS / e-commerce system exports them, with mapping.yaml")
    g.add_argument("--line-format", choices=["xlsx", "csv", "csv.gz"], default="xlsx",
                   help="file format of the invoice lines (--layout lines; default xlsx, one "
                   "sheet per year)")
    g.add_argument("--covariate-effects", action="store_true",
                   help="plant acquisition-channel effects on the purchase rate (recorded in _truth/params.json)")
    g.add_argument("--chunk-customers", type=int, metavar="N",
                   help="simulate and write N customers at a time: memory is bounded by the chunk, not the "
                   "company (default 100,000, at least 1,000; a company of at most one chunk is the same either way)")
    g.set_defaults(func=_cmd_generate)

    ld = sub.add_parser("load", help="load a source into the marketing database")
    ld.add_argument("source", help="retail-demo, cdnow, cdnow-sample or a folder")
    ld.add_argument("--db", help="marketing database file")
    ld.add_argument("--errors", choices=["raise", "quarantine"], default="raise")
    ld.add_argument("--append", action="store_true", help="keep what the raw layer holds")
    ld.set_defaults(func=_cmd_load)
    return parser


def main(argv=None) -> int:
    """The ``dbm`` command: parse ``argv`` (default ``sys.argv``), run the sub-command, return
    its exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
