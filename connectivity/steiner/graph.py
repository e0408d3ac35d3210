"""Graph containers: edge-list simplification, CSR adjacency, connected components (numpy, scipy).

:func:`component_labels` is the package's one connected-components helper (the network,
the engine and the design stage use it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
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
    m = len(eu)
    src = np.concatenate((eu, ev))
    dst = np.concatenate((ev, eu))
    eid = np.concatenate((np.arange(m, dtype=np.int64), np.arange(m, dtype=np.int64)))
    order = np.argsort(src, kind="stable")
    inv = np.empty(2 * m, dtype=np.int64)
    inv[order] = np.arange(2 * m, dtype=np.int64)
    partner = np.concatenate((np.arange(m, 2 * m), np.arange(0, m))).astype(np.int64)
    rev = np.empty(2 * m, dtype=np.int64)
    rev[inv] = inv[partner]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    return CSRGraph(
        n=n,
        eu=eu,
        ev=ev,
        ew=ew,
        indptr=indptr,
        head=dst[order],
        arc_w=np.concatenate((ew, ew))[order],
        arc_e=eid[order],
        rev=rev,
        tail=src[order],
    )
