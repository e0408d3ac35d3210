"""Reduced-cost fixing: the edges a dual ascent proves no cheap tree can use.

A dual ascent from root ``r`` (:mod:`.bound`) ends with a bound ``LB`` and reduced arc costs
``rc >= 0`` such that every arborescence ``A`` rooted at ``r`` that spans the terminals costs
at least ``LB + rc(A)``. An arborescence holding arc ``i -> j`` holds a path from ``r`` to ``i``
and, below ``j``, a path from ``j`` to a terminal other than ``r`` (its leaves are terminals),
disjoint from each other and from the arc. So it costs at least

    LB + d(r, i) + rc(i -> j) + d(j, T \\ r)

with ``d`` the shortest distances under ``rc``. Where that exceeds the cost ``UB`` of a known
tree, no tree costing ``UB`` or less uses the arc in that direction from ``r``; an edge whose two
arcs both fail can go. Each root's ascent gives its own test, and an edge goes when the test of
any root rules out both its arcs (Polzin and Vahdati Daneshmand 2001, "Improved algorithms for
the Steiner problem in networks").

What is left holds every tree costing ``UB`` or less, so a lower bound on what is left is a
lower bound on the optimum whenever the optimum is below ``UB``, and ``min(UB, bound)`` always.
:func:`connectivity.steiner.solver.solve` (``tighten=``) repeats this on ever smaller graphs: the
degree reductions shrink what is left, a new dual ascent there is often higher, and a tree found
there can lower ``UB``.
"""
from __future__ import annotations

import numpy as np

from connectivity.steiner.graph import CSRGraph
from connectivity.steiner.paths import voronoi

#: Relative slack of the test (float rounding of the reduced costs).
TOLERANCE = 1e-7


def edges_kept(g: CSRGraph, is_term: np.ndarray, root: int, lb: float, rc: np.ndarray, ub: float) -> np.ndarray:
    """The edges of ``g`` (bool mask) that the test of one dual ascent (from ``root``, bound
    ``lb``, reduced arc costs ``rc``) keeps against a tree costing ``ub``; units of the weights."""
    is_root = np.zeros(g.n, np.bool_)
    is_root[root] = True
    below = is_term.copy()
    below[root] = False
    _, from_root, _ = voronoi(g.indptr, g.head, rc, is_root)
    _, to_term, _ = voronoi(g.indptr, g.head, np.ascontiguousarray(rc[g.rev]), below)  # reversed arcs
    passes = lb + from_root[g.tail] + rc + to_term[g.head] <= ub + TOLERANCE * max(1.0, abs(ub))
    keep = np.zeros(len(g.eu), np.bool_)
    keep[g.arc_e[passes]] = True
    return keep


def ascent_roots(terms: np.ndarray, first: int, n_roots: int) -> list[int]:
    """``first`` and ``n_roots - 1`` other terminals spread evenly over ``terms`` (deterministic)."""
    others = terms[terms != first]
    picks = np.linspace(0, len(others) - 1, min(len(others), max(0, n_roots - 1))).astype(np.int64)
    return [int(first)] + [int(r) for r in others[picks]]


def edges_kept_by_all(g: CSRGraph, is_term: np.ndarray, ascents: list[tuple[int, float, np.ndarray]],
                      ub: float) -> np.ndarray:
    """The edges of ``g`` (bool mask) that the test of every dual ascent in ``ascents`` (root,
    bound, reduced arc costs) keeps against a tree costing ``ub``."""
    keep = np.ones(len(g.eu), np.bool_)
    for root, lb, rc in ascents:
        keep &= edges_kept(g, is_term, root, lb, rc, ub)
    return keep
