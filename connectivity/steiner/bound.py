"""Lower bounds by dual ascent (Wong 1984) on bidirected graphs (numba).

Every undirected edge becomes two arcs. For a root terminal ``r`` and another terminal ``t``,
the set ``W`` of nodes that reach ``t`` through arcs of zero reduced cost is a cut separating
``t`` from ``r`` (as long as it holds no node known to reach ``r``); raising its dual variable
by the smallest reduced cost of an arc entering ``W`` keeps the dual feasible. The sum of the
raises is a lower bound on the optimum, valid at any point, so the ascent can stop early.

Cuts are processed smallest first (lazy heap keyed by the last size of ``W``). While a
terminal's cut stays the smallest it is grown incrementally: arcs entering ``W`` sit in a heap
keyed by reduced cost plus the total raise of this run, so each raise costs O(log m) instead of
a scan of the cut.

:func:`joint_dual_ascent` runs the ascent for several operators at once, each with its own
terminals and arc costs, coupled through a trench they can share: an arc of operator ``k``
costs ``cost[k]`` plus whatever of the edge's trench is still unclaimed. When a raise of ``k``
uses more than ``cost[k]`` on an edge, the excess is ``k``'s claim on the trench (a multiplier
of the coupling ``x[k, e] <= y[e, group(k)] + y[e, joint]``), and every operator's arcs there
lose what the claim leaves them. :func:`dual_ascent` is the one-operator case with no trench.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from connectivity.steiner.paths import heap_pop, heap_push, lazy_pop, lazy_push


def dual_ascent(indptr, head, arc_w, rev, tail, is_term, root, max_work, slack):
    """Run dual ascent from ``root`` (one operator, no shared trench).

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
    na = len(head)
    roots = np.zeros((1, len(indptr) - 1), np.bool_)
    roots[0, root] = True
    lb, rc, _lam, complete = joint_dual_ascent(
        indptr, head, rev, tail, np.zeros(na, np.int64), np.ascontiguousarray(arc_w, np.float64).reshape(1, na),
        np.zeros(1, np.int64), np.zeros((1, 3)), np.ascontiguousarray(is_term).reshape(1, -1), roots,
        max_work, slack)
    return lb[0], rc[0], complete


@njit(cache=True, nogil=True, inline="always")
def _left(trench, claim, e, g):
    """Trench of edge ``e`` still unclaimed for an operator of group ``g`` (0 or 1): what is left
    of its group's own mode and of the joint mode."""
    a = trench[e, g] - claim[g, e]
    b = trench[e, 2] - claim[0, e] - claim[1, e]
    r = a if a < b else b
    return r if r > 0.0 else 0.0


@njit(cache=True, nogil=True)
def _settle_claims(k, touched, nt, arc_e, rev, group, trench, lam, claim, rc):
    """After a run of operator ``k``: where its final reduced costs ``rc[k]`` on the ``touched``
    arcs dig into the trench, raise ``k``'s claim ``lam[k, e]`` and its group's ``claim``, and
    lower the other operators' reduced costs by what that takes from them. Operator ``k``'s own
    arcs keep theirs: its claim grows by what it takes from the trench left to it."""
    K = rc.shape[0]
    g = group[k]
    before = np.empty(K)
    for j in range(nt):
        q = touched[j]
        e = arc_e[q]
        # what k's run used on q beyond its cost and its claim so far (its reduced cost is
        # cost + claim + trench left - used)
        dig = _left(trench, claim, e, g) - rc[k, q]
        if dig <= 0.0:
            continue
        for o in range(K):
            before[o] = _left(trench, claim, e, group[o])
        lam[k, e] += dig
        claim[g, e] += dig
        for o in range(K):
            if o == k:
                continue
            d = before[o] - _left(trench, claim, e, group[o])
            if d > 0.0:
                for a in (q, rev[q]):
                    r = rc[o, a] - d
                    rc[o, a] = r if r > 0.0 else 0.0


@njit(cache=True, nogil=True)
def joint_dual_ascent(indptr, head, rev, tail, arc_e, cost, group, trench, is_term, is_root, max_work, slack):
    """Dual ascent for ``K`` operators sharing a trench (see the module docstring).

    Parameters
    ----------
    indptr, head, rev, tail, arc_e : arrays
        CSR graph (see :class:`~connectivity.steiner.graph.CSRGraph`).
    cost : float array (K, arcs)
        Each operator's own cost of each arc (its ducts; nothing of the trench).
    group : int array (K,)
        Each operator's group (0 or 1): which single mode of the trench it may use.
    trench : float array (edges, 3)
        Cost of the trench of each edge in the modes group 0, group 1 and joint (>= 0).
    is_term, is_root : bool arrays (K, nodes)
        Each operator's terminals and roots (one root per network it must build).
    max_work, slack
        As for :func:`dual_ascent`; operators take turns by the size of their smallest cut.

    Returns
    -------
    lb : float array (K,)
        Per operator, the sum of its raises; ``lb.sum()`` is a lower bound on the cost of any
        set of networks (one per operator) that pays each operator's arcs and each edge's
        trench in the cheapest mode holding the operators using it.
    rc : float array (K, arcs)
        Reduced arc costs per operator.
    lam : float array (K, edges)
        Each operator's claim on each edge's trench (multipliers of the coupling).
    complete : bool
        True when every terminal reached a root.
    """
    K, na = cost.shape
    n = len(indptr) - 1
    m = trench.shape[0]
    lam = np.zeros((K, m))
    claim = np.zeros((2, m))
    coupled = False
    for e in range(m):
        for c in range(3):
            if trench[e, c] > 0.0:
                coupled = True
    rc = np.empty((K, na))
    for k in range(K):
        for q in range(na):
            rc[k, q] = cost[k, q] + (_left(trench, claim, arc_e[q], group[k]) if coupled else 0.0)
    done = is_root.copy()
    hk = np.empty((K, n), np.float64)
    hv = np.empty((K, n), np.int64)
    pos = np.full((K, n), -1, np.int64)
    size = np.zeros(K, np.int64)
    for k in range(K):
        for v in range(n):
            if is_term[k, v] and not done[k, v]:
                size[k] = heap_push(hk[k], hv[k], pos[k], size[k], v, 1.0)
    lb = np.zeros(K)
    arckey = np.zeros(na, np.float64)
    stamp = np.full(na, -1, np.int64)
    in_w = np.zeros(n, np.bool_)
    w_list = np.empty(n, np.int64)
    bk = np.empty(na + 1, np.float64)
    ba = np.empty(na + 1, np.int64)
    touched = np.empty(na, np.int64)
    run = 0
    work = 0
    while True:
        # the operator whose smallest cut is smallest
        k = -1
        for o in range(K):
            if size[o] > 0 and (k < 0 or hk[o, 0] < hk[k, 0]):
                k = o
        if k < 0:
            break
        r_k = rc[k]
        t, key, size[k] = heap_pop(hk[k], hv[k], pos[k], size[k])
        run += 1
        nt = 0
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
                if in_w[u] or r_k[rev[p]] > 0.0:
                    continue
                if done[k, u]:
                    hit = True
                    break
                in_w[u] = True
                w_list[wn] = u
                wn += 1
        work += i
        if not hit and size[k] > 0 and wn > hk[k, 0]:
            size[k] = heap_push(hk[k], hv[k], pos[k], size[k], t, float(wn))
            for j in range(wn):
                in_w[w_list[j]] = False
            continue
        if not hit:
            for j in range(wn):
                v = w_list[j]
                for p in range(indptr[v], indptr[v + 1]):
                    if not in_w[head[p]]:
                        q = rev[p]
                        arckey[q] = r_k[q]
                        stamp[q] = run
                        bsize = lazy_push(bk, ba, bsize, q, r_k[q])
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
                lb[k] += delta
            r_k[q] = 0.0
            stamp[q] = -1
            touched[nt] = q
            nt += 1
            # tail of q joins W, with everything reaching it at zero cost
            u0 = tail[q]
            if done[k, u0]:
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
                            r_k[p] = r if r > 0.0 else 0.0
                            stamp[p] = -1
                            touched[nt] = p
                            nt += 1
                        continue
                    if r_k[a_in] > 0.0:
                        arckey[a_in] = r_k[a_in] + dsum
                        stamp[a_in] = run
                        bsize = lazy_push(bk, ba, bsize, a_in, r_k[a_in] + dsum)
                        continue
                    if done[k, x]:
                        hit = True
                        break
                    in_w[x] = True
                    w_list[wn] = x
                    wn += 1
            work += 1 + i - start
            if work > max_work:
                break
            if size[k] > 0 and wn > slack * hk[k, 0]:
                break
        # settle reduced costs of arcs still entering W
        for j in range(bsize):
            a_in = ba[j]
            if stamp[a_in] == run:
                r = arckey[a_in] - dsum
                r_k[a_in] = r if r > 0.0 else 0.0
                stamp[a_in] = -1
                touched[nt] = a_in
                nt += 1
        for j in range(wn):
            in_w[w_list[j]] = False
        if coupled:
            _settle_claims(k, touched, nt, arc_e, rev, group, trench, lam, claim, rc)
        if infeasible:
            return lb, rc, lam, False
        if hit:
            done[k, t] = True
        else:
            size[k] = heap_push(hk[k], hv[k], pos[k], size[k], t, float(wn))
        if work > max_work:
            return lb, rc, lam, False
    return lb, rc, lam, True
