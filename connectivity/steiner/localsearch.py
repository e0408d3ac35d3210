"""Local search for Steiner trees: key-path exchange (after Uchoa & Werneck 2010).

A *key node* of a tree is a terminal or a node of tree degree >= 3; a *key
path* joins two key nodes through degree-2 Steiner nodes. Key-path exchange
removes a key path (splitting the tree in two) and reconnects the two parts
by the shortest path between them, when that is cheaper.

Implementation: one Voronoi diagram around all tree nodes gives, for every
graph edge ``(a, b)`` with different bases, a *boundary path*
``base(a) ~ a - b ~ base(b)`` of cost ``d(a) + w + d(b)``. Such a path can
replace every key path on the tree path between its bases (the key-tree
path), so processing boundary paths by increasing cost with a union-find over
the key tree gives, for every key path, its cheapest replacement in
O(m log m). Unlike the exact method, the Voronoi regions of the removed
path's inner nodes are not redistributed, so some exchanges are missed; in
exchange one round is a single Dijkstra. Each round applies a set of
mutually independent improving exchanges, and rounds repeat until none is
found.
"""

from __future__ import annotations

import logging

import numpy as np
from numba import njit

from connectivity.steiner.heuristics import mst_prune
from connectivity.steiner.paths import voronoi

logger = logging.getLogger(__name__)


@njit(cache=True)
def _tree_structure(n, indptr, head, arc_e, is_term, tree):
    """Root the tree; return parent, parent edge, preorder, tin/tout, key flags."""
    tdeg = np.zeros(n, np.int64)
    root = -1
    for v in range(n):
        for p in range(indptr[v], indptr[v + 1]):
            if tree[arc_e[p]]:
                tdeg[v] += 1
        if root < 0 and is_term[v] and tdeg[v] > 0:
            root = v
    parent = np.full(n, -1, np.int64)
    pedge = np.full(n, -1, np.int64)
    tin = np.full(n, -1, np.int64)
    tout = np.full(n, -1, np.int64)
    order = np.empty(n, np.int64)
    if root < 0:
        return root, tdeg, parent, pedge, order[:0], tin, tout
    # iterative DFS
    stack = np.empty(n, np.int64)
    it = np.zeros(n, np.int64)
    sp = 0
    stack[sp] = root
    sp += 1
    it[root] = indptr[root]
    clock = 0
    tin[root] = clock
    order[clock] = root
    clock += 1
    while sp > 0:
        v = stack[sp - 1]
        advanced = False
        while it[v] < indptr[v + 1]:
            p = it[v]
            it[v] += 1
            e = arc_e[p]
            if tree[e]:
                u = head[p]
                if u != parent[v] or pedge[v] != e:
                    if tin[u] >= 0:
                        continue
                    parent[u] = v
                    pedge[u] = e
                    tin[u] = clock
                    order[clock] = u
                    clock += 1
                    it[u] = indptr[u]
                    stack[sp] = u
                    sp += 1
                    advanced = True
                    break
        if not advanced:
            tout[v] = clock
            sp -= 1
    return root, tdeg, parent, pedge, order[:clock], tin, tout


@njit(cache=True)
def _find(jump, x):
    r = x
    while jump[r] != r:
        r = jump[r]
    while jump[x] != r:
        nx = jump[x]
        jump[x] = r
        x = nx
    return r


@njit(cache=True)
def key_path_round(n, indptr, head, arc_w, arc_e, eu, ev, ew, is_term, tree):
    """One round of key-path exchange.

    Returns
    -------
    mask : bool array over nodes
        Node set of the improved tree (before MST-prune).
    gain : float
        Predicted cost decrease (0 when no improving exchange exists).
    """
    root, tdeg, parent, pedge, order, tin, tout = _tree_structure(n, indptr, head, arc_e, is_term, tree)
    in_tree = tdeg > 0
    if root < 0:
        return in_tree, 0.0
    is_key = np.zeros(n, np.bool_)
    for v in order:
        if is_term[v] or tdeg[v] >= 3 or v == root:
            is_key[v] = True
    # lower key node of each node's key path (pid), upper key node (kpar), path costs
    pid = np.full(n, -1, np.int64)
    kpar = np.full(n, -1, np.int64)
    kdepth = np.zeros(n, np.int64)
    pcost = np.zeros(n, np.float64)
    for i in range(len(order) - 1, -1, -1):
        v = order[i]
        if is_key[v]:
            pid[v] = v
    # interior node has exactly one child: propagate pid upward from keys
    for i in range(len(order) - 1, 0, -1):
        v = order[i]
        u = parent[v]
        if not is_key[u]:
            pid[u] = pid[v]
    for i in range(1, len(order)):
        v = order[i]
        u = parent[v]
        if is_key[v]:
            # walk up to the key ancestor
            c = ew[pedge[v]]
            x = u
            while not is_key[x]:
                c += ew[pedge[x]]
                x = parent[x]
            kpar[v] = x
            pcost[v] = c
            kdepth[v] = kdepth[x] + 1
    # Voronoi regions of tree nodes
    base, dist, pred_arc = voronoi(indptr, head, arc_w, in_tree)
    m = len(eu)
    ccost = np.empty(m, np.float64)
    cedge = np.empty(m, np.int64)
    ckx = np.empty(m, np.int64)
    cky = np.empty(m, np.int64)
    nc = 0
    for e in range(m):
        if tree[e]:
            continue
        a = eu[e]
        b = ev[e]
        x = base[a]
        y = base[b]
        if x < 0 or y < 0 or x == y:
            continue
        kx = x
        ky = y
        if not is_key[x]:
            k = pid[x]
            if not is_key[y] and pid[y] == k:
                continue
            if tin[k] <= tin[y] and tin[y] < tout[k]:
                kx = k
            else:
                kx = kpar[k]
        if not is_key[y]:
            k = pid[y]
            if tin[k] <= tin[x] and tin[x] < tout[k]:
                ky = k
            else:
                ky = kpar[k]
        if kx == ky:
            continue
        ccost[nc] = dist[a] + ew[e] + dist[b]
        cedge[nc] = e
        ckx[nc] = kx
        cky[nc] = ky
        nc += 1
    corder = np.argsort(ccost[:nc], kind="mergesort")
    jump = np.arange(n)
    best = np.full(n, -1, np.int64)
    for i in range(nc):
        c = corder[i]
        a = _find(jump, ckx[c])
        b = _find(jump, cky[c])
        while a != b:
            if kdepth[a] < kdepth[b]:
                t = a
                a = b
                b = t
            best[a] = c
            jump[a] = kpar[a]
            a = _find(jump, a)
    # improving exchanges, largest gain first, kept mutually independent
    keys = np.nonzero(is_key)[0]
    gains = np.zeros(len(keys), np.float64)
    for i in range(len(keys)):
        k = keys[i]
        if best[k] >= 0:
            g = pcost[k] - ccost[best[k]]
            tol = 1e-12 * pcost[k]
            if g > tol:
                gains[i] = g
    gorder = np.argsort(-gains, kind="mergesort")
    sel = np.zeros(n, np.bool_)
    covered = np.zeros(n, np.bool_)
    removed = np.zeros(n, np.bool_)
    used_end = np.zeros(n, np.bool_)
    mask = in_tree.copy()
    total = 0.0
    for i in range(len(keys)):
        j = gorder[i]
        if gains[j] <= 0.0:
            break
        k = keys[j]
        c = best[k]
        if covered[k]:
            continue
        e = cedge[c]
        x = base[eu[e]]
        y = base[ev[e]]
        if removed[x] or removed[y]:
            continue
        # inner nodes of the key path must not be endpoints of chosen paths
        ok = True
        v = parent[k]
        while v != kpar[k]:
            if used_end[v]:
                ok = False
                break
            v = parent[v]
        if not ok:
            continue
        # the key-tree path of the candidate must hold no other selected key path
        a = ckx[c]
        b = cky[c]
        while a != b:
            if kdepth[a] < kdepth[b]:
                t = a
                a = b
                b = t
            if a != k and sel[a]:
                ok = False
                break
            a = kpar[a]
        if not ok:
            continue
        sel[k] = True
        total += gains[j]
        a = ckx[c]
        b = cky[c]
        while a != b:
            if kdepth[a] < kdepth[b]:
                t = a
                a = b
                b = t
            covered[a] = True
            a = kpar[a]
        used_end[x] = True
        used_end[y] = True
        v = parent[k]
        while v != kpar[k]:
            removed[v] = True
            mask[v] = False
            v = parent[v]
        for z in (eu[e], ev[e]):
            while not in_tree[z]:
                mask[z] = True
                z = _tail_of(indptr, pred_arc[z])
    return mask, total


@njit(cache=True)
def _tail_of(indptr, p):
    """Owner node of arc position ``p`` (binary search in indptr)."""
    lo = 0
    hi = len(indptr) - 1
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if indptr[mid] <= p:
            lo = mid
        else:
            hi = mid
    return lo


@njit(cache=True)
def spans_terminals(n, eu, ev, is_term, tree):
    """True when the edges ``tree`` connect all terminals."""
    parent = np.arange(n)
    for e in range(len(eu)):
        if tree[e]:
            a = _find(parent, eu[e])
            b = _find(parent, ev[e])
            if a != b:
                parent[a] = b
    r = -1
    for v in range(n):
        if is_term[v]:
            f = _find(parent, v)
            if r < 0:
                r = f
            elif f != r:
                return False
    return True


def improve(g, is_term: np.ndarray, order: np.ndarray, tree: np.ndarray, budget, *, max_rounds: int = 1000) -> np.ndarray:
    """Apply key-path exchange rounds until no improvement (or the budget ends).

    Parameters
    ----------
    g : CSRGraph
        The graph.
    is_term : numpy.ndarray
        Terminal flags.
    order : numpy.ndarray
        Edge ids sorted by weight (for MST-prune).
    tree : numpy.ndarray
        Bool mask over edges of a Steiner tree.
    budget
        Object with ``left()`` -> seconds remaining.
    max_rounds : int
        Upper bound on rounds.

    Returns
    -------
    numpy.ndarray
        Bool edge mask of a tree at most as costly as ``tree``.
    """
    cost = float(g.ew[tree].sum())
    for _ in range(max_rounds):
        if budget.left() <= 0:
            break
        mask, gain = key_path_round(g.n, g.indptr, g.head, g.arc_w, g.arc_e, g.eu, g.ev, g.ew, is_term, tree)
        if gain <= 0:
            break
        new = mst_prune(g.n, g.eu, g.ev, order, is_term, mask)
        new_cost = float(g.ew[new].sum())
        if new_cost >= cost or not spans_terminals(g.n, g.eu, g.ev, is_term, new):
            break
        tree, cost = new, new_cost
    return tree

