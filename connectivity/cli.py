"""Command line: ``connectivity plan|plan-areas|steiner|export|compare``. Parses arguments and calls the library; no logic here."""
from __future__ import annotations

import argparse
import atexit
import functools
import logging
import os
import signal
import sys
import threading
import time
import warnings
from pathlib import Path

from connectivity.errors import LOG_FORMAT, ConfigError, ConnectivityError, log_warning



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
    if args.scheduler:
        from connectivity.areas.run import dask_executor

        with dask_executor(args.scheduler) as executor:
            result = run(scenario, progress=show, executor=executor)
    else:
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


SOME_AREAS_FAILED = 3  # exit code of plan-areas when an area could not be planned (the others were)


def cmd_plan_areas(args: argparse.Namespace) -> int:
    from connectivity.areas import plan_areas

    if args.workers is not None and args.workers < 0:
        raise ConfigError(f"--workers must be 0 (serial) or more, got {args.workers}")
    from connectivity.design.threads import usable_cores

    most = 4 * usable_cores()   # each worker is a process of ~250 MiB: 100000 of them never start
    if args.workers is not None and args.workers > most:
        raise ConfigError(f"--workers {args.workers}: at most {most} (4 per CPU this process may use)")
    if args.serial and args.scheduler:
        raise ConfigError("--serial and --scheduler exclude each other (serial runs in this process)")
    workers = 0 if args.serial else args.workers
    loud = not args.quiet

    def started(line: str) -> None:
        if loud:
            print(line, file=sys.stderr, flush=True)

    def report(r: dict, done: int, total: int) -> None:
        if not loud:
            return
        if r["status"] != "ok":
            what = f"failed: {r['reason']}"
        elif r["skipped"]:
            what = "unchanged, skipped"
        else:
            s = r["summary"] or {}
            what = f"planned, {s.get('trench_length_m', 0) / 1000:.2f} km, {s.get('total_cost', 0) / 1e6:.1f} M THB"
        bar = "#" * round(20 * done / total)
        print(f"[{bar:<20}] {done}/{total} {r['area']}: {what} ({r['seconds']:.1f} s)", file=sys.stderr, flush=True)

    run = plan_areas(args.scenario, args.areas, args.out, name_column=args.name_column, margin_m=args.margin,
                     workers=workers, scheduler=args.scheduler, force=args.force, report=report, started=started)
    if loud:
        ok = len(run.results) - len(run.failed)
        print(f"{ok} of {len(run.results)} areas planned"
              + (f", {len(run.failed)} failed (see areas.csv)" if run.failed else "") + f" -> {args.out}")
    return SOME_AREAS_FAILED if run.failed else 0


def cmd_export(args: argparse.Namespace) -> int:
    from connectivity.export import export

    written = export(args.plan_dir, args.out, fmt=args.format, operator=args.operator)
    if not args.quiet:
        print(f"{len(written)} file(s) written -> {args.out}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from connectivity.report import compare

    written = compare(args.plans, args.out)
    if not args.quiet:
        print(f"{len(written)} file(s) written -> {args.out}")
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse with the house's one-line errors: ``connectivity: error: ...`` and exit 2 (the usage is
    what ``--help`` prints); its sub-command parsers are of this class too."""

    def error(self, message: str):
        self.exit(2, f"connectivity: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="connectivity", description="Plan shared underground cable ducts.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each stage's figures")
    parser.add_argument("--debug", action="store_true",
                        help="show tracebacks of unexpected errors; with -v also log every tree solved")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plan", help="plan the duct network of a scenario TOML")
    p.add_argument("scenario", nargs="?", help="scenario TOML file")
    p.add_argument("--example", metavar="NAME",
                   help="plan an example shipped with the package instead (chiang_mai_nimman)")
    p.add_argument("--out", help="output folder (default: ./maps/<scenario file name>/)")
    for name in ("osm", "roads", "sites", "pois", "buildings", "poles", "lines"):
        p.add_argument(f"--{name}", help=f"override the scenario's inputs.{name} file")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="plan the coalitions on this running Dask cluster (tcp://host:8786); same plan as without")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=cmd_plan)
    a = sub.add_parser("plan-areas", help="plan many areas (provinces, municipalities) of a scenario at once, on Dask")
    a.add_argument("scenario", help="scenario TOML file (inputs and options for every area)")
    a.add_argument("--areas", required=True, help="GeoJSON/GPKG of area polygons with a name column")
    a.add_argument("--name-column", default="name", help="column of the areas file holding the names (default: name)")
    a.add_argument("--out", required=True, help="output folder: one plan folder per area plus the national files")
    a.add_argument("--margin", type=float, default=500.0, metavar="M",
                   help="roads this many metres outside an area are part of it (default: 500)")
    a.add_argument("--scheduler", metavar="ADDRESS", help="address of a running Dask scheduler (tcp://host:8786)")
    a.add_argument("--workers", type=int, metavar="N",
                   help="local Dask cluster of N worker processes (default: one per CPU this process may use; 0 = serially, no Dask)")
    a.add_argument("--serial", action="store_true", help="plan the areas one after the other in this process")
    a.add_argument("--force", action="store_true", help="replan every area, even those unchanged since the last run")
    a.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    a.set_defaults(func=cmd_plan_areas)
    e = sub.add_parser("export", help="export a plan folder for utility partners (GeoJSON, GeoPackage, CSV, Shapefile)")
    e.add_argument("plan_dir", metavar="PLAN_DIR", help="plan folder written by `connectivity plan`")
    e.add_argument("--operator", help="export only this operator (default: every operator)")
    e.add_argument("--format", required=True, choices=("geojson", "gpkg", "csv", "shp"), help="output format")
    e.add_argument("--out", required=True, help="output file (geojson with --operator, gpkg) or folder")
    e.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    e.set_defaults(func=cmd_export)
    c = sub.add_parser("compare", help="headline figures of plan folders side by side (compare.csv, compare.html, compare_map.html)")
    c.add_argument("plans", metavar="PLAN_DIR", nargs="+", help="plan folders written by `connectivity plan`")
    c.add_argument("--out", required=True, help="output folder for compare.csv, compare.html and compare_map.html")
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


def _check_arguments(args: argparse.Namespace) -> None:
    """Arguments no command can use: a NUL character (no file name holds one) or an empty ``--out``."""
    for key, value in vars(args).items():
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, str) and "\x00" in v:
                name = key.upper() if key in ("scenario", "plans", "plan_dir", "file") else f"--{key.replace('_', '-')}"
                raise ConfigError(f"{name} {v!r}: holds a NUL character, not a file name")
    if getattr(args, "out", None) == "":
        raise ConfigError("--out is empty; give an output folder or file")


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


class _LateInterrupt:
    """Ctrl-C (SIGINT) once the command's work is done (the outputs complete, or the error
    known): a note and exit code 130, never a KeyboardInterrupt escaping ``main`` (Python then
    ends itself by SIGINT: exit -2 without a word).

    Run as a program (``argv is None``), the process ends with ``os._exit`` right after the
    ``atexit`` hooks: Python's own teardown (about a second with numba and pandas loaded)
    restores the default SIGINT action, so a Ctrl-C then would still end it with -2.
    """

    def __init__(self, *, program: bool) -> None:
        self.program, self.seen, self.installed, self.code, self.previous = program, False, False, 0, None

    def _handle(self, signum, frame) -> None:
        self.seen = True

    def install(self) -> None:
        if self.installed or threading.current_thread() is not threading.main_thread():
            return
        self.installed = True
        self.previous = signal.signal(signal.SIGINT, self._handle)
        if self.program:
            atexit.register(self._exit)

    def uninstall(self) -> None:
        """Called in-process (not as a program): the caller's SIGINT handler back."""
        if self.installed and not self.program:
            signal.signal(signal.SIGINT, self.previous)
            self.installed = False

    def _exit(self) -> None:  # the last atexit hook to run (registered last)
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130 if self.seen else self.code)


def _open_closed_streams() -> None:
    """A standard output or error the caller closed (``>&-``: ``sys.stdout`` is None) goes to the null
    device: what is printed there is dropped (plans are files), and its descriptor is not handed to
    a file the command opens, where C code's prints (HiGHS's banner) would land."""
    for fd, name in ((1, "stdout"), (2, "stderr")):
        if getattr(sys, name) is None:
            stream = open(os.devnull, "w")  # takes the descriptor fd when it is the lowest one free
            setattr(sys, name, stream)
            try:
                os.fstat(fd)
            except OSError:
                os.dup2(stream.fileno(), fd)


def _drop_stdout() -> None:
    """Point the standard output at the null device after its reader closed it, so that what is
    still buffered is dropped at exit instead of raising the same error again there."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):   # no descriptor to point anywhere: nothing will be flushed
        pass


def main(argv: list[str] | None = None) -> int:
    """Run a command; exit codes: 0 done, 2 bad input or environment (one line), 1 a bug, 130 interrupted."""
    _open_closed_streams()
    parser = build_parser()
    args = parser.parse_args(argv)
    before = set(logging.getLogger().handlers)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format=LOG_FORMAT)
    if not args.verbose:   # libraries that set their own loggers to INFO (Dask's cluster start and stop) stay quiet
        for handler in set(logging.getLogger().handlers) - before:
            handler.setLevel(logging.WARNING)
    if args.debug and args.verbose:  # -v --debug: also the per-solve lines of the engine and the design stage
        logging.getLogger("connectivity").setLevel(logging.DEBUG)
    hold = None if args.verbose else _HoldLogs()
    failed_on_input = False
    late = _LateInterrupt(program=argv is None)
    shown, warnings.showwarning = warnings.showwarning, functools.partial(log_warning, debug=args.debug)
    try:
        _check_arguments(args)
        code = int(args.func(args) or 0)
        late.install()  # the work is done: Ctrl-C from here on only sets the exit code
    except ConnectivityError as exc:
        late.install()
        failed_on_input = True
        print(f"connectivity: error: {exc}", file=sys.stderr)
        code = 2
    except BrokenPipeError as exc:   # whoever reads our output (`| head`) went away: not the input's fault
        late.install()
        failed_on_input = True
        _drop_stdout()
        print(f"connectivity: error: {exc.filename or 'standard output'}: broken pipe (its reader closed it)",
              file=sys.stderr)
        code = 2
    except OSError as exc:
        late.install()
        failed_on_input = True
        where = exc.filename or getattr(args, "out", None) or getattr(args, "file", None) or "output"
        print(f"connectivity: error: {where}: {exc.strerror or exc}", file=sys.stderr)  # e.g. a full disk names --out
        code = 2
    except KeyboardInterrupt:
        late.install()
        print("connectivity: interrupted", file=sys.stderr)
        code = 130
    except Exception as exc:  # a bug: one line, traceback on request
        late.install()
        if args.debug:
            raise
        print(f"connectivity: internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)",
              file=sys.stderr)
        code = 1
    finally:
        late.install()
        warnings.showwarning = shown
        if hold is not None:
            hold.release(emit=not failed_on_input)
    if late.seen and code != 130:
        print("connectivity: interrupted (after the work was done)", file=sys.stderr)
        code = 130
    late.code = code
    late.uninstall()
    return code


if __name__ == "__main__":
    sys.exit(main())
