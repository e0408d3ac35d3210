"""Lower bound by dual ascent (Wong 1984) on the bidirected graph (numba).

Every undirected edge becomes two arcs with the edge weight as cost. For a
root terminal ``r`` and any other terminal ``t``, the set ``W`` of nodes that
reach ``t`` through arcs of zero reduced cost is a cut separating ``t`` from
``r`` (as long as it does not contain ``r``); raising its dual variable by the
smallest reduced cost of an arc entering ``W`` keeps the dual feasible. The
sum of the raises is a lower bound on the optimum, valid at any point, so the
ascent can be stopped early. Cuts are processed smallest first (lazy heap).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from connectivity.steiner.paths import heap_pop, heap_push


@njit(cache=True)
def dual_ascent(indptr, head, arc_w, rev, is_term, root, max_work):
    """Run dual ascent from ``root``.

    Parameters
    ----------
    indptr, head, arc_w, rev : arrays
        CSR graph (see :class:`~connectivity.steiner.graph.CSRGraph`).
    is_term : bool array
        Terminal flags.
    root : int
        Root terminal.
    max_work : int
        Stop after about this many arc scans (the bound stays valid).

    Returns
    -------
    lb : float
        Lower bound (same unit as the weights).
    rc : float array
        Reduced arc costs (``rc[p]`` for arc ``tail(p) -> head[p]``).
    complete : bool
        True when every terminal reached the root.
    """
    n = len(indptr) - 1
    rc = arc_w.copy()
    done = np.zeros(n, np.bool_)
    done[root] = True
    hk = np.empty(n, np.float64)
    hv = np.empty(n, np.int64)
    pos = np.full(n, -1, np.int64)
    size = 0
    for v in range(n):
        if is_term[v] and v != root:
            size = heap_push(hk, hv, pos, size, v, 1.0)
    in_w = np.zeros(n, np.bool_)
    w_list = np.empty(n, np.int64)
    lb = 0.0
    work = 0
    while size > 0:
        t, key, size = heap_pop(hk, hv, pos, size)
        in_w[t] = True
        w_list[0] = t
        wn = 1
        i = 0
        hit = False
        while i < wn and not hit:
            v = w_list[i]
            i += 1
            for p in range(indptr[v], indptr[v + 1]):
                u = head[p]
                if in_w[u] or rc[rev[p]] > 0.0:
                    continue
                if done[u]:
                    hit = True
                    break
                in_w[u] = True
                w_list[wn] = u
                wn += 1
        work += i
        if hit:
            done[t] = True
            for j in range(wn):
                in_w[w_list[j]] = False
            continue
        if size > 0 and wn > hk[0]:
            size = heap_push(hk, hv, pos, size, t, float(wn))
            for j in range(wn):
                in_w[w_list[j]] = False
            continue
        delta = np.inf
        for j in range(wn):
            v = w_list[j]
            for p in range(indptr[v], indptr[v + 1]):
                if not in_w[head[p]]:
                    r = rc[rev[p]]
                    if r < delta:
                        delta = r
        work += wn
        if delta == np.inf:
            # component without the root: infeasible (checked by the caller)
            for j in range(wn):
                in_w[w_list[j]] = False
            return lb, rc, False
        for j in range(wn):
            v = w_list[j]
            for p in range(indptr[v], indptr[v + 1]):
                if not in_w[head[p]]:
                    q = rev[p]
                    r = rc[q] - delta
                    rc[q] = r if r > 0.0 else 0.0
        lb += delta
        size = heap_push(hk, hv, pos, size, t, float(wn))
        for j in range(wn):
            in_w[w_list[j]] = False
        if work > max_work:
            return lb, rc, False
    return lb, rc, True
