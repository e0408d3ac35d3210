"""Command line: ``connectivity plan|steiner|export``. Parses arguments and calls the library; no logic here."""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from connectivity.errors import ConfigError, ConnectivityError



def _progress_printer(enabled: bool):
    from connectivity.pipeline import STAGES

    started = time.perf_counter()

    def show(stage: str) -> None:
        if enabled:
            step = f"[{STAGES.index(stage) + 1}/{len(STAGES)}]" if stage in STAGES else "      "  # a step within a stage
            print(f"{step} {stage} ({time.perf_counter() - started:.1f} s)", file=sys.stderr, flush=True)

    return show


def cmd_plan(args: argparse.Namespace) -> int:
    from connectivity.config import example_scenario, load_scenario
    from connectivity.pipeline import check_output, run, write_outputs

    overrides = {k: getattr(args, k) for k in ("osm", "roads", "sites", "pois", "buildings", "poles", "lines")
                 if getattr(args, k) is not None}
    if (args.scenario is None) == (args.example is None):
        raise ConfigError("give a scenario TOML or --example NAME (one of them)")
    path = Path(args.scenario) if args.scenario else example_scenario(args.example)
    scenario = load_scenario(path, **overrides)
    out = Path(args.out) if args.out else Path.cwd() / "maps" / (args.example or path.stem)
    check_output(scenario, out)  # before any work: never replace an input or unrelated files
    show = _progress_printer(not args.quiet and sys.stderr.isatty())
    result = run(scenario, progress=show)
    show("write")
    write_outputs(result, out)
    s = result.summary
    if not args.quiet:
        print(f"{scenario.name}: {s['sites_connected']} of {s['sites_total']} sites connected, "
              f"{s['trench_length_m'] / 1000:.2f} km of trench, {result.timings.get('seconds', 0.0):.1f} s -> {out}")
        if "corridors" in s:
            c = s["corridors"]
            print(f"corridors: {c['streets']} streets, {c['km']:.2f} km underground, {c['buildings_reconnected']} "
                  f"buildings reconnected, {c['poles_removed']} of {c['poles_on_corridor']} poles on the corridor "
                  f"removed, {c['spans_removed_km']:.2f} km of spans removed")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from connectivity.export import export

    written = export(args.plan_dir, args.out, fmt=args.format, operator=args.operator)
    if not args.quiet:
        print(f"{len(written)} file(s) written -> {args.out}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from connectivity.economics import compare

    written = compare(args.plans, args.out)
    if not args.quiet:
        print(f"{len(written)} file(s) written -> {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="connectivity", description="Plan shared underground cable ducts.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plan", help="plan the duct network of a scenario TOML")
    p.add_argument("scenario", nargs="?", help="scenario TOML file")
    p.add_argument("--example", metavar="NAME",
                   help="plan an example shipped with the package instead (chiang_mai_nimman)")
    p.add_argument("--out", help="output folder (default: ./maps/<scenario file name>/)")
    for name in ("osm", "roads", "sites", "pois", "buildings", "poles", "lines"):
        p.add_argument(f"--{name}", help=f"override the scenario's inputs.{name} file")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=cmd_plan)
    e = sub.add_parser("export", help="export a plan folder for utility partners (GeoJSON, GeoPackage, CSV, Shapefile)")
    e.add_argument("plan_dir", metavar="PLAN_DIR", help="plan folder written by `connectivity plan`")
    e.add_argument("--operator", help="export only this operator (default: every operator)")
    e.add_argument("--format", required=True, choices=("geojson", "gpkg", "csv", "shp"), help="output format")
    e.add_argument("--out", required=True, help="output file (geojson with --operator, gpkg) or folder")
    e.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    e.set_defaults(func=cmd_export)
    c = sub.add_parser("compare", help="headline figures of plan folders side by side (compare.csv, compare.html)")
    c.add_argument("plans", metavar="PLAN_DIR", nargs="+", help="plan folders written by `connectivity plan`")
    c.add_argument("--out", required=True, help="output folder for compare.csv and compare.html")
    c.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    c.set_defaults(func=cmd_compare)
    try:
        from connectivity.steiner import cli as steiner_cli
    except ImportError:
        steiner_cli = None
    if steiner_cli is not None:
        steiner_cli.add_parser(sub)
        sub.choices["steiner"].set_defaults(func=steiner_cli.run)
    return parser


class _HoldLogs:
    """Holds log records back from the handlers until the command ends, so that a command
    failing on bad input prints its one error line only (the warnings that led to it are
    dropped); otherwise they are printed when the command ends. Not used with --verbose."""

    class _Hold(logging.Filter):
        def __init__(self, handler: logging.Handler, held: list) -> None:
            super().__init__()
            self.handler, self.held = handler, held

        def filter(self, record: logging.LogRecord) -> bool:
            self.held.append((self.handler, record))
            return False

    def __init__(self) -> None:
        self.held: list[tuple[logging.Handler, logging.LogRecord]] = []
        self.filters = [(h, self._Hold(h, self.held)) for h in logging.getLogger().handlers]
        for h, f in self.filters:
            h.addFilter(f)

    def release(self, *, emit: bool) -> None:
        for h, f in self.filters:
            h.removeFilter(f)
        if emit:
            for h, record in self.held:
                h.handle(record)
        self.held.clear()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="connectivity: %(levelname)s: %(message)s")
    hold = None if args.verbose else _HoldLogs()
    failed_on_input = False
    try:
        return int(args.func(args) or 0)
    except ConnectivityError as exc:
        failed_on_input = True
        print(f"connectivity: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        failed_on_input = True
        where = exc.filename or getattr(args, "out", None) or getattr(args, "file", None) or "output"
        print(f"connectivity: error: {where}: {exc.strerror or exc}", file=sys.stderr)  # e.g. a full disk names --out
        return 2
    except KeyboardInterrupt:
        print("connectivity: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line, traceback on request
        if args.debug:
            raise
        print(f"connectivity: internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)",
              file=sys.stderr)
        return 1
    finally:
        if hold is not None:
            hold.release(emit=not failed_on_input)


if __name__ == "__main__":
    sys.exit(main())
