"""Small random joint instances for tests and benchmarks."""
from __future__ import annotations

from typing import Any

import numpy as np

from connectivity.design.problem import GROUPS, DesignProblem, make_problem
from connectivity.steiner.heuristics import find_root


def random_problem(seed: int, *, n_operators: int = 3, rows: int = 5, cols: int = 6,
                   terminals: tuple[int, int] = (2, 4), model: Any = None) -> DesignProblem:
    """A small random joint instance on a perturbed grid, priced with a cost model.

    For tests and benchmarks: ``rows x cols`` nodes, about 15% of grid edges dropped (the
    grid stays connected), lengths 60-180 m, random road classes, surfaces and a few
    bridges; operators alternate telecom/power (the first is telecom, the second power)
    with 1-4 ducts and 2..terminals[1] random sites each.
    """
    from connectivity.costs import duct_costs, edge_costs, load_cost_model, make_edge_table

    model = model or load_cost_model()
    rng = np.random.default_rng(seed)
    n = rows * cols
    cand = []
    for r in range(rows):
        for c in range(cols):
            i = r * cols + c
            if c + 1 < cols:
                cand.append((i, i + 1))
            if r + 1 < rows:
                cand.append((i, i + cols))
    order = rng.permutation(len(cand))
    # random spanning tree first (Kruskal on random order), then keep 70% of the rest
    parent = np.arange(n, dtype=np.int64)   # the engine's union-find
    keep = []
    for i in order:
        a, b = cand[i]
        ra, rb = find_root(parent, a), find_root(parent, b)
        if ra != rb:
            parent[ra] = rb
            keep.append(i)
        elif rng.random() < 0.7:
            keep.append(i)
    keep.sort()
    u = np.array([cand[i][0] for i in keep])
    v = np.array([cand[i][1] for i in keep])
    m = len(u)
    classes = np.array(["residential", "service", "tertiary", "secondary", "primary", "unclassified"])
    highway = classes[rng.choice(len(classes), size=m, p=[0.35, 0.1, 0.2, 0.15, 0.1, 0.1])]
    surface = np.array(["asphalt", "concrete", "unpaved"])[rng.choice(3, size=m, p=[0.6, 0.2, 0.2])]
    bridge = rng.random(m) < 0.04
    length = rng.uniform(60, 180, size=m).round(1)
    table = make_edge_table(u, v, length, highway=highway, surface=surface, bridge=bridge)
    ec = edge_costs(model, table)
    kinds = ["telecom" if i % 2 == 0 else "power" for i in range(n_operators)]
    kinds = [kinds[0], kinds[1] if n_operators > 1 else "telecom"] + [
        str(rng.choice(GROUPS)) for _ in range(n_operators - 2)]
    kinds = kinds[:n_operators]
    ducts = rng.integers(1, 5, size=n_operators)
    diam = rng.choice([100, 125, 150], size=n_operators)
    dc = duct_costs(model, length, ducts=ducts.tolist(), diameters_mm=diam.tolist())
    terms = [rng.choice(n, size=int(rng.integers(terminals[0], terminals[1] + 1)), replace=False)
             for _ in range(n_operators)]
    return make_problem(n_nodes=n, u=u, v=v, length_m=length, trench=ec.trench,
                        operators=[f"OP{i}" for i in range(n_operators)], kinds=kinds, duct_cost=dc,
                        ducts=ducts, terminals=terms, manhole_cost=(model.manhole_telecom, model.manhole_power),
                        manhole_spacing_m=model.manhole_spacing_m, contingency_factor=model.contingency_factor)


# --------------------------------------------------------------------------- coalitions and dig-once
