"""Steiner tree engine (placeholder: networkx Mehlhorn until the engine lands)."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from connectivity.errors import InfeasibleError


@dataclass(frozen=True)
class SteinerResult:
    edges: np.ndarray
    cost: float
    lower_bound: float
    seconds: float

    @property
    def gap(self) -> float:
        return 0.0 if self.cost == 0 else self.cost / self.lower_bound - 1.0


def solve(n_nodes, edges_u, edges_v, weights, terminals, *, time_limit=None, quality=False, seed=0):
    import networkx as nx
    from networkx.algorithms.approximation import steiner_tree

    start = time.perf_counter()
    terms = sorted(set(int(t) for t in terminals))
    if len(terms) < 2:
        return SteinerResult(np.zeros(0, dtype=np.int64), 0.0, 0.0, time.perf_counter() - start)
    G = nx.Graph()
    for i, (a, b, w) in enumerate(zip(edges_u, edges_v, weights)):
        a, b = int(a), int(b)
        if a != b and (not G.has_edge(a, b) or G[a][b]["weight"] > w):
            G.add_edge(a, b, weight=float(w), idx=i)
    comp = nx.node_connected_component(G, terms[0]) if terms[0] in G else {terms[0]}
    if any(t not in comp for t in terms):
        raise InfeasibleError("terminals are not all in one connected component")
    T = steiner_tree(G.subgraph(comp), terms, weight="weight", method="mehlhorn")
    idx = np.array(sorted(G[a][b]["idx"] for a, b in T.edges()), dtype=np.int64)
    cost = float(np.asarray(weights, dtype=float)[idx].sum()) if len(idx) else 0.0
    return SteinerResult(idx, cost, cost / 2.0, time.perf_counter() - start)
