"""Lower bound by dual ascent (Wong 1984) on the bidirected graph (numba).

Every undirected edge becomes two arcs with the edge weight as cost. For a
root terminal ``r`` and another terminal ``t``, the set ``W`` of nodes that
reach ``t`` through arcs of zero reduced cost is a cut separating ``t`` from
``r`` (as long as it holds no node known to reach ``r``); raising its dual
variable by the smallest reduced cost of an arc entering ``W`` keeps the dual
feasible. The sum of the raises is a lower bound on the optimum, valid at any
point, so the ascent can stop early.

Cuts are processed smallest first (lazy heap keyed by the last size of
``W``). While a terminal's cut stays the smallest it is grown incrementally:
arcs entering ``W`` sit in a heap keyed by reduced cost plus the total raise
of this run, so each raise costs O(log m) instead of a scan of the cut.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from connectivity.steiner.paths import heap_pop, heap_push, lazy_pop, lazy_push


@njit(cache=True, nogil=True)
def dual_ascent(indptr, head, arc_w, rev, tail, is_term, root, max_work, slack):
    """Run dual ascent from ``root``.

    Parameters
    ----------
    indptr, head, arc_w, rev, tail : arrays
        CSR graph (see :class:`~connectivity.steiner.graph.CSRGraph`).
    is_term : bool array
        Terminal flags.
    root : int
        Root terminal.
    max_work : int
        Stop after about this many elementary steps (the bound stays valid).
    slack : float
        Keep growing the current cut while it has at most ``slack`` times
        the size of the smallest other cut (1 = strict smallest-first;
        larger is faster, usually a little weaker).

    Returns
    -------
    lb : float
        Lower bound (unit of the weights).
    rc : float array
        Reduced arc costs (``rc[p]`` for arc ``tail[p] -> head[p]``).
    complete : bool
        True when every terminal reached the root.
    """
    n = len(indptr) - 1
    na = len(head)
    rc = arc_w.copy()
    arckey = np.zeros(na, np.float64)
    stamp = np.full(na, -1, np.int64)
    run = 0
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
    bk = np.empty(na + 1, np.float64)
    ba = np.empty(na + 1, np.int64)
    lb = 0.0
    work = 0
    while size > 0:
        t, key, size = heap_pop(hk, hv, pos, size)
        run += 1
        in_w[t] = True
        w_list[0] = t
        wn = 1
        i = 0
        hit = False
        bsize = 0
        dsum = 0.0
        # grow W from t over zero-cost arcs, then collect its entering arcs
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
        if not hit and size > 0 and wn > hk[0]:
            size = heap_push(hk, hv, pos, size, t, float(wn))
            for j in range(wn):
                in_w[w_list[j]] = False
            continue
        if not hit:
            for j in range(wn):
                v = w_list[j]
                for p in range(indptr[v], indptr[v + 1]):
                    if not in_w[head[p]]:
                        q = rev[p]
                        arckey[q] = rc[q]
                        stamp[q] = run
                        bsize = lazy_push(bk, ba, bsize, q, rc[q])
            work += wn
        infeasible = False
        while not hit:
            # cheapest entering arc
            while bsize > 0 and in_w[tail[ba[0]]]:
                _, _, bsize = lazy_pop(bk, ba, bsize)
            if bsize == 0:
                infeasible = True
                break
            q = ba[0]
            delta = bk[0] - dsum
            _, _, bsize = lazy_pop(bk, ba, bsize)
            if delta > 0.0:
                dsum += delta
                lb += delta
            rc[q] = 0.0
            stamp[q] = -1
            # tail of q joins W, with everything reaching it at zero cost
            u0 = tail[q]
            if done[u0]:
                hit = True
                break
            start = wn
            in_w[u0] = True
            w_list[wn] = u0
            wn += 1
            i = start
            while i < wn and not hit:
                y = w_list[i]
                i += 1
                for p in range(indptr[y], indptr[y + 1]):
                    x = head[p]
                    a_in = rev[p]  # arc x -> y
                    if in_w[x]:
                        # arc y -> x was entering W: its reduced cost is final now
                        if stamp[p] == run:
                            r = arckey[p] - dsum
                            rc[p] = r if r > 0.0 else 0.0
                            stamp[p] = -1
                        continue
                    if rc[a_in] > 0.0:
                        arckey[a_in] = rc[a_in] + dsum
                        stamp[a_in] = run
                        bsize = lazy_push(bk, ba, bsize, a_in, rc[a_in] + dsum)
                        continue
                    if done[x]:
                        hit = True
                        break
                    in_w[x] = True
                    w_list[wn] = x
                    wn += 1
            work += 1 + i - start
            if work > max_work:
                break
            if size > 0 and wn > slack * hk[0]:
                break
        # settle reduced costs of arcs still entering W
        for j in range(bsize):
            a_in = ba[j]
            if stamp[a_in] == run:
                r = arckey[a_in] - dsum
                rc[a_in] = r if r > 0.0 else 0.0
                stamp[a_in] = -1
        for j in range(wn):
            in_w[w_list[j]] = False
        if infeasible:
            return lb, rc, False
        if hit:
            done[t] = True
        else:
            size = heap_push(hk, hv, pos, size, t, float(wn))
        if work > max_work:
            return lb, rc, False
    return lb, rc, True

