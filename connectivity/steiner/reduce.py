"""Exact graph reductions (degree tests) for the Steiner tree problem.

Tests applied until nothing changes (all keep at least one optimal tree):

* non-terminal of degree 0 or 1: delete it (and its edge);
* non-terminal of degree 2: replace the path ``a - x - b`` by one edge ``a - b``
  whose weight is the sum (it remembers the two edges it stands for);
* terminal of degree 1: its edge is in every tree, contract it (the neighbour
  becomes a terminal);
* terminal whose lightest edge leads to another terminal, or has weight 0:
  that edge is in some optimal tree, contract it.

The reduced graph is returned with compact node ids plus the information to
map a tree on it back to the input edges.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from numba import njit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reduction:
    """Result of :func:`reduce_graph`.

    Attributes
    ----------
    n : int
        Nodes of the reduced graph.
    eu, ev, ew : numpy.ndarray
        Reduced edge list (may contain parallel edges).
    edge_ref : numpy.ndarray
        For each reduced edge, its id in the reduction history.
    terminals : numpy.ndarray
        Terminal ids in the reduced graph.
    fixed : numpy.ndarray
        History ids of edges forced into the tree.
    anc_a, anc_b : numpy.ndarray
        History: id ``h < m0`` is input (simple) edge ``h``; ``h >= m0`` is the
        union of histories ``anc_a[h]`` and ``anc_b[h]``.
    m0 : int
        Number of simple input edges.
    node_map : numpy.ndarray
        Reduced node id -> simple-graph node id.
    """

    n: int
    eu: np.ndarray
    ev: np.ndarray
    ew: np.ndarray
    edge_ref: np.ndarray
    terminals: np.ndarray
    fixed: np.ndarray
    anc_a: np.ndarray
    anc_b: np.ndarray
    m0: int
    node_map: np.ndarray


@njit(cache=True, nogil=True)
def _add_inc(node, e, inc_head, inc_next, inc_edge, n_inc):
    inc_edge[n_inc] = e
    inc_next[n_inc] = inc_head[node]
    inc_head[node] = n_inc
    return n_inc + 1


@njit(cache=True, nogil=True)
def _reduce_kernel(n, eu0, ev0, ew0, is_term0):
    m0 = len(eu0)
    cap = m0 + n + 2
    eu = np.empty(cap, np.int64)
    ev = np.empty(cap, np.int64)
    ew = np.empty(cap, np.float64)
    alive = np.zeros(cap, np.bool_)
    anc_a = np.full(cap, -1, np.int64)
    anc_b = np.full(cap, -1, np.int64)
    inc_head = np.full(n, -1, np.int64)
    inc_next = np.empty(2 * cap + 2 * m0, np.int64)
    inc_edge = np.empty(2 * cap + 2 * m0, np.int64)
    n_inc = 0
    deg = np.zeros(n, np.int64)
    is_term = is_term0.copy()
    node_alive = np.ones(n, np.bool_)
    for e in range(m0):
        eu[e] = eu0[e]
        ev[e] = ev0[e]
        ew[e] = ew0[e]
        alive[e] = True
        n_inc = _add_inc(eu0[e], e, inc_head, inc_next, inc_edge, n_inc)
        n_inc = _add_inc(ev0[e], e, inc_head, inc_next, inc_edge, n_inc)
        deg[eu0[e]] += 1
        deg[ev0[e]] += 1
    n_edges = m0
    n_terms = 0
    for v in range(n):
        if is_term[v]:
            n_terms += 1
    fixed = np.empty(n + 1, np.int64)
    n_fixed = 0
    qcap = n + 1
    queue = np.empty(qcap, np.int64)
    inq = np.ones(n, np.bool_)
    qh = 0
    qt = 0
    for v in range(n):
        queue[qt] = v
        qt += 1
    buf = np.empty(3, np.int64)
    while qh != qt:
        x = queue[qh]
        qh = (qh + 1) % qcap
        inq[x] = False
        if n_inc + deg[x] + 4 > len(inc_edge):
            new_len = 2 * len(inc_edge) + deg[x] + 4
            t1 = np.empty(new_len, np.int64)
            t1[:n_inc] = inc_next[:n_inc]
            inc_next = t1
            t2 = np.empty(new_len, np.int64)
            t2[:n_inc] = inc_edge[:n_inc]
            inc_edge = t2
        if not node_alive[x]:
            continue
        if not is_term[x]:
            if deg[x] == 0:
                node_alive[x] = False
                continue
            if deg[x] > 2:
                continue
            k = 0
            it = inc_head[x]
            while it != -1 and k < 2:
                e = inc_edge[it]
                if alive[e]:
                    buf[k] = e
                    k += 1
                it = inc_next[it]
            if deg[x] == 1:
                e = buf[0]
                y = eu[e] if ev[e] == x else ev[e]
                alive[e] = False
                deg[x] -= 1
                deg[y] -= 1
                node_alive[x] = False
                if not inq[y]:
                    inq[y] = True
                    queue[qt] = y
                    qt = (qt + 1) % qcap
                continue
            e1 = buf[0]
            e2 = buf[1]
            a = eu[e1] if ev[e1] == x else ev[e1]
            b = eu[e2] if ev[e2] == x else ev[e2]
            alive[e1] = False
            alive[e2] = False
            node_alive[x] = False
            deg[x] = 0
            if a == b:
                deg[a] -= 2
                if not inq[a]:
                    inq[a] = True
                    queue[qt] = a
                    qt = (qt + 1) % qcap
                continue
            ne = n_edges
            n_edges += 1
            eu[ne] = a
            ev[ne] = b
            ew[ne] = ew[e1] + ew[e2]
            alive[ne] = True
            anc_a[ne] = e1
            anc_b[ne] = e2
            n_inc = _add_inc(a, ne, inc_head, inc_next, inc_edge, n_inc)
            n_inc = _add_inc(b, ne, inc_head, inc_next, inc_edge, n_inc)
            if not inq[a]:
                inq[a] = True
                queue[qt] = a
                qt = (qt + 1) % qcap
            if not inq[b]:
                inq[b] = True
                queue[qt] = b
                qt = (qt + 1) % qcap
            continue
        # terminal
        if n_terms <= 1 or deg[x] == 0:
            continue
        best = -1
        bw = np.inf
        it = inc_head[x]
        while it != -1:
            e = inc_edge[it]
            if alive[e] and ew[e] < bw:
                bw = ew[e]
                best = e
            it = inc_next[it]
        z = eu[best] if ev[best] == x else ev[best]
        if not (deg[x] == 1 or is_term[z] or bw == 0.0):
            continue
        # contract edge best: merge x into z
        fixed[n_fixed] = best
        n_fixed += 1
        alive[best] = False
        deg[x] -= 1
        deg[z] -= 1
        if is_term[z]:
            n_terms -= 1
        is_term[z] = True
        is_term[x] = False
        node_alive[x] = False
        it = inc_head[x]
        while it != -1:
            e = inc_edge[it]
            if alive[e]:
                y = eu[e] if ev[e] == x else ev[e]
                if y == z:
                    alive[e] = False
                    deg[z] -= 1
                else:
                    if eu[e] == x:
                        eu[e] = z
                    else:
                        ev[e] = z
                    n_inc = _add_inc(z, e, inc_head, inc_next, inc_edge, n_inc)
                    deg[z] += 1
                    if not inq[y]:
                        inq[y] = True
                        queue[qt] = y
                        qt = (qt + 1) % qcap
            it = inc_next[it]
        deg[x] = 0
        if not inq[z]:
            inq[z] = True
            queue[qt] = z
            qt = (qt + 1) % qcap
    return eu[:n_edges], ev[:n_edges], ew[:n_edges], alive[:n_edges], anc_a[:n_edges], anc_b[:n_edges], \
        fixed[:n_fixed], is_term, node_alive


def reduce_graph(n: int, eu: np.ndarray, ev: np.ndarray, ew: np.ndarray, terminals: np.ndarray) -> Reduction:
    """Apply the degree tests to a simple graph.

    Parameters
    ----------
    n : int
        Number of nodes.
    eu, ev, ew : numpy.ndarray
        Simple edge list (no self-loops).
    terminals : numpy.ndarray
        Terminal node ids (unique).

    Returns
    -------
    Reduction
    """
    is_term = np.zeros(n, dtype=np.bool_)
    is_term[terminals] = True
    ru, rv, rw, alive, anc_a, anc_b, fixed, is_term2, node_alive = _reduce_kernel(
        n, np.ascontiguousarray(eu, np.int64), np.ascontiguousarray(ev, np.int64),
        np.ascontiguousarray(ew, np.float64), is_term)
    keep_nodes = np.nonzero(node_alive & (is_term2 | _has_edge(n, ru, rv, alive)))[0]
    new_id = np.full(n, -1, dtype=np.int64)
    new_id[keep_nodes] = np.arange(len(keep_nodes), dtype=np.int64)
    eidx = np.nonzero(alive)[0]
    red = Reduction(
        n=len(keep_nodes),
        eu=new_id[ru[eidx]],
        ev=new_id[rv[eidx]],
        ew=rw[eidx],
        edge_ref=eidx.astype(np.int64),
        terminals=new_id[np.nonzero(is_term2 & node_alive)[0]],
        fixed=fixed,
        anc_a=anc_a,
        anc_b=anc_b,
        m0=len(eu),
        node_map=keep_nodes,
    )
    logger.debug("reduced %d nodes / %d edges to %d / %d, %d fixed edges",
                 n, len(eu), red.n, len(red.eu), len(fixed))
    return red


def _has_edge(n: int, ru: np.ndarray, rv: np.ndarray, alive: np.ndarray) -> np.ndarray:
    has = np.zeros(n, dtype=np.bool_)
    has[ru[alive]] = True
    has[rv[alive]] = True
    return has


@njit(cache=True, nogil=True)
def _expand_kernel(ids, anc_a, anc_b, m0):
    out = np.empty(len(anc_a) + 1, np.int64)
    k = 0
    stack = np.empty(len(anc_a) + 1, np.int64)
    for i in range(len(ids)):
        sp = 0
        stack[sp] = ids[i]
        sp += 1
        while sp > 0:
            sp -= 1
            h = stack[sp]
            if h < m0:
                out[k] = h
                k += 1
            else:
                stack[sp] = anc_a[h]
                sp += 1
                stack[sp] = anc_b[h]
                sp += 1
    return out[:k]


def expand(red: Reduction, reduced_edges: np.ndarray) -> np.ndarray:
    """Map reduced-graph edge ids (plus the fixed edges) to simple-graph edge ids.

    Parameters
    ----------
    red : Reduction
        The reduction.
    reduced_edges : numpy.ndarray
        Edge ids in the reduced graph.

    Returns
    -------
    numpy.ndarray
        Sorted unique int64 ids of simple-graph edges.
    """
    ids = np.concatenate((red.edge_ref[np.asarray(reduced_edges, dtype=np.int64)], red.fixed)).astype(np.int64)
    return np.unique(_expand_kernel(ids, red.anc_a, red.anc_b, red.m0))
