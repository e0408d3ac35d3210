"""Manholes (pull points) of a group's duct network.

Manholes are placed per group (telecom, power: they never share a chamber) on the
network formed by the group's ducts: at every site connection (a terminal of an operator
of the group), at every junction (a node of degree >= 3), and along every continuous run
between those so that no two pull points are more than ``spacing_m`` apart
(MIL-HDBK-1012/3: about 140 m). The rule of at most two 90-degree bends between pull
points is not modelled (road geometry bends are not classified).
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from connectivity.steiner.graph import component_labels


@dataclass(frozen=True)
class ManholeLayout:
    """Pull points of one group.

    Attributes
    ----------
    node_id, node_reason
        Manholes at nodes: node ids (int64) and reasons ('site' or 'junction').
    spacing_edge, spacing_offset_m
        Manholes inside runs: the edge holding each and its distance from the edge's ``u``
        end (metres).
    """

    node_id: np.ndarray
    node_reason: np.ndarray
    spacing_edge: np.ndarray
    spacing_offset_m: np.ndarray

    @property
    def count(self) -> int:
        return len(self.node_id) + len(self.spacing_edge)


def _runs(n_used_edges: np.ndarray, u: np.ndarray, v: np.ndarray, key: set[int],
          adj: dict[int, list[int]]) -> list[list[tuple[int, bool]]]:
    """Maximal paths between key nodes: lists of (edge id, forward u->v)."""
    seen: set[int] = set()
    runs: list[list[tuple[int, bool]]] = []

    def walk(start: int, e: int) -> list[tuple[int, bool]]:
        run = []
        node = start
        while True:
            seen.add(e)
            fwd = int(u[e]) == node
            run.append((e, fwd))
            node = int(v[e]) if fwd else int(u[e])
            if node in key:
                return run
            nxt = [f for f in adj[node] if f not in seen]
            if not nxt:
                return run
            e = nxt[0]

    for k in sorted(key):
        for e in adj.get(k, []):
            if e not in seen:
                runs.append(walk(k, e))
    for e in n_used_edges:  # cycles of degree-2 nodes without a key node
        e = int(e)
        if e not in seen:
            start = int(u[e])
            key.add(start)
            runs.append(walk(start, e))
    return runs


def place_manholes(u: Sequence[int], v: Sequence[int], length_m: Sequence[float], used: np.ndarray,
                   terminals: Sequence[int], *, spacing_m: float) -> ManholeLayout:
    """Place the pull points of one group on the edges ``used`` (bool mask over edges).

    Parameters
    ----------
    u, v, length_m
        Edge end nodes and lengths (metres).
    used
        Boolean mask of the edges carrying the group's ducts.
    terminals
        Site connections of the group (node ids); those on a used edge get a manhole.
    spacing_m
        Maximum distance between pull points along a run (metres).

    Returns
    -------
    ManholeLayout
        A run of length L between two node manholes gets ``ceil(L / spacing_m) - 1``
        evenly spaced manholes; a closed loop of length L through no site or junction (a ring
        of streets) gets ``ceil(L / spacing_m)``, one at a node of it.
    """
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    length_m = np.asarray(length_m, dtype=float)
    edges = np.flatnonzero(np.asarray(used, dtype=bool))
    adj: dict[int, list[int]] = defaultdict(list)
    for e in edges:
        adj[int(u[e])].append(int(e))
        adj[int(v[e])].append(int(e))
    nodes = set(adj)
    sites = {int(t) for t in terminals} & nodes
    junctions = {n for n in nodes if len(adj[n]) >= 3} - sites
    key = sites | junctions | {n for n in nodes if len(adj[n]) == 1}
    node_ids = sorted(sites | junctions)
    reasons = np.array(["site" if n in sites else "junction" for n in node_ids], dtype=object)
    sp_edge: list[int] = []
    sp_off: list[float] = []
    for run in _runs(edges, u, v, set(key), adj):
        total = float(sum(length_m[e] for e, _ in run))
        start = int(u[run[0][0]]) if run[0][1] else int(v[run[0][0]])
        ring = start not in key   # a closed loop with no key node: its first pull point at its start
        k = max(0, math.ceil(total / spacing_m - 1e-9) - (0 if ring else 1))
        if k == 0:
            continue
        step = total / (k if ring else k + 1)
        targets = [step * (i + (0 if ring else 1)) for i in range(k)]
        pos = 0.0
        ti = 0
        for e, fwd in run:
            L = float(length_m[e])
            while ti < len(targets) and targets[ti] <= pos + L + 1e-9:
                along = min(max(targets[ti] - pos, 0.0), L)
                sp_edge.append(int(e))
                sp_off.append(along if fwd else L - along)
                ti += 1
            pos += L
    # nodes of degree 1 that are not sites (should not occur in pruned trees) get no manhole
    return ManholeLayout(node_id=np.array(node_ids, dtype=np.int64), node_reason=reasons,
                         spacing_edge=np.array(sp_edge, dtype=np.int64),
                         spacing_offset_m=np.array(sp_off, dtype=float))


def count_manholes(u: np.ndarray, v: np.ndarray, length_m: np.ndarray, used: np.ndarray,
                   terminals: Sequence[int], *, spacing_m: float) -> int:
    """How many pull points :func:`place_manholes` places, without placing them (vectorised).

    Runs are the connected pieces of the used edges once the network is cut at its key
    nodes (sites, junctions, ends); a run of length L holds ``ceil(L / spacing_m) - 1``, a
    closed loop through no key node ``ceil(L / spacing_m)``.
    """
    edges = np.flatnonzero(np.asarray(used, dtype=bool))
    if len(edges) == 0:
        return 0
    eu, ev = np.asarray(u)[edges], np.asarray(v)[edges]
    nodes, inv = np.unique(np.concatenate([eu, ev]), return_inverse=True)
    a, b = inv[:len(edges)], inv[len(edges):]
    deg = np.bincount(a, minlength=len(nodes)) + np.bincount(b, minlength=len(nodes))
    site = np.isin(nodes, np.asarray(terminals, dtype=np.int64))
    chambers = int(np.count_nonzero(site | (deg >= 3)))
    through = ~site & (deg == 2)          # a run passes through these nodes
    ends = np.concatenate([a, b])
    ids = np.concatenate([np.arange(len(edges)), np.arange(len(edges))])
    order = np.argsort(ends, kind="stable")
    ends, ids = ends[order], ids[order]
    pairs = through[ends]
    first = ids[pairs][0::2]
    second = ids[pairs][1::2]
    m = len(edges)
    run = component_labels(m, first, second)
    run_len = np.bincount(run, weights=np.asarray(length_m, dtype=float)[edges])
    key_ends = np.bincount(run, weights=(~through[a]).astype(float) + (~through[b]), minlength=len(run_len))
    ring = key_ends == 0   # a closed loop through no key node: no chamber at its ends to subtract
    inner = np.maximum(np.ceil(run_len / spacing_m - 1e-9).astype(np.int64) - (~ring), 0)
    return chambers + int(inner.sum())
