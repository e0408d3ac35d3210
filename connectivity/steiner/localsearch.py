"""Local search for Steiner trees: key-path exchange and key-vertex elimination (after Uchoa & Werneck 2010).

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

from connectivity.steiner.heuristics import find_root, mst_prune
from connectivity.steiner.paths import heap_pop as _hpop
from connectivity.steiner.paths import heap_push as _hpush
from connectivity.steiner.paths import voronoi

logger = logging.getLogger(__name__)


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def _key_nodes(n, order, is_term, tdeg, root):
    """Key nodes of a tree: terminals, branching nodes (degree >= 3) and the root."""
    is_key = np.zeros(n, np.bool_)
    for v in order:
        if is_term[v] or tdeg[v] >= 3 or v == root:
            is_key[v] = True
    return is_key


@njit(cache=True, nogil=True)
def _key_paths(n, order, parent, pedge, ew, is_term, tdeg, root):
    """Key nodes and key paths of a tree (``order``: its nodes root first; ``parent``/``pedge``:
    parent node and edge; ``tdeg``: degree in the tree). Returns ``is_key`` (:func:`_key_nodes`),
    per node ``pid`` (the lower key node of its key path; itself for a key node), and per key
    node ``kpar`` (the key node above it), ``kdepth`` (depth in the key tree) and ``pcost``
    (weight of the key path up to ``kpar``)."""
    is_key = _key_nodes(n, order, is_term, tdeg, root)
    pid = np.full(n, -1, np.int64)
    kpar = np.full(n, -1, np.int64)
    kdepth = np.zeros(n, np.int64)
    pcost = np.zeros(n, np.float64)
    for v in order:
        if is_key[v]:
            pid[v] = v
    # an interior node has exactly one child: propagate pid upward from the keys
    for i in range(len(order) - 1, 0, -1):
        v = order[i]
        if not is_key[parent[v]]:
            pid[parent[v]] = pid[v]
    for i in range(1, len(order)):
        v = order[i]
        if is_key[v]:   # walk up to the key ancestor
            c = ew[pedge[v]]
            x = parent[v]
            while not is_key[x]:
                c += ew[pedge[x]]
                x = parent[x]
            kpar[v] = x
            pcost[v] = c
            kdepth[v] = kdepth[x] + 1
    return is_key, pid, kpar, kdepth, pcost


@njit(cache=True, nogil=True, inline="always")
def _key_ends(x, y, is_key, pid, kpar, tin, tout):
    """The key nodes that a path between tree nodes ``x`` and ``y`` (their Voronoi bases) joins:
    each end's key node on the side of the other; equal (no exchange) when both lie on one key path."""
    kx = x
    ky = y
    if not is_key[x]:
        k = pid[x]
        if not is_key[y] and pid[y] == k:
            return k, k
        kx = k if (tin[k] <= tin[y] and tin[y] < tout[k]) else kpar[k]
    if not is_key[y]:
        k = pid[y]
        ky = k if (tin[k] <= tin[x] and tin[x] < tout[k]) else kpar[k]
    return kx, ky


@njit(cache=True, nogil=True)
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
    is_key, pid, kpar, kdepth, pcost = _key_paths(n, order, parent, pedge, ew, is_term, tdeg, root)
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
        kx, ky = _key_ends(x, y, is_key, pid, kpar, tin, tout)
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
        a = find_root(jump, ckx[c])
        b = find_root(jump, cky[c])
        while a != b:
            if kdepth[a] < kdepth[b]:
                t = a
                a = b
                b = t
            best[a] = c
            jump[a] = kpar[a]
            a = find_root(jump, a)
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


_MAXD = 8


@njit(cache=True, nogil=True)
def key_vertex_round(n, indptr, head, arc_w, arc_e, eu, ev, ew, is_term, tree, max_select):
    """One round of key-vertex elimination.

    A Steiner key vertex ``v`` with its key paths is removed and the parts
    left are reconnected by a minimum spanning tree over the cheapest
    boundary paths between them; applied when cheaper. Boundary paths come
    from the round's Voronoi diagram of tree nodes, plus, per vertex, a
    Dijkstra that re-assigns the regions of the removed nodes to surviving
    tree nodes (so paths through the freed area are found). At most
    ``max_select`` non-conflicting eliminations are applied together.

    Returns
    -------
    mask : bool array over nodes
        Node set of the new tree (before MST-prune).
    gain : float
        Predicted cost decrease (0 when nothing improves).
    """
    root, tdeg, parent, pedge, order, tin, tout = _tree_structure(n, indptr, head, arc_e, is_term, tree)
    in_tree = tdeg > 0
    if root < 0:
        return in_tree, 0.0
    is_key, pid, kpar, kdepth, pcost = _key_paths(n, order, parent, pedge, ew, is_term, tdeg, root)
    # Steiner key vertices: slots, branch indices, removed cost
    slot = np.full(n, -1, np.int64)
    ns = 0
    for v in order:
        if is_key[v] and not is_term[v] and tdeg[v] <= _MAXD:
            slot[v] = ns
            ns += 1
    if ns == 0:
        return in_tree, 0.0
    nbr = np.zeros(n, np.int64)
    brindex = np.full(n, -1, np.int64)
    removed_cost = np.zeros(n, np.float64)
    for v in order:
        if is_key[v] and v != root:
            w = kpar[v]
            brindex[v] = nbr[w]
            nbr[w] += 1
            removed_cost[w] += pcost[v]
    for v in order:
        if slot[v] >= 0:
            removed_cost[v] += pcost[v]
    max_r = 0.0
    for v in order:
        if slot[v] >= 0 and removed_cost[v] > max_r:
            max_r = removed_cost[v]
    base, dist, pred_arc = voronoi(indptr, head, arc_w, in_tree)
    pbest = np.full((ns, _MAXD * _MAXD), np.inf)
    pcand = np.full((ns, _MAXD * _MAXD), -1, np.int64)
    for e in range(len(eu)):
        if tree[e]:
            continue
        a = eu[e]
        b = ev[e]
        x = base[a]
        y = base[b]
        if x < 0 or y < 0 or x == y:
            continue
        cc = dist[a] + ew[e] + dist[b]
        if cc >= max_r:
            continue
        kx, ky = _key_ends(x, y, is_key, pid, kpar, tin, tout)
        if kx == ky:
            continue
        # lowest common ancestor in the key tree
        a1 = kx
        b1 = ky
        while a1 != b1:
            if kdepth[a1] >= kdepth[b1]:
                a1 = kpar[a1]
            else:
                b1 = kpar[b1]
        lca = a1
        for side in range(2):
            start = kx if side == 0 else ky
            endpt = x if side == 0 else y
            other = y if side == 0 else x
            prev = start
            w = kpar[start] if start != lca else lca
            while start != lca and w != lca:
                _record(w, brindex[prev], nbr[w], cc, e, endpt, other, slot, is_key, pid, kpar,
                        removed_cost, pbest, pcand)
                prev = w
                w = kpar[w]
            if side == 0 and kx != lca and ky != lca:
                # through the LCA from child branch of x side to child branch of y side
                py = ky
                while kpar[py] != lca:
                    py = kpar[py]
                _record(lca, brindex[prev], brindex[py], cc, e, x, y, slot, is_key, pid, kpar,
                        removed_cost, pbest, pcand)
    # regions grouped by base, key children of each key node
    rcount = np.zeros(n + 1, np.int64)
    for z in range(n):
        if base[z] >= 0:
            rcount[base[z] + 1] += 1
    for i in range(n):
        rcount[i + 1] += rcount[i]
    rfill = rcount[:-1].copy()
    rnodes = np.empty(rcount[n], np.int64)
    for z in range(n):
        if base[z] >= 0:
            rnodes[rfill[base[z]]] = z
            rfill[base[z]] += 1
    kstart = np.zeros(n + 1, np.int64)
    for v in order:
        if is_key[v] and v != root:
            kstart[kpar[v] + 1] += 1
    for i in range(n):
        kstart[i + 1] += kstart[i]
    kfill = kstart[:-1].copy()
    kids = np.empty(kstart[n], np.int64)
    for v in order:
        if is_key[v] and v != root:
            kids[kfill[kpar[v]]] = v
            kfill[kpar[v]] += 1
    # per vertex: repair the regions of removed nodes, then MST over its branches
    stamp = np.full(n, -1, np.int64)
    dist2 = np.full(n, np.inf)
    base2 = np.full(n, -1, np.int64)
    prev2 = np.full(n, -1, np.int64)
    hk = np.empty(n, np.float64)
    hv = np.empty(n, np.int64)
    hpos = np.full(n, -1, np.int64)
    rem = np.empty(n, np.int64)
    reg = np.empty(n, np.int64)
    lz = np.empty(4 * len(eu) + 4, np.int64)
    lu = np.empty(4 * len(eu) + 4, np.int64)
    gains = np.zeros(ns, np.float64)
    verts = np.empty(ns, np.int64)
    pstart = np.zeros(ns, np.int64)
    pend = np.zeros(ns, np.int64)
    endarr = np.full((ns, 2 * _MAXD), -1, np.int64)
    pb = np.empty(n + 16, np.int64)
    npb = 0
    chosen = np.full(_MAXD, -1, np.int64)
    intree = np.zeros(_MAXD, np.bool_)
    keyd = np.empty(_MAXD, np.float64)
    keyc = np.empty(_MAXD, np.int64)
    for v in order:
        s = slot[v]
        if s < 0:
            continue
        verts[s] = v
        d = nbr[v] + (1 if v != root else 0)
        if d < 2:
            continue
        # removed tree nodes: v and inner nodes of its key paths
        nr = 0
        rem[nr] = v
        nr += 1
        for j in range(kstart[v], kstart[v + 1]):
            u = parent[kids[j]]
            while u != v:
                rem[nr] = u
                nr += 1
                u = parent[u]
        if v != root:
            u = parent[v]
            while u != kpar[v]:
                rem[nr] = u
                nr += 1
                u = parent[u]
        ng = 0
        for j in range(nr):
            x = rem[j]
            for q in range(rcount[x], rcount[x + 1]):
                z = rnodes[q]
                stamp[z] = v
                reg[ng] = z
                ng += 1
        # Dijkstra inside the removed regions, seeded from their surroundings
        size = 0
        for j in range(ng):
            z = reg[j]
            dist2[z] = np.inf
            base2[z] = -1
            for p in range(indptr[z], indptr[z + 1]):
                u = head[p]
                if stamp[u] != v and base[u] >= 0:
                    nd = dist[u] + arc_w[p]
                    if nd < dist2[z]:
                        dist2[z] = nd
                        base2[z] = base[u]
                        prev2[z] = u
            if base2[z] >= 0:
                size = _hpush(hk, hv, hpos, size, z, dist2[z])
        while size > 0:
            z, dz, size = _hpop(hk, hv, hpos, size)
            for p in range(indptr[z], indptr[z + 1]):
                u = head[p]
                if stamp[u] == v and dz + arc_w[p] < dist2[u]:
                    dist2[u] = dz + arc_w[p]
                    base2[u] = base2[z]
                    prev2[u] = z
                    size = _hpush(hk, hv, hpos, size, u, dist2[u])
        # local candidates through the repaired regions
        nl = 0
        for j in range(ng):
            z = reg[j]
            if base2[z] < 0:
                continue
            bz = _branch(base2[z], v, root, tin, tout, kids, kstart, brindex, nbr)
            if bz < 0:
                continue
            for p in range(indptr[z], indptr[z + 1]):
                u = head[p]
                if stamp[u] == v:
                    if u < z or base2[u] < 0:
                        continue
                    cc = dist2[z] + arc_w[p] + dist2[u]
                    bu_node = base2[u]
                else:
                    if base[u] < 0:
                        continue
                    cc = dist2[z] + arc_w[p] + dist[u]
                    bu_node = base[u]
                if cc >= removed_cost[v]:
                    continue
                bu = _branch(bu_node, v, root, tin, tout, kids, kstart, brindex, nbr)
                if bu < 0 or bu == bz:
                    continue
                lo = min(bz, bu)
                hi = max(bz, bu)
                if cc < pbest[s, lo * _MAXD + hi]:
                    pbest[s, lo * _MAXD + hi] = cc
                    lz[nl] = z
                    lu[nl] = u
                    pcand[s, lo * _MAXD + hi] = -(nl + 2)
                    nl += 1
        # MST over the branches (Prim on at most _MAXD nodes)
        for i in range(d):
            intree[i] = False
            keyd[i] = np.inf
            keyc[i] = -1
        keyd[0] = 0.0
        total = 0.0
        ok = True
        for it in range(d):
            bi = -1
            bd = np.inf
            for i in range(d):
                if not intree[i] and keyd[i] < bd:
                    bd = keyd[i]
                    bi = i
            if bi < 0:
                ok = False
                break
            intree[bi] = True
            total += bd
            if it > 0:
                chosen[it - 1] = keyc[bi]
            for j in range(d):
                if not intree[j]:
                    lo = min(bi, j)
                    hi = max(bi, j)
                    c = pbest[s, lo * _MAXD + hi]
                    if c < keyd[j]:
                        keyd[j] = c
                        keyc[j] = pcand[s, lo * _MAXD + hi]
        if ok and total < removed_cost[v] * (1.0 - 1e-12):
            gains[s] = removed_cost[v] - total
            pstart[s] = npb
            for j in range(d - 1):
                c = chosen[j]
                for side in range(2):
                    if c >= 0:
                        q = eu[c] if side == 0 else ev[c]
                    else:
                        q = lz[-c - 2] if side == 0 else lu[-c - 2]
                    # walk to the base, through repaired regions first
                    while True:
                        if npb + 2 >= len(pb):
                            t2 = np.empty(2 * len(pb), np.int64)
                            t2[:npb] = pb[:npb]
                            pb = t2
                        if c < 0 and stamp[q] == v:
                            pb[npb] = q
                            npb += 1
                            q = prev2[q]
                        elif not in_tree[q]:
                            pb[npb] = q
                            npb += 1
                            q = _tail_of(indptr, pred_arc[q])
                        else:
                            break
                    endarr[s, 2 * j + side] = q
            pend[s] = npb
    gorder = np.argsort(-gains, kind="mergesort")
    removed = np.zeros(n, np.bool_)
    used_end = np.zeros(n, np.bool_)
    sel = np.zeros(ns, np.bool_)
    sel_list = np.empty(ns, np.int64)
    total_gain = 0.0
    n_sel = 0
    for ii in range(ns):
        s = gorder[ii]
        if gains[s] <= 0.0 or n_sel >= max_select:
            break
        v = verts[s]
        d = nbr[v] + (1 if v != root else 0)
        # v and the inner nodes of its key paths must be untouched so far
        nr = 0
        rem[nr] = v
        nr += 1
        for j in range(kstart[v], kstart[v + 1]):
            if removed[kids[j]]:
                nr = -1
                break
            u = parent[kids[j]]
            while u != v:
                rem[nr] = u
                nr += 1
                u = parent[u]
        if nr < 0:
            continue
        if v != root:
            if removed[kpar[v]]:
                continue
            u = parent[v]
            while u != kpar[v]:
                rem[nr] = u
                nr += 1
                u = parent[u]
        ok = True
        for j in range(nr):
            if removed[rem[j]] or used_end[rem[j]]:
                ok = False
        for j in range(2 * (d - 1)):
            if removed[endarr[s, j]]:
                ok = False
        # pairwise independence: each plan's endpoints stay on the other vertex's side
        for jj in range(n_sel):
            if not ok:
                break
            s2 = sel_list[jj]
            w = verts[s2]
            d2 = nbr[w] + (1 if w != root else 0)
            bvw = _branch(v, w, root, tin, tout, kids, kstart, brindex, nbr)
            bwv = _branch(w, v, root, tin, tout, kids, kstart, brindex, nbr)
            for j in range(2 * (d - 1)):
                if _branch(endarr[s, j], w, root, tin, tout, kids, kstart, brindex, nbr) != bvw:
                    ok = False
            for j in range(2 * (d2 - 1)):
                if _branch(endarr[s2, j], v, root, tin, tout, kids, kstart, brindex, nbr) != bwv:
                    ok = False
        if not ok:
            continue
        sel[s] = True
        sel_list[n_sel] = s
        n_sel += 1
        total_gain += gains[s]
        for j in range(nr):
            removed[rem[j]] = True
        for j in range(2 * (d - 1)):
            used_end[endarr[s, j]] = True
    mask = in_tree & ~removed
    for s in range(ns):
        if sel[s]:
            for j in range(pstart[s], pend[s]):
                mask[pb[j]] = True
    return mask, total_gain


@njit(cache=True, nogil=True)
def _branch(x, v, root, tin, tout, kids, kstart, brindex, nbr):
    """Branch index at ``v`` of surviving tree node ``x`` (-1 if ``x`` is removed with ``v``)."""
    if tin[v] <= tin[x] and tin[x] < tout[v]:
        for j in range(kstart[v], kstart[v + 1]):
            c = kids[j]
            if tin[c] <= tin[x] and tin[x] < tout[c]:
                return brindex[c]
        return -1
    return nbr[v]


@njit(cache=True, nogil=True)
def _record(w, bi, bj, cc, e, endpt, other, slot, is_key, pid, kpar, removed_cost, pbest, pcand):
    s = slot[w]
    if s < 0 or cc >= removed_cost[w] or bi < 0 or bj < 0:
        return
    # endpoints must survive the removal of w's key paths
    for z in (endpt, other):
        if z == w:
            return
        if not is_key[z]:
            k = pid[z]
            if k == w or kpar[k] == w:
                return
    lo = min(bi, bj)
    hi = max(bi, bj)
    if lo == hi or hi >= _MAXD:
        return
    if cc < pbest[s, lo * _MAXD + hi]:
        pbest[s, lo * _MAXD + hi] = cc
        pcand[s, lo * _MAXD + hi] = e


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def spans_terminals(n, eu, ev, is_term, tree):
    """True when the edges ``tree`` connect all terminals."""
    parent = np.arange(n)
    for e in range(len(eu)):
        if tree[e]:
            a = find_root(parent, eu[e])
            b = find_root(parent, ev[e])
            if a != b:
                parent[a] = b
    r = -1
    for v in range(n):
        if is_term[v]:
            f = find_root(parent, v)
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
    use_kv = True
    for _ in range(max_rounds):
        if budget.left() <= 0:
            break
        new = _round(g, is_term, order, tree, cost, key_path_round, 0)
        if new is None and use_kv:
            new = _round(g, is_term, order, tree, cost, key_vertex_round, g.n)
            if new is None:
                new = _round(g, is_term, order, tree, cost, key_vertex_round, 1)
        if new is None:
            break
        tree = new
        cost = float(g.ew[tree].sum())
    return tree


def _round(g, is_term, order, tree, cost, kind, max_select):
    """Run one round of ``kind``; return the MST-pruned better tree or None."""
    if kind is key_path_round:
        mask, gain = key_path_round(g.n, g.indptr, g.head, g.arc_w, g.arc_e, g.eu, g.ev, g.ew, is_term, tree)
    else:
        mask, gain = key_vertex_round(g.n, g.indptr, g.head, g.arc_w, g.arc_e, g.eu, g.ev, g.ew, is_term, tree,
                                      max_select)
    if gain <= 0:
        return None
    new = mst_prune(g.n, g.eu, g.ev, order, is_term, mask)
    if float(g.ew[new].sum()) >= cost or not spans_terminals(g.n, g.eu, g.ev, is_term, new):
        return None
    return new
