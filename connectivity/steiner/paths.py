"""Compiled shortest-path kernels on CSR arrays (numba).

An indexed binary min-heap (``hk`` keys, ``hv`` nodes, ``pos`` node -> slot)
supports push-or-decrease in O(log n); the kernels share it, except
:func:`voronoi` (the local search's hot loop), which uses a lazy heap.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, inline="always")
def _sift_up(hk, hv, pos, i):
    k = hk[i]
    v = hv[i]
    while i > 0:
        p = (i - 1) >> 1
        if hk[p] <= k:
            break
        hk[i] = hk[p]
        hv[i] = hv[p]
        pos[hv[i]] = i
        i = p
    hk[i] = k
    hv[i] = v
    pos[v] = i


@njit(cache=True, nogil=True)
def heap_push(hk, hv, pos, size, v, key):
    """Insert ``v`` or lower its key; returns the new heap size."""
    i = pos[v]
    if i < 0:
        i = size
        size += 1
        hk[i] = key
        hv[i] = v
        pos[v] = i
    elif key < hk[i]:
        hk[i] = key
    else:
        return size
    _sift_up(hk, hv, pos, i)
    return size


@njit(cache=True, nogil=True)
def heap_pop(hk, hv, pos, size):
    """Remove the minimum; returns (node, key, new size)."""
    v = hv[0]
    key = hk[0]
    pos[v] = -1
    size -= 1
    if size > 0:
        lk = hk[size]
        lv = hv[size]
        i = 0
        while True:
            c = 2 * i + 1
            if c >= size:
                break
            if c + 1 < size and hk[c + 1] < hk[c]:
                c += 1
            if hk[c] >= lk:
                break
            hk[i] = hk[c]
            hv[i] = hv[c]
            pos[hv[i]] = i
            i = c
        hk[i] = lk
        hv[i] = lv
        pos[lv] = i
    return v, key, size


@njit(cache=True, nogil=True)
def sph(indptr, head, arc_w, is_term, root, n_terms):
    """Shortest-path heuristic (Takahashi-Matsuyama) grown from ``root``.

    One Dijkstra whose sources grow: each time a terminal is settled its path
    joins the tree and its nodes are re-inserted at distance 0.

    Returns
    -------
    in_tree : bool array
        Nodes of the tree (a connected set spanning the reached terminals).
    n_reached : int
        Terminals in the tree (== ``n_terms`` when feasible).
    """
    n = len(indptr) - 1
    dist = np.full(n, np.inf)
    pred = np.full(n, -1, np.int64)
    in_tree = np.zeros(n, np.bool_)
    hk = np.empty(n, np.float64)
    hv = np.empty(n, np.int64)
    pos = np.full(n, -1, np.int64)
    size = 0
    in_tree[root] = True
    dist[root] = 0.0
    size = heap_push(hk, hv, pos, size, root, 0.0)
    reached = 1
    while size > 0 and reached < n_terms:
        u, du, size = heap_pop(hk, hv, pos, size)
        if is_term[u] and not in_tree[u]:
            x = u
            while not in_tree[x]:
                in_tree[x] = True
                dist[x] = 0.0
                size = heap_push(hk, hv, pos, size, x, 0.0)
                x = pred[x]
            reached += 1
            continue
        for p in range(indptr[u], indptr[u + 1]):
            v = head[p]
            nd = du + arc_w[p]
            if nd < dist[v]:
                dist[v] = nd
                pred[v] = u
                size = heap_push(hk, hv, pos, size, v, nd)
    return in_tree, reached


@njit(cache=True, nogil=True, inline="always")
def lazy_push(hk, hv, size, v, key):
    """Push ``(key, v)`` on a lazy min-heap (no decrease-key: a node may sit there several
    times, stale copies are skipped on pop); returns the new size."""
    i = size
    while i > 0:
        q = (i - 1) >> 1
        if hk[q] <= key:
            break
        hk[i] = hk[q]
        hv[i] = hv[q]
        i = q
    hk[i] = key
    hv[i] = v
    return size + 1


@njit(cache=True, nogil=True, inline="always")
def lazy_pop(hk, hv, size):
    """Pop the minimum of a lazy min-heap; returns (node, key, new size)."""
    u = hv[0]
    du = hk[0]
    size -= 1
    if size > 0:  # sift the last entry down from the root
        lk = hk[size]
        lv = hv[size]
        i = 0
        while True:
            c = 2 * i + 1
            if c >= size:
                break
            if c + 1 < size and hk[c + 1] < hk[c]:
                c += 1
            if hk[c] >= lk:
                break
            hk[i] = hk[c]
            hv[i] = hv[c]
            i = c
        hk[i] = lk
        hv[i] = lv
    return u, du, size


@njit(cache=True, nogil=True)
def voronoi(indptr, head, arc_w, is_base):
    """Multi-source Dijkstra from every node with ``is_base``.

    Uses a lazy binary heap (stale entries skipped on pop, no decrease-key):
    about 1.5x faster than the indexed heap on road graphs; the local search
    runs one per round.

    Returns
    -------
    base, dist, pred_arc : arrays
        Nearest base node, distance to it, and the arc position used to reach
        each node (-1 for bases and unreachable nodes).
    """
    n = len(indptr) - 1
    dist = np.full(n, np.inf)
    base = np.full(n, -1, np.int64)
    pred_arc = np.full(n, -1, np.int64)
    cap = len(head) + n + 1
    hk = np.empty(cap, np.float64)
    hv = np.empty(cap, np.int64)
    size = 0
    for v in range(n):
        if is_base[v]:
            dist[v] = 0.0
            base[v] = v
            hk[size] = 0.0
            hv[size] = v
            size += 1
    while size > 0:
        u, du, size = lazy_pop(hk, hv, size)
        if du > dist[u]:
            continue  # stale entry
        bu = base[u]
        for p in range(indptr[u], indptr[u + 1]):
            v = head[p]
            nd = du + arc_w[p]
            if nd < dist[v]:
                dist[v] = nd
                base[v] = bu
                pred_arc[v] = p
                size = lazy_push(hk, hv, size, v, nd)
    return base, dist, pred_arc


@njit(cache=True, nogil=True)
def reached(indptr, head, source):
    """Nodes reachable from ``source`` (bool mask; breadth-first over the CSR arcs)."""
    n = len(indptr) - 1
    seen = np.zeros(n, np.bool_)
    queue = np.empty(n, np.int64)
    seen[source] = True
    queue[0] = source
    end = 1
    i = 0
    while i < end:
        x = queue[i]
        i += 1
        for p in range(indptr[x], indptr[x + 1]):
            y = head[p]
            if not seen[y]:
                seen[y] = True
                queue[end] = y
                end += 1
    return seen
