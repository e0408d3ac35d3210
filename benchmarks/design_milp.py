"""Joint design heuristic versus exact MILP optima on small random instances.

Usage: ``python benchmarks/design_milp.py [--instances 20] [--rows 5 --cols 6] [--terminals 2 4]``

Each instance is a perturbed grid priced with the default cost model (random road classes,
surfaces, bridges), with 2-5 operators (telecom and power mixed) of random duct counts and
sites. The heuristic (:func:`connectivity.design.plan_joint`, linear objective) is compared
with the optimum of the multi-commodity-flow MILP (:func:`connectivity.design.solve_milp`,
HiGHS). Prints one line per instance and the mean gap.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from connectivity.design import DesignOptions, lower_bound, plan_joint, random_problem, solve_milp


def main(argv=None) -> float:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=20)
    ap.add_argument("--rows", type=int, default=5)
    ap.add_argument("--cols", type=int, default=6)
    ap.add_argument("--terminals", type=int, nargs=2, default=(2, 4))
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--time-limit", type=float, default=120.0, help="MILP seconds per instance")
    args = ap.parse_args(argv)
    print(f"{'inst':>5} {'ops':>3} {'kinds':>6} {'nodes':>5} {'edges':>5} {'terms':>5} "
          f"{'heuristic THB':>14} {'MILP THB':>14} {'opt':>4} {'gap %':>7} {'LB/MILP':>7} {'heur s':>7} {'MILP s':>7}")
    gaps, ht, mt = [], [], []
    for i in range(args.instances):
        seed = args.seed + i
        p = random_problem(seed, n_operators=2 + i % 4, rows=args.rows, cols=args.cols,
                           terminals=tuple(args.terminals))
        t = time.perf_counter()
        plan = plan_joint(p, options=DesignOptions(objective="linear"))
        ht.append(time.perf_counter() - t)
        t = time.perf_counter()
        exact = solve_milp(p, time_limit=args.time_limit)
        mt.append(time.perf_counter() - t)
        gap = 100.0 * (plan.linear_cost / exact.cost - 1.0)
        gaps.append(gap)
        lb = lower_bound(p)
        kinds = "".join("T" if k == "telecom" else "P" for k in p.kinds)
        print(f"{seed:>5} {p.n_operators:>3} {kinds:>6} {p.n_nodes:>5} {p.n_edges:>5} "
              f"{sum(len(t) for t in p.terminals):>5} {plan.linear_cost:>14,.0f} {exact.cost:>14,.0f} "
              f"{'yes' if exact.optimal else 'no':>4} {gap:>7.3f} {lb / exact.cost:>7.3f} {ht[-1]:>7.2f} {mt[-1]:>7.2f}")
    print(f"mean gap {np.mean(gaps):.3f}% (max {np.max(gaps):.3f}%, {sum(g <= 1e-6 for g in gaps)}/{len(gaps)} optimal) "
          f"over {len(gaps)} instances; heuristic {np.mean(ht):.2f} s, MILP {np.mean(mt):.2f} s on average")
    return float(np.mean(gaps))


if __name__ == "__main__":
    main()
