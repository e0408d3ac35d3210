"""What the certified gap of a joint plan is made of (issue #10: ``gap_pct`` <= 10 %).

Usage::

    python benchmarks/gap_parts.py                         # Chiang Mai example and a 20k-edge town
    python benchmarks/gap_parts.py --towns 20k 100k --steps 18 60 200
    python benchmarks/gap_parts.py --no-towns --scenario data/scenarios/phuket_backbone.toml

For each input the design problem is built with the pipeline's own steps, the joint plan made
(:func:`connectivity.design.plan_joint`), and three figures printed (money before contingency):

``chambers_pct``
    ``cost / linear_cost - 1``: the plan's chambers beyond the per-metre rate of the linear
    objective the planner optimises (one per site, one per junction, and each run's count rounded
    up: ``ceil(l / s) - 1`` inside a run of length ``l``). A bound that charges chambers per
    metre (the Lagrangian and LP bounds here) cannot see this part; it can only see a few
    per-tree constants (see :func:`connectivity.design.bounds._operator_chambers`).
``routing_gap_pct``
    ``linear_cost / routing bound - 1`` with ``--steps`` subgradient steps (the linear
    Lagrangian of :func:`connectivity.design.bounds.lagrangian_bound`): how far the routes are
    from proven optimal, apart from the discrete chambers.
``gap_pct``
    ``cost / certified bound - 1`` (:func:`connectivity.design.certify`, default steps): what
    ``summary.json`` reports.
``ascent_gap_pct``
    ``cost / joint dual ascent - 1``: the part of the certified bound that the joint dual ascent
    over all operators gives alone (:func:`connectivity.design.bounds.joint_ascent` with the
    chamber bound's costs), before any subgradient step.

Towns come from :mod:`benchmarks.towns` (``--towns 20k``: 20,000 road edges, 300 sites;
``100k``: 1,000 sites), written to a temporary folder.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.design_bound import _scenario_problem  # noqa: E402
from benchmarks.towns import make_town  # noqa: E402
from connectivity.design import certify, plan_joint  # noqa: E402
from connectivity.design.bounds import (chambers_bound_applies, joint_ascent, lagrangian_bound,  # noqa: E402
                                        relaxed_costs)

TOWNS = {"20k": (20_000, 300), "100k": (100_000, 1_000)}


def parts(name: str, problem, steps: list[int]) -> None:
    t = time.perf_counter()
    plan = plan_joint(problem)
    t_plan = time.perf_counter() - t
    t = time.perf_counter()
    cert = certify(problem, plan)
    t_cert = time.perf_counter() - t
    chambers = 100 * (plan.cost / plan.linear_cost - 1)
    gap = 100 * (plan.cost / cert.value - 1)
    act = [k for k in range(problem.n_operators) if problem.active(k)]
    t = time.perf_counter()
    ascent = float("nan")   # the chamber bound's costs hold only without required edges or existing ducts
    if chambers_bound_applies(problem, act):
        T, own, const = relaxed_costs(problem, act, "chambers")
        ascent = joint_ascent(problem, act, own, T)[0] + const
    t_ascent = time.perf_counter() - t
    routing = []
    for n in steps:
        t = time.perf_counter()
        lb = lagrangian_bound(problem, plan=plan, objective="linear", iterations=n)
        routing.append(f"{n}: {100 * (plan.linear_cost / lb - 1):.2f} % ({time.perf_counter() - t:.1f} s)")
    print(f"{name:>10} {problem.n_edges:>8,} {plan.cost / 1e6:>10.2f} {plan.linear_cost / 1e6:>10.2f} "
          f"{chambers:>12.2f} {gap:>8.2f} {100 * (plan.cost / ascent - 1):>15.2f}  plan {t_plan:.1f} s, "
          f"certify {t_cert:.1f} s, ascent {t_ascent:.1f} s; routing_gap_pct by steps: "
          + ", ".join(routing), flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=None, help="scenario TOML (default: the packaged Chiang Mai example)")
    ap.add_argument("--no-scenario", action="store_true")
    ap.add_argument("--towns", nargs="*", default=["20k"], choices=sorted(TOWNS))
    ap.add_argument("--no-towns", action="store_true")
    ap.add_argument("--steps", nargs="+", type=int, default=[18, 60], help="subgradient steps of the routing bound")
    args = ap.parse_args(argv)
    print(f"{'input':>10} {'edges':>8} {'cost_M':>10} {'linear_M':>10} {'chambers_pct':>12} {'gap_pct':>8} "
          f"{'ascent_gap_pct':>15}")
    if not args.no_scenario:
        from connectivity.config import example_scenario

        path = Path(args.scenario) if args.scenario else example_scenario("chiang_mai_nimman")
        parts(path.stem if args.scenario else "cm", _scenario_problem(path), args.steps)
    if not args.no_towns:
        with tempfile.TemporaryDirectory() as tmp:
            for name in args.towns:
                edges, sites = TOWNS[name]
                scenario = make_town(Path(tmp) / name, edges_target=edges, n_sites=sites)
                parts(name, _scenario_problem(scenario), args.steps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
