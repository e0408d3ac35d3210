"""Certified lower bounds of the joint design: the former bound against :func:`certify`.

Usage: ``python benchmarks/design_bound.py [--instances 8] [--scenario S.toml] [--no-scenario]``

For a scenario (default: the packaged Chiang Mai example; its design problem built with the
pipeline's own steps) and small random
instances: the former bound (:func:`lower_bound`), the new certified bound, the plan's
exact cost, the certified gaps ``plan / bound - 1`` (old and new), seconds and method.
All money before contingency.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from connectivity.design import DesignOptions, lower_bound, plan_joint, random_problem
from connectivity.design.bounds import certify


def _scenario_problem(scenario_path: Path):
    """The design problem ``pipeline.design_stage`` builds for a scenario (the stages before it, then
    :func:`connectivity.pipeline.design_problem`)."""
    from connectivity import network, pipeline, plan
    from connectivity.config import load_scenario

    scenario = load_scenario(scenario_path)
    opts = scenario.options
    layers = pipeline.load_layers(scenario)
    tolerance = None if layers.roads_noded else opts.node_tolerance_m
    net = network.roads_network(layers.roads, crs=opts.crs, tolerance_m=tolerance)
    sites = pipeline.scenario_sites(scenario, layers, net.crs)
    net, attached = network.attach_sites(net, sites, max_distance_m=opts.max_site_distance_m,
                                         merge_m=opts.site_merge_m)
    reachable = plan.reachable_terminals(net, attached)
    lines = layers.lines.to_crs(net.crs) if len(layers.lines) else None
    poles = layers.poles.to_crs(net.crs) if len(layers.poles) else None
    return pipeline.design_problem(scenario, net, attached, reachable, lines=lines, poles=poles).problem


def row(name, problem, time_limit):
    t = time.perf_counter()
    plan = plan_joint(problem, options=DesignOptions(time_limit=time_limit))
    t_plan = time.perf_counter() - t
    t = time.perf_counter()
    old = lower_bound(problem, plan=plan, time_limit=time_limit)
    t_old = time.perf_counter() - t
    new = certify(problem, plan, time_limit=time_limit)
    f = problem.contingency_factor
    print(f"{name:>12} {problem.n_edges:>6} {sum(len(t) for t in problem.terminals):>5} "
          f"{plan.cost * f:>14,.0f} {old * f:>14,.0f} {new.value * f:>14,.0f} "
          f"{100 * (plan.cost / old - 1):>7.2f} {100 * (plan.cost / new.value - 1):>7.2f} "
          f"{t_plan:>6.1f} {t_old:>6.1f} {new.seconds:>6.1f}  {new.method}")
    return plan.cost / new.value - 1


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=8)
    ap.add_argument("--seed", type=int, default=2000)
    ap.add_argument("--scenario", default=None, help="scenario TOML (default: the packaged Chiang Mai example)")
    ap.add_argument("--no-scenario", action="store_true", help="random instances only")
    ap.add_argument("--time-limit", type=float, default=60.0)
    args = ap.parse_args(argv)
    print("THB incl. contingency; gaps certified: plan / bound - 1")
    print(f"{'instance':>12} {'edges':>6} {'terms':>5} {'plan':>14} {'old bound':>14} {'new bound':>14} "
          f"{'old %':>7} {'new %':>7} {'plan s':>6} {'old s':>6} {'new s':>6}  method")
    if not args.no_scenario:
        from connectivity.config import example_scenario

        path = Path(args.scenario) if args.scenario else example_scenario("chiang_mai_nimman")
        row(path.parent.name if path.name == "scenario.toml" else path.stem, _scenario_problem(path), args.time_limit)
    for i in range(args.instances):
        seed = args.seed + i
        p = random_problem(seed, n_operators=2 + i % 3, rows=5 + i % 3, cols=6, terminals=(2, 4 + i % 3))
        row(f"random {seed}", p, args.time_limit)


if __name__ == "__main__":
    main()
