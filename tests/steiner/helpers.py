"""Shared helpers for the Steiner tests: tree validity and brute-force optimum."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "steiner"


def check_tree(n, eu, ev, w, terminals, result):
    """Assert that ``result`` is a valid Steiner tree of the instance."""
    edges = result.edges
    assert edges.dtype == np.int64
    assert np.all(np.diff(edges) > 0), "edges sorted and unique"
    assert np.isclose(result.cost, float(np.sum(np.asarray(w, float)[edges])), rtol=1e-12, atol=1e-9)
    terms = np.unique(np.asarray(terminals, np.int64))
    if len(terms) < 2:
        assert result.cost == 0 and len(edges) == 0
        return
    u = np.asarray(eu, np.int64)[edges]
    v = np.asarray(ev, np.int64)[edges]
    assert np.all(u != v), "no self-loops"
    nodes = np.unique(np.concatenate((u, v, terms)))
    assert len(edges) == len(nodes) - 1, "acyclic"
    idx = {int(x): i for i, x in enumerate(nodes)}
    a = np.array([idx[int(x)] for x in u], dtype=np.int64)
    b = np.array([idx[int(x)] for x in v], dtype=np.int64)
    mat = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(nodes), len(nodes)))
    ncomp, _ = connected_components(mat, directed=False)
    assert ncomp == 1, "connected and spans the terminals"
    assert result.lower_bound <= result.cost + 1e-9 * max(1.0, result.cost)


def brute_force(n, eu, ev, w, terminals) -> float:
    """Optimum by enumerating Steiner node subsets and taking MSTs (tiny graphs only)."""
    terms = sorted(set(int(t) for t in terminals))
    if len(terms) < 2:
        return 0.0
    others = [v for v in range(n) if v not in set(terms)]
    best = np.inf
    eu = np.asarray(eu)
    ev = np.asarray(ev)
    w = np.asarray(w, float)
    for k in range(len(others) + 1):
        for extra in itertools.combinations(others, k):
            nodes = np.zeros(n, bool)
            nodes[terms] = True
            nodes[list(extra)] = True
            sel = nodes[eu] & nodes[ev] & (eu != ev)
            if not sel.any():
                continue
            # parallel edges: keep the minimum by taking a dense min matrix
            dense = np.full((n, n), np.inf)
            for a, b, c in zip(eu[sel], ev[sel], w[sel]):
                if c < dense[a, b]:
                    dense[a, b] = dense[b, a] = c
            ids = np.nonzero(nodes)[0]
            sub = dense[np.ix_(ids, ids)]
            # zero weights: shift by 1 then remove to keep them as edges
            shifted = np.where(np.isfinite(sub), sub + 1.0, 0.0)
            ncomp, _ = connected_components(shifted, directed=False)
            if ncomp != 1:
                continue
            mst = minimum_spanning_tree(shifted)
            cost = mst.sum() - (len(ids) - 1)
            best = min(best, cost)
    return float(best)
