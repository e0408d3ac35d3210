"""Construction heuristics: shortest-path heuristic and MST-prune (numba)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def find_root(parent, x):
    """Root of ``x`` in the union-find forest ``parent`` (int64 array), compressing the path:
    the package's one union-find (the engine's MST-prune and local search, random instances)."""
    r = x
    while parent[r] != r:
        r = parent[r]
    while parent[x] != r:
        nx = parent[x]
        parent[x] = r
        x = nx
    return r


@njit(cache=True, nogil=True)
def mst_prune(n, eu, ev, order, is_term, mask):
    """MST of the subgraph induced by ``mask``, then drop non-terminal leaves.

    Parameters
    ----------
    n : int
        Number of nodes.
    eu, ev : int64 arrays
        Edge ends.
    order : int64 array
        Edge ids sorted by weight (ties by id).
    is_term, mask : bool arrays
        Terminals; nodes allowed in the tree.

    Returns
    -------
    in_tree : bool array over edges
    """
    parent = np.arange(n)
    chosen = np.zeros(len(eu), np.bool_)
    deg = np.zeros(n, np.int64)
    for i in range(len(order)):
        e = order[i]
        a = eu[e]
        b = ev[e]
        if not (mask[a] and mask[b]):
            continue
        ra = find_root(parent, a)
        rb = find_root(parent, b)
        if ra == rb:
            continue
        parent[ra] = rb
        chosen[e] = True
        deg[a] += 1
        deg[b] += 1
    return prune_leaves(n, eu, ev, is_term, chosen, deg)


@njit(cache=True, nogil=True)
def prune_leaves(n, eu, ev, is_term, chosen, deg):
    """Repeatedly remove non-terminal leaves of a forest given by ``chosen`` edges."""
    # incident chosen edges per node via CSR over chosen edges
    cnt = np.zeros(n + 1, np.int64)
    m = len(eu)
    for e in range(m):
        if chosen[e]:
            cnt[eu[e] + 1] += 1
            cnt[ev[e] + 1] += 1
    for i in range(n):
        cnt[i + 1] += cnt[i]
    fill = cnt[:-1].copy()
    inc = np.empty(cnt[n], np.int64)
    for e in range(m):
        if chosen[e]:
            inc[fill[eu[e]]] = e
            fill[eu[e]] += 1
            inc[fill[ev[e]]] = e
            fill[ev[e]] += 1
    stack = np.empty(n, np.int64)
    sp = 0
    for v in range(n):
        if deg[v] == 1 and not is_term[v]:
            stack[sp] = v
            sp += 1
    while sp > 0:
        sp -= 1
        v = stack[sp]
        if deg[v] != 1:
            continue
        for k in range(cnt[v], cnt[v + 1]):
            e = inc[k]
            if chosen[e]:
                chosen[e] = False
                w = eu[e] if ev[e] == v else ev[e]
                deg[v] -= 1
                deg[w] -= 1
                if deg[w] == 1 and not is_term[w]:
                    stack[sp] = w
                    sp += 1
                break
    return chosen


@njit(cache=True, nogil=True)
def merge_fixed(n, eu, ev, fixed, tree_edges, is_term):
    """Union of required edges and a tree, as one connected subgraph without avoidable cycles.

    Every edge of ``fixed`` is kept (even when the fixed edges form cycles);
    the edges of ``tree_edges`` are added in the given order unless they close
    a cycle, then non-terminal leaves are removed (ends of fixed edges are
    expected to be terminals, so fixed edges are never removed).

    Returns
    -------
    chosen : bool array over edges
    """
    parent = np.arange(n)
    chosen = np.zeros(len(eu), np.bool_)
    deg = np.zeros(n, np.int64)
    for i in range(len(fixed)):
        e = fixed[i]
        if chosen[e]:
            continue
        chosen[e] = True
        deg[eu[e]] += 1
        deg[ev[e]] += 1
        ra = find_root(parent, eu[e])
        rb = find_root(parent, ev[e])
        if ra != rb:
            parent[ra] = rb
    for i in range(len(tree_edges)):
        e = tree_edges[i]
        if chosen[e]:
            continue
        ra = find_root(parent, eu[e])
        rb = find_root(parent, ev[e])
        if ra == rb:
            continue
        parent[ra] = rb
        chosen[e] = True
        deg[eu[e]] += 1
        deg[ev[e]] += 1
    return prune_leaves(n, eu, ev, is_term, chosen, deg)
