"""How far the engine's Steiner lower bound (dual ascent) is from the LP optimum (issue #10).

For each operator of an input, alone (its stand-alone weights: trench of its group, ducts,
manholes per metre, THB per edge), three figures:

``tree``
    the engine's best tree in quality mode (``time_limit`` 10 s): an upper bound;
``LP``
    the optimum of the multi-commodity flow LP (one unit of flow from the root to every other
    terminal, each arc's flow at most its capacity variable; the same value as the bidirected cut
    LP), solved by HiGHS (interior point, no crossover): the best a cut-based bound can give;
``DA``
    the engine's dual-ascent bound of that solve, the bound every Lagrangian step of
    :mod:`connectivity.design.bounds` uses.

Printed: each as M THB, and ``tree / LP - 1`` and ``tree / DA - 1`` in percent. Where the first
is small and the second large, the trees are near optimal and the certified gap is lost in the
dual ascent, not in the plan.

The flow LP has (terminals - 1) x (2 x edges) flow variables: seconds on Chiang Mai, about
10 minutes per operator of the 5k town on 2 cores; larger inputs do not fit.

Usage::

    python benchmarks/steiner_lp.py                      # Chiang Mai, PEA
    python benchmarks/steiner_lp.py --town 5k --operators PEA TOT

Runs of 2026-11-27 (tenth session; HiGHS 1.16.0 through highspy, 2 cores; the 5k rows from the
same instance, seed 0, run one operator at a time)::

    input  operator terminals   tree_M     LP_M     DA_M  tree/LP-1  tree/DA-1   LP_s
        cm       PEA        27   44.258   44.246   43.393     0.03 %     1.99 %     38
        5k       PEA        24  126.647  125.773  122.491     0.69 %     3.39 %    606
        5k       TOT        22   56.089   56.068   54.260     0.04 %     3.37 %    293

The trees are within 0.7 % of the LP (so of the optimum), the dual ascent 2 to 3.4 % below
it: on towns the per-operator bound, not the plan, holds the certified gap up. A bound nearer
the LP (the cut LP warm-started from the dual ascent's cuts, as SCIP-Jack does) is the lever.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.design_bound import _scenario_problem  # noqa: E402
from benchmarks.towns import make_town  # noqa: E402
from connectivity import steiner  # noqa: E402
from connectivity.design.problem import standalone_weights  # noqa: E402

CHIANG_MAI = HERE.parent / "data" / "scenarios" / "chiang_mai_nimman.toml"
TOWNS = {"5k": (5_000, 70), "10k": (10_000, 150)}


def flow_lp(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray, terminals: np.ndarray,
            time_limit: float) -> tuple[float, str]:
    """Optimum (unit of ``w``) and HiGHS status of the multi-commodity flow LP of the Steiner tree
    on nodes ``0..n-1``, edges ``u-v`` of weight ``w``, joining ``terminals``."""
    import highspy
    from scipy.sparse import coo_matrix

    tail, head = np.concatenate([u, v]), np.concatenate([v, u])
    n_arcs = len(tail)
    root, others = int(terminals[0]), terminals[1:]
    arcs = np.arange(n_arcs)
    rows, cols, vals, lower, upper = [], [], [], [], []
    r = 0
    for c, t in enumerate(others):
        flow = n_arcs * (c + 1) + arcs
        rows += [r + head, r + tail]            # in - out = 1 at t, -1 at the root, 0 elsewhere
        cols += [flow, flow]
        vals += [np.ones(n_arcs), -np.ones(n_arcs)]
        b = np.zeros(n)
        b[t], b[root] = 1.0, -1.0
        lower.append(b)
        upper.append(b)
        r += n
        rows += [r + arcs, r + arcs]            # flow <= capacity
        cols += [flow, arcs]
        vals += [np.ones(n_arcs), -np.ones(n_arcs)]
        lower.append(np.full(n_arcs, -np.inf))
        upper.append(np.zeros(n_arcs))
        r += n_arcs
    n_vars = n_arcs * (len(others) + 1)
    matrix = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                        shape=(r, n_vars)).tocsc()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_vars, r
    lp.col_cost_ = np.concatenate([w, w, np.zeros(n_vars - n_arcs)])
    lp.col_lower_, lp.col_upper_ = np.zeros(n_vars), np.ones(n_vars)
    lp.row_lower_, lp.row_upper_ = np.concatenate(lower), np.concatenate(upper)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = matrix.indptr, matrix.indices, matrix.data
    h = highspy.Highs()
    for key, value in (("output_flag", False), ("solver", "ipm"), ("run_crossover", "off"),
                       ("time_limit", float(time_limit))):
        h.setOptionValue(key, value)
    h.passModel(lp)
    h.run()
    return float(h.getInfo().objective_function_value), h.modelStatusToString(h.getModelStatus())


def rows(name: str, problem, operators: list[str], time_limit: float) -> None:
    keep = problem.u != problem.v
    for op in operators:
        k = problem.index(op)
        if not problem.active(k):
            continue
        w = standalone_weights(problem, k)[keep] / 1e6   # M THB
        u, v = problem.u[keep], problem.v[keep]
        terms = np.unique(problem.terminals[k])
        tree = steiner.solve(problem.n_nodes, u, v, w, terms, quality=True, time_limit=10)
        t = time.perf_counter()
        lp, status = flow_lp(problem.n_nodes, u, v, w, terms, time_limit)
        secs = time.perf_counter() - t
        note = "" if status == "Optimal" else f"  ({status}: not a bound)"
        print(f"{name:>6} {op:>9} {len(terms):>9} {tree.cost:8.3f} {lp:8.3f} {tree.lower_bound:8.3f} "
              f"{100 * (tree.cost / lp - 1):8.2f} % {100 * (tree.cost / tree.lower_bound - 1):8.2f} % {secs:6.0f}{note}",
              flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--town", choices=sorted(TOWNS), help="a synthetic town instead of Chiang Mai")
    ap.add_argument("--operators", nargs="+", default=["PEA"])
    ap.add_argument("--time-limit", type=float, default=1800.0, help="seconds per LP")
    args = ap.parse_args(argv)
    print("input  operator terminals   tree_M     LP_M     DA_M  tree/LP-1  tree/DA-1   LP_s", flush=True)
    if args.town is None:
        rows("cm", _scenario_problem(CHIANG_MAI), args.operators, args.time_limit)
        return 0
    edges, sites = TOWNS[args.town]
    with tempfile.TemporaryDirectory() as tmp:
        problem = _scenario_problem(make_town(Path(tmp) / "town", edges_target=edges, n_sites=sites))
    rows(args.town, problem, args.operators, args.time_limit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
