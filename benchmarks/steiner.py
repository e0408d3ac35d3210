"""Benchmark of the Steiner engine against rustworkx and networkx (Mehlhorn).

Usage::

    python benchmarks/steiner.py [--data DIR] [--category road] [--only NAME]
                                 [--quality] [--time-limit S] [--no-peers]
                                 [--bound-roots N] [--tighten R]
    python benchmarks/steiner.py --scale [--scale-edges 1000000] [--scale-terminals 1000]

Per instance it prints our cost, gap to the optimum, certified gap
(cost / lower_bound - 1) and seconds, and the same for the peers run in the
same process; then means per category and overall (gap to optimum only over
rows with ``opt_status=optimal``). ``--scale`` generates a seeded road-like
graph (perturbed grid with random removals), solves it and prints seconds and
peak RSS.
"""

from __future__ import annotations

import argparse
import csv
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

# benchmark the checkout this file lives in, not whatever copy is installed
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectivity.steiner import read_instance, solve  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "steiner"
NX_MAX_EDGES = 50_000


def tree_ok(n, eu, ev, w, terms, edges, cost) -> bool:
    """True when ``edges`` form a tree spanning ``terms`` whose weight is ``cost``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    edges = np.asarray(edges, dtype=np.int64)
    if len(terms) < 2:
        return len(edges) == 0
    if not np.isclose(cost, w[edges].sum(), rtol=1e-9):
        return False
    u, v = eu[edges], ev[edges]
    nodes = np.unique(np.concatenate((u, v, terms)))
    if len(edges) != len(nodes) - 1:
        return False
    a, b = np.searchsorted(nodes, u), np.searchsorted(nodes, v)
    mat = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(nodes), len(nodes)))
    return connected_components(mat, directed=False)[0] == 1


def run_rustworkx(inst):
    import rustworkx as rx

    g = rx.PyGraph(multigraph=True)
    g.add_nodes_from(range(inst.n_nodes))
    g.add_edges_from(list(zip(inst.edges_u.tolist(), inst.edges_v.tolist(), inst.weights.tolist())))
    t0 = time.perf_counter()
    tree = rx.steiner_tree(g, inst.terminals.tolist(), weight_fn=float)
    secs = time.perf_counter() - t0
    return float(sum(tree.edges())), secs


def run_networkx(inst):
    import networkx as nx
    from networkx.algorithms.approximation import steiner_tree

    g = nx.Graph()
    g.add_nodes_from(range(inst.n_nodes))
    for u, v, w in zip(inst.edges_u.tolist(), inst.edges_v.tolist(), inst.weights.tolist()):
        if u != v and (not g.has_edge(u, v) or g[u][v]["weight"] > w):
            g.add_edge(u, v, weight=w)
    comp = nx.node_connected_component(g, int(inst.terminals[0]))
    g = g.subgraph(comp).copy()
    t0 = time.perf_counter()
    tree = steiner_tree(g, inst.terminals.tolist(), weight="weight", method="mehlhorn")
    secs = time.perf_counter() - t0
    return float(tree.size(weight="weight")), secs


def pct(x):
    return "-" if x is None or not np.isfinite(x) else f"{100 * x:7.3f}"


def fmt_s(x):
    return "-" if x is None else f"{x:7.2f}"


def _components(n, u, v, w) -> np.ndarray:
    """Component label of every node (the engine's helper; older checkouts had a numba one on CSR)."""
    try:
        from connectivity.steiner.graph import component_labels
        return component_labels(n, u, v)
    except ImportError:
        from connectivity.steiner.graph import build_csr
        from connectivity.steiner.paths import component_labels as on_csr
        g = build_csr(n, u, v, w)
        return on_csr(g.indptr, g.head)


def warm_up() -> None:
    """Load (or compile) every numba kernel once, so the first instance is not charged for it."""
    n, u, v, w, terms = road_like(2_000, 30, seed=1)
    comp = _components(n, u, v, w)
    terms = terms[comp[terms] == comp[terms[0]]]
    solve(n, u, v, w, terms)
    try:  # options of newer engines; older checkouts ignore them
        first = solve(n, u, v, w, terms[:10], bound=False)
        solve(n, u, v, w, terms, initial=first.edges, fixed_edges=first.edges[:1])
    except TypeError:
        pass


def bench_instances(args) -> int:
    data = Path(args.data)
    rows = list(csv.DictReader(open(data / "instances.csv", newline="")))
    if args.category:
        rows = [r for r in rows if args.category in r["category"]]
    if args.only:
        rows = [r for r in rows if r["instance"] in args.only.split(",")]
    header = (f"{'instance':24s} {'category':22s} {'edges':>7s} {'optimum':>12s} | {'cost':>12s} {'gap%':>7s} "
              f"{'cert%':>7s} {'sec':>7s} {'cpu s':>7s} ok | {'rx gap%':>7s} {'rx sec':>7s} | {'nx gap%':>7s} {'nx sec':>7s}")
    t0 = time.perf_counter()
    warm_up()
    print(f"numba warm-up (cache load or compile): {time.perf_counter() - t0:.2f} s")
    print(header)
    print("-" * len(header))
    stats = defaultdict(lambda: defaultdict(list))
    worse_than_rx = []
    invalid = []
    for r in rows:
        inst = read_instance(data / r["file"])
        opt = float(r["optimum"])
        optimal = r["opt_status"] == "optimal"
        cpu0 = time.process_time()
        res = solve(inst.n_nodes, inst.edges_u, inst.edges_v, inst.weights, inst.terminals,
                    time_limit=args.time_limit, quality=args.quality, seed=0, bound_roots=args.bound_roots,
                    tighten=args.tighten)
        cpu = time.process_time() - cpu0
        ok = tree_ok(inst.n_nodes, inst.edges_u, inst.edges_v, inst.weights, inst.terminals, res.edges, res.cost)
        if not ok:
            invalid.append(r["instance"])
        gap = res.cost / opt - 1 if opt > 0 else 0.0
        rx_gap = rx_s = nx_gap = nx_s = None
        if not args.no_peers:
            rx_cost, rx_s = run_rustworkx(inst)
            rx_gap = rx_cost / opt - 1 if opt > 0 else 0.0
            if rx_cost < res.cost - 1e-9 * max(1.0, rx_cost):
                worse_than_rx.append(r["instance"])
            if len(inst.edges_u) <= NX_MAX_EDGES:
                nx_cost, nx_s = run_networkx(inst)
                nx_gap = nx_cost / opt - 1 if opt > 0 else 0.0
        print(f"{r['instance']:24s} {r['category']:22s} {len(inst.edges_u):7d} {opt:12.0f} | {res.cost:12.0f} "
              f"{pct(gap if optimal else None)} {pct(res.gap)} {fmt_s(res.seconds)} {fmt_s(cpu)} {'y' if ok else 'N'}  | "
              f"{pct(rx_gap if optimal else None)} {fmt_s(rx_s)} | {pct(nx_gap if optimal else None)} {fmt_s(nx_s)}",
              flush=True)
        for key in (r["category"], "ALL"):
            s = stats[key]
            if optimal:
                s["gap"].append(gap)
                if rx_gap is not None:
                    s["rx_gap"].append(rx_gap)
            s["cert"].append(res.gap)
            s["sec"].append(res.seconds)
            s["sec_per_100k"].append(res.seconds / max(len(inst.edges_u), 1) * 1e5)
            s["cpu_per_100k"].append(cpu / max(len(inst.edges_u), 1) * 1e5)
            if rx_s is not None:
                s["rx_sec"].append(rx_s)
    print()
    print(f"{'category':22s} {'n':>3s} {'mean gap%':>9s} {'max gap%':>9s} {'mean cert%':>10s} {'mean sec':>8s} "
          f"{'max s/100k':>10s} {'max cpu/100k':>12s} {'rx mean gap%':>12s} {'rx mean sec':>11s}")
    for key in sorted(stats, key=lambda k: (k == "ALL", k)):
        s = stats[key]
        g = np.array(s["gap"]) if s["gap"] else np.array([np.nan])
        rxg = np.mean(s["rx_gap"]) if s["rx_gap"] else None
        rxs = np.mean(s["rx_sec"]) if s["rx_sec"] else None
        print(f"{key:22s} {len(s['sec']):3d} {pct(np.mean(g)):>9s} {pct(np.max(g)):>9s} "
              f"{pct(np.mean(s['cert'])):>10s} {np.mean(s['sec']):8.2f} {np.max(s['sec_per_100k']):10.2f} {np.max(s['cpu_per_100k']):12.2f} "
              f"{pct(rxg):>12s} {fmt_s(rxs):>11s}")
    print()
    print(f"invalid trees: {invalid or 'none'}")
    if not args.no_peers:
        print(f"worse than rustworkx: {worse_than_rx or 'none'}")
    return 1 if invalid else 0


def road_like(n_edges: int, n_terms: int, seed: int):
    """Perturbed grid with random removals (~``n_edges`` edges), weights in metres."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_edges / 2 / 0.9)))
    xy = np.stack(np.meshgrid(np.arange(side), np.arange(side), indexing="ij"), -1).reshape(-1, 2) * 100.0
    xy = xy + rng.uniform(-30, 30, xy.shape)
    ids = np.arange(side * side).reshape(side, side)
    u = np.concatenate((ids[:-1, :].ravel(), ids[:, :-1].ravel()))
    v = np.concatenate((ids[1:, :].ravel(), ids[:, 1:].ravel()))
    keep = rng.random(len(u)) < 0.9
    u, v = u[keep], v[keep]
    w = np.round(np.hypot(*(xy[u] - xy[v]).T) * rng.uniform(1.0, 1.3, len(u)), 2)
    terms = rng.choice(side * side, n_terms, replace=False)
    return side * side, u.astype(np.int64), v.astype(np.int64), w, terms


def bench_scale(args) -> int:
    t0 = time.perf_counter()
    n, u, v, w, terms = road_like(args.scale_edges, args.scale_terminals, seed=0)
    print(f"generated in {time.perf_counter() - t0:.2f} s")
    # terminals outside the main component are dropped (random removals can isolate nodes)
    comp = _components(n, u, v, w)
    main = np.bincount(comp).argmax()
    terms = terms[comp[terms] == main]
    t0 = time.perf_counter()
    res = solve(n, u, v, w, terms, time_limit=args.time_limit, quality=args.quality)
    secs = time.perf_counter() - t0
    ok = tree_ok(n, u, v, w, np.unique(terms), res.edges, res.cost)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB -> GiB
    print(f"scale: nodes {n}, edges {len(u)}, terminals {len(terms)}")
    print(f"cost {res.cost:.2f}, lower bound {res.lower_bound:.2f}, certified gap {100 * res.gap:.3f}%, "
          f"valid {ok}, seconds {secs:.2f}, peak RSS {rss:.2f} GiB")
    return 0 if ok else 1


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=str(DEFAULT_DATA), help="folder with instances.csv")
    p.add_argument("--category", help="substring of the category, e.g. road")
    p.add_argument("--only", help="comma-separated instance names")
    p.add_argument("--quality", action="store_true")
    p.add_argument("--time-limit", type=float, default=None, help="seconds per instance")
    p.add_argument("--no-peers", action="store_true", help="skip rustworkx and networkx")
    p.add_argument("--bound-roots", type=int, default=1, help="dual ascents per instance (solve(bound_roots=))")
    p.add_argument("--tighten", type=int, default=0, help="rounds of reduced-cost fixing (solve(tighten=))")
    p.add_argument("--scale", action="store_true", help="run the 1M-edge road-like scale test")
    p.add_argument("--scale-edges", type=int, default=1_000_000)
    p.add_argument("--scale-terminals", type=int, default=1_000)
    args = p.parse_args(argv)
    return bench_scale(args) if args.scale else bench_instances(args)


if __name__ == "__main__":
    sys.exit(main())
