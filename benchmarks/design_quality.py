"""Every plan behind the dig-once figures versus the exact MILP: stand-alone, coalition, joint.

Usage: ``python benchmarks/design_quality.py [--instances 40] [--rows 5 --cols 6] [--terminals 2 4]``

For each random small instance (:func:`connectivity.design.random_problem`: a perturbed
grid priced with the default cost model, 2-4 operators, telecom and power mixed), the
coalition table of the planner (:func:`connectivity.design.plan_coalitions`, linear
objective) is compared plan by plan with the optimum of the multi-commodity-flow MILP
(:func:`connectivity.design.solve_milp`, HiGHS) of the same coalition. Prints, per
instance, the worst plan gap and the dig-once savings error (planner savings minus exact
savings, as a share of the exact savings), then the mean and worst gap by plan kind
(stand-alone, other coalitions, joint) and of the savings error. Linear costs (manholes
per metre, before contingency) throughout: the objective the MILP solves exactly.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from connectivity.design import DesignOptions, plan_coalitions, random_problem, solve_milp


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=40)
    ap.add_argument("--rows", type=int, default=5)
    ap.add_argument("--cols", type=int, default=6)
    ap.add_argument("--terminals", type=int, nargs=2, default=(2, 4))
    ap.add_argument("--seed", type=int, default=5000)
    ap.add_argument("--time-limit", type=float, default=60.0, help="MILP seconds per coalition")
    args = ap.parse_args(argv)
    opts = DesignOptions(objective="linear")
    gaps: dict[str, list[float]] = {"stand-alone": [], "coalition": [], "joint": []}
    sav_err, proven, secs = [], [], []
    print(f"{'inst':>5} {'ops':>3} {'plans':>5} {'worst gap %':>11} {'savings THB':>13} {'exact THB':>13} "
          f"{'sav. err %':>10} {'planner s':>9}")
    for i in range(args.instances):
        seed = args.seed + i
        p = random_problem(seed, n_operators=2 + i % 3, rows=args.rows, cols=args.cols,
                           terminals=tuple(args.terminals))
        t = time.perf_counter()
        table = plan_coalitions(p, options=opts)
        secs.append(time.perf_counter() - t)
        players = table.players
        worst = 0.0
        heur, exact = {}, {}
        for s, plan in table.plans.items():
            ops = sorted(s)
            opt = solve_milp(p, operators=ops, time_limit=args.time_limit)
            proven.append(opt.optimal)
            heur[s], exact[s] = plan.linear_cost, opt.cost
            gap = 100.0 * (plan.linear_cost / opt.cost - 1.0) if opt.cost > 0 else 0.0
            kind = "stand-alone" if len(s) == 1 else ("joint" if len(s) == len(players) else "coalition")
            gaps[kind].append(gap)
            worst = max(worst, gap)
        grand = frozenset(players)
        s_h = sum(heur[frozenset([o])] for o in players) - heur[grand]
        s_x = sum(exact[frozenset([o])] for o in players) - exact[grand]
        err = 100.0 * (s_h - s_x) / s_x if s_x > 0 else 0.0
        sav_err.append(err)
        print(f"{seed:>5} {len(players):>3} {len(table.plans):>5} {worst:>11.3f} {s_h:>13,.0f} {s_x:>13,.0f} "
              f"{err:>10.3f} {secs[-1]:>9.2f}")
    out = {}
    for kind, g in gaps.items():
        g = np.array(g)
        if len(g):
            out[kind] = (float(g.mean()), float(g.max()))
            print(f"{kind:>12}: {len(g):>4} plans, mean gap {g.mean():.3f}%, worst {g.max():.3f}%")
    e = np.abs(np.array(sav_err))
    print(f"savings error (share of exact savings): mean |err| {e.mean():.3f}%, worst {e.max():.3f}%; "
          f"MILP proven optimal on {int(np.sum(proven))}/{len(proven)} plans; planner {np.mean(secs):.2f} s "
          f"per instance (all coalitions)")
    out["savings_error"] = (float(e.mean()), float(e.max()))
    return out


if __name__ == "__main__":
    main()
