"""Graph containers: edge-list simplification, CSR adjacency, connected components (numpy, numba, scipy).

:func:`component_labels` is the package's one connected-components helper (the network,
the engine and the design stage use it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def component_labels(n: int, u, v) -> np.ndarray:
    """Connected component of every node of an undirected graph (``n`` nodes, edges ``u[i]-v[i]``).

    Labels are 0, 1, ... numbered in the order of each component's smallest node (int64).
    """
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    u = np.asarray(u, dtype=np.int64)
    adj = coo_matrix((np.ones(len(u), dtype=np.int8), (u, np.asarray(v, dtype=np.int64))), shape=(n, n))
    return connected_components(adj, directed=False)[1].astype(np.int64)


@dataclass(frozen=True)
class CSRGraph:
    """Undirected graph as a CSR adjacency of directed arcs.

    Each undirected edge ``e = (eu[e], ev[e])`` gives two arcs. For the arc at
    position ``p`` (owned by node ``tail[p]``): ``head[p]`` is the other end,
    ``arc_w[p]`` its weight, ``arc_e[p]`` the edge id and ``rev[p]`` the
    position of the opposite arc.

    Attributes
    ----------
    n : int
        Number of nodes.
    eu, ev : numpy.ndarray
        int64 edge end nodes.
    ew : numpy.ndarray
        float64 edge weights.
    indptr, head, arc_w, arc_e, rev, tail : numpy.ndarray
        CSR arrays (lengths ``n + 1`` and ``2 * m``).
    """

    n: int
    eu: np.ndarray
    ev: np.ndarray
    ew: np.ndarray
    indptr: np.ndarray
    head: np.ndarray
    arc_w: np.ndarray
    arc_e: np.ndarray
    rev: np.ndarray
    tail: np.ndarray

    @property
    def m(self) -> int:
        """Number of undirected edges."""
        return len(self.eu)


def simplify(n: int, eu: np.ndarray, ev: np.ndarray, ew: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Drop self-loops and keep the lightest of parallel edges.

    Parameters
    ----------
    n : int
        Number of nodes.
    eu, ev, ew : numpy.ndarray
        Edge ends and weights.

    Returns
    -------
    su, sv, sw, orig : numpy.ndarray
        Simple edge list with ``su < sv`` and ``orig`` the index of the kept
        input edge (ties broken by the smaller input index, so deterministic).
    """
    eu = np.asarray(eu, dtype=np.int64)
    ev = np.asarray(ev, dtype=np.int64)
    ew = np.asarray(ew, dtype=np.float64)
    idx = np.nonzero(eu != ev)[0]
    a = np.minimum(eu[idx], ev[idx])
    b = np.maximum(eu[idx], ev[idx])
    key = a * np.int64(max(n, 1)) + b
    by_key = np.sort(key)
    if len(by_key) < 2 or np.all(by_key[1:] != by_key[:-1]):   # already simple (the usual road graph)
        return a, b, ew[idx], idx
    order = np.lexsort((idx, ew[idx], key))
    key_sorted = key[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = key_sorted[1:] != key_sorted[:-1]
    keep = order[first]
    keep = keep[np.argsort(idx[keep], kind="stable")]
    return a[keep], b[keep], ew[idx[keep]], idx[keep]


def build_csr(n: int, eu: np.ndarray, ev: np.ndarray, ew: np.ndarray) -> CSRGraph:
    """Build the CSR arc structure of an undirected edge list.

    Edge ``e`` gives arc ``eu[e] -> ev[e]`` and its reverse; a node's arcs are in the order of
    the list ``[all u -> v arcs, all v -> u arcs]`` (a stable sort of the arcs by tail, done by
    counting in one O(n + m) pass).

    Parameters
    ----------
    n : int
        Number of nodes.
    eu, ev, ew : numpy.ndarray
        Edge ends (int64) and weights (float64).

    Returns
    -------
    CSRGraph
    """
    eu = np.ascontiguousarray(eu, dtype=np.int64)
    ev = np.ascontiguousarray(ev, dtype=np.int64)
    ew = np.ascontiguousarray(ew, dtype=np.float64)
    indptr, head, arc_w, arc_e, rev, tail = _csr_arcs(n, eu, ev, ew)
    return CSRGraph(n=n, eu=eu, ev=ev, ew=ew, indptr=indptr, head=head, arc_w=arc_w, arc_e=arc_e, rev=rev,
                    tail=tail)


@njit(cache=True, nogil=True)
def _csr_arcs(n, eu, ev, ew):
    """The arrays of :func:`build_csr`: arc ``j`` of the list (``j < m``: edge ``j`` forward,
    else edge ``j - m`` backward) goes to the next free slot of its tail, so the slots of a node
    keep the list's order (what a stable argsort by tail gives)."""
    m = len(eu)
    indptr = np.zeros(n + 1, np.int64)
    for e in range(m):
        indptr[eu[e] + 1] += 1
        indptr[ev[e] + 1] += 1
    for x in range(n):
        indptr[x + 1] += indptr[x]
    free = indptr[:n].copy()
    slot = np.empty(2 * m, np.int64)
    head = np.empty(2 * m, np.int64)
    tail = np.empty(2 * m, np.int64)
    arc_w = np.empty(2 * m, np.float64)
    arc_e = np.empty(2 * m, np.int64)
    for j in range(2 * m):
        e = j if j < m else j - m
        a, b = (eu[e], ev[e]) if j < m else (ev[e], eu[e])
        q = free[a]
        free[a] += 1
        slot[j] = q
        head[q] = b
        tail[q] = a
        arc_w[q] = ew[e]
        arc_e[q] = e
    rev = np.empty(2 * m, np.int64)
    for j in range(m):
        rev[slot[j]] = slot[j + m]
        rev[slot[j + m]] = slot[j]
    return indptr, head, arc_w, arc_e, rev, tail
