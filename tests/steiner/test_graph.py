"""The CSR arc structure of :func:`connectivity.steiner.graph.build_csr`."""
from __future__ import annotations

import numpy as np
import pytest

from connectivity.steiner.graph import build_csr


def _by_argsort(n, eu, ev, ew):
    """The arcs sorted by tail with a stable argsort of the list [u -> v arcs, v -> u arcs]."""
    m = len(eu)
    src, dst = np.concatenate((eu, ev)), np.concatenate((ev, eu))
    order = np.argsort(src, kind="stable")
    inv = np.empty(2 * m, dtype=np.int64)
    inv[order] = np.arange(2 * m)
    partner = np.concatenate((np.arange(m, 2 * m), np.arange(m)))
    rev = np.empty(2 * m, dtype=np.int64)
    rev[inv] = inv[partner]
    indptr = np.concatenate(([0], np.cumsum(np.bincount(src, minlength=n))))
    return dict(indptr=indptr, head=dst[order], tail=src[order], arc_w=np.concatenate((ew, ew))[order],
                arc_e=np.concatenate((np.arange(m), np.arange(m)))[order], rev=rev)


@pytest.mark.parametrize("seed", range(6))
def test_csr_arcs_are_the_stable_sort_by_tail(seed):
    """Self-loops, parallel edges, isolated nodes and no edges at all included."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    m = int(rng.integers(0, 120)) if seed else 0
    eu, ev = rng.integers(0, n, m), rng.integers(0, n, m)
    ew = rng.random(m)
    g = build_csr(n, eu, ev, ew)
    for name, want in _by_argsort(n, eu, ev, ew).items():
        assert np.array_equal(getattr(g, name), want), name
    assert np.array_equal(g.rev[g.rev], np.arange(2 * m))
    assert np.array_equal(g.head[g.rev], g.tail)
