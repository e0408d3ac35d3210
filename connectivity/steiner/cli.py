"""``connectivity steiner FILE`` subcommand: solve one instance file, print JSON."""

from __future__ import annotations

import argparse
import json
import logging
import math

from connectivity.errors import ConfigError, ConnectivityError, InputDataError

logger = logging.getLogger(__name__)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``steiner`` subcommand to an argparse ``subparsers`` object.

    Parameters
    ----------
    subparsers
        The object returned by ``ArgumentParser.add_subparsers()``.

    Returns
    -------
    argparse.ArgumentParser
        The new subcommand parser (its ``func`` default is :func:`run`).
    """
    p = subparsers.add_parser(
        "steiner",
        help="solve a Steiner tree instance (.stp / .gr) and print JSON",
        description="Solve a SteinLib .stp or PACE 2018 .gr Steiner tree instance; print one JSON object.",
    )
    _add_arguments(p)
    p.set_defaults(func=run)
    return p


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="instance file (.stp or .gr)")
    p.add_argument("--time-limit", type=float, default=None, metavar="S",
                   help="wall-clock limit in seconds (quality mode: 60 when not given)")
    p.add_argument("--quality", action="store_true", help="keep improving until the time limit")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--bound-roots", type=int, default=1, metavar="N",
                   help="dual ascents from N terminals, the best bound kept (default 1)")
    p.add_argument("--tighten", type=int, default=0, metavar="R",
                   help="rounds of reduced-cost fixing to raise the lower bound (default 0)")


def run(args: argparse.Namespace) -> int:
    """Solve ``args.file`` and print the JSON summary.

    Parameters
    ----------
    args : argparse.Namespace
        With ``file``, ``time_limit``, ``quality``, ``seed``, ``bound_roots`` and ``tighten``.

    Returns
    -------
    int
        Exit code (0).

    Raises
    ------
    InputDataError
        If the file is missing or malformed.
    InfeasibleError
        If the terminals are not connected.
    """
    from connectivity.steiner import read_instance, solve
    from connectivity.steiner.instance import check_connected

    limit = args.time_limit
    if limit is not None and not 0 < limit < math.inf:  # argparse's float() takes -1, nan and inf
        raise ConfigError(f"--time-limit must be a positive number of seconds, got {limit!r}")
    roots, rounds = getattr(args, "bound_roots", 1), getattr(args, "tighten", 0)
    if roots < 1 or rounds < 0:
        raise ConfigError(f"--bound-roots must be >= 1 and --tighten >= 0, got {roots} and {rounds}")
    inst = read_instance(args.file)
    check_connected(inst, args.file)  # the file's name and 1-based ids in the message
    res = solve(inst.n_nodes, inst.edges_u, inst.edges_v, inst.weights, inst.terminals,
                time_limit=limit, quality=args.quality, seed=getattr(args, "seed", 0), bound_roots=roots,
                tighten=rounds)
    gap = res.gap
    out = {
        "instance": inst.name,
        "nodes": inst.n_nodes,
        "edges": int(len(inst.edges_u)),
        "terminals": int(len(inst.terminals)),
        "cost": _num(res.cost),
        "lower_bound": _num(res.lower_bound),
        "gap_pct": round(100.0 * gap, 4) if gap != float("inf") else None,
        "seconds": round(res.seconds, 4),
    }
    if not all(math.isfinite(v) for v in (res.cost, res.lower_bound)):  # never print Infinity/NaN
        raise InputDataError(f"{args.file}: the tree's cost or bound is not a finite number "
                             "(edge weights too large); scale the weights down")
    print(json.dumps(out, allow_nan=False))
    return 0


def _num(x: float) -> float | int:
    """Integral floats print as integers (SteinLib weights are integers)."""
    return int(x) if float(x).is_integer() and abs(x) < 2**53 else float(x)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m connectivity.steiner``."""
    import sys

    p = argparse.ArgumentParser(prog="python -m connectivity.steiner",
                                description="Solve a Steiner tree instance and print JSON.")
    _add_arguments(p)
    args = p.parse_args(argv)
    try:
        return run(args)
    except ConnectivityError as exc:
        print(f"connectivity: error: {exc}", file=sys.stderr)
        return 2
