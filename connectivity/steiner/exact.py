"""Exact Steiner trees for few terminals: the Dreyfus-Wagner dynamic programme.

``O(3^t n + 2^t (m + n log n))`` for ``t`` terminals: used by :func:`connectivity.steiner.solve`
to close the gap on instances with a handful of terminals, where the heuristics can stall.
"""
from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra


def dreyfus_wagner(n: int, eu: np.ndarray, ev: np.ndarray, ew: np.ndarray, terminals: np.ndarray) -> np.ndarray:
    """Edge ids (into ``eu/ev/ew``) of a minimum Steiner tree of ``terminals`` (all in one
    component of a simple graph: no self-loops, no parallel edges). Weights >= 0."""
    terms = [int(x) for x in np.unique(terminals)]
    if len(terms) < 2:
        return np.zeros(0, dtype=np.int64)
    base, root = terms[:-1], terms[-1]
    k = len(base)
    # the graph plus a super source (node n) whose arcs carry each subset's starting costs
    rows = np.concatenate([eu, ev])
    cols = np.concatenate([ev, eu])
    data = np.concatenate([ew, ew]) + 1e-300        # keep zero-weight arcs as stored entries
    edge_of = {}
    for i, (a, b) in enumerate(zip(eu.tolist(), ev.tolist())):
        edge_of[(a, b)] = edge_of[(b, a)] = i
    full = 1 << k
    dist = np.full((full, n), np.inf)
    pred = np.full((full, n), -9999, dtype=np.int64)
    split = np.zeros((full, n), dtype=np.int64)
    for i, t in enumerate(base):
        g = csr_matrix((data, (rows, cols)), shape=(n, n))
        d, p = dijkstra(g, indices=t, return_predecessors=True)
        dist[1 << i], pred[1 << i] = d, p
    for s in sorted(range(1, full), key=lambda x: bin(x).count("1")):
        if s & (s - 1) == 0:
            continue
        best = np.full(n, np.inf)
        low = s & -s
        sub = (s - 1) & s
        while sub:
            if sub & low:                                  # each split once
                c = dist[sub] + dist[s ^ sub]
                better = c < best
                best[better] = c[better]
                split[s, better] = sub
            sub = (sub - 1) & s
        ok = np.isfinite(best)
        src = np.flatnonzero(ok)
        g = csr_matrix((np.concatenate([data, best[ok] + 1e-300]),
                        (np.concatenate([rows, np.full(len(src), n)]), np.concatenate([cols, src]))),
                       shape=(n + 1, n + 1))
        d, p = dijkstra(g, indices=n, return_predecessors=True)
        dist[s], pred[s] = d[:n], p[:n]
    # the root joins the full subset; then walk back through the predecessors and splits
    edges: set[int] = set()
    last = full - 1
    final = dist[last] + 0.0
    stack = [(last, root)]
    if k == 1:
        stack = [(1, root)]
    del final
    while stack:
        s, v = stack.pop()
        x = v
        while True:
            q = int(pred[s, x])
            if q < 0 or q == n:                            # reached the subset's start
                break
            edges.add(edge_of[(q, x)])
            x = q
        if s & (s - 1):                                    # a merge at x: both parts from x
            t = int(split[s, x])
            stack += [(t, x), (s ^ t, x)]
    return np.array(sorted(edges), dtype=np.int64)
