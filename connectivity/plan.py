"""Plan stage: the trench network that connects the sites, as duct segments.

The first plan joins every reachable site of every operator with one Steiner tree per
road component; each segment records the operators whose sites it serves (the part of
the tree an operator needs: the tree pruned to that operator's sites).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from connectivity import steiner
from connectivity.network import Network

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TreeResult:
    """Edges of the planned network and the quality of the Steiner solution.

    Attributes
    ----------
    edge_ids
        ``edge_id`` of every edge in the plan, sorted.
    cost
        Sum of the Steiner weights of those edges (metres for the first plan).
    lower_bound
        A valid lower bound on that sum for the same terminals.
    """

    edge_ids: np.ndarray
    cost: float
    lower_bound: float
    components: dict[int, int] = field(default_factory=dict)


def reachable_terminals(net: Network, sites: gpd.GeoDataFrame) -> pd.Series:
    """Whether each attached site shares its road component with at least one other site location.

    Co-located sites share a site node (:func:`connectivity.network.attach_sites`): sites at
    one node alone in their component have nothing to be joined to.
    """
    attached = sites["node_id"].notna()
    comp = pd.Series(-1, index=sites.index, dtype=np.int64)
    nodes = sites.loc[attached, "node_id"].to_numpy(np.int64)
    comp[attached] = net.nodes["component"].to_numpy()[nodes]
    counts = pd.Series(nodes).groupby(comp[attached].to_numpy()).nunique()
    return attached & comp.map(counts).fillna(0).gt(1)


def steiner_per_component(net: Network, terminals: np.ndarray, weights: np.ndarray, *,
                          time_limit: float | None = None, quality: bool = False) -> TreeResult:
    """One Steiner tree per road component holding two or more terminals.

    Parameters
    ----------
    terminals
        Node ids to connect.
    weights
        Weight of every edge (same order as ``net.edges``), e.g. length in metres or cost in THB.
    """
    n, u, v, _ = net.arrays()
    comp = net.nodes["component"].to_numpy()
    chosen: list[np.ndarray] = []
    cost = bound = 0.0
    per_comp: dict[int, int] = {}
    for c, terms in pd.Series(terminals).groupby(comp[terminals]):
        terms = np.unique(terms.to_numpy())
        if len(terms) < 2:
            continue
        in_comp = np.flatnonzero(comp[u] == c)
        res = steiner.solve(n, u[in_comp], v[in_comp], weights[in_comp], terms,
                            time_limit=time_limit, quality=quality)
        chosen.append(in_comp[res.edges])
        cost += res.cost
        bound += res.lower_bound
        per_comp[int(c)] = len(terms)
    edges = np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)
    return TreeResult(edge_ids=net.edges.index.to_numpy()[edges], cost=cost, lower_bound=bound, components=per_comp)


def prune_to(tree_edges: pd.DataFrame, terminals: set[int]) -> set[int]:
    """Edge ids of the smallest subtree of a forest that joins ``terminals`` (per tree)."""
    G = nx.Graph()
    for eid, a, b in zip(tree_edges.index, tree_edges["u"], tree_edges["v"]):
        G.add_edge(int(a), int(b), eid=int(eid))
    keep: set[int] = set()
    for comp in nx.connected_components(G):
        t = terminals & comp
        if len(t) < 2:
            continue
        H = G.subgraph(comp).copy()
        leaves = [x for x in H if H.degree(x) == 1 and x not in t]
        while leaves:
            x = leaves.pop()
            nbrs = list(H.neighbors(x))
            H.remove_node(x)
            leaves.extend(y for y in nbrs if H.degree(y) == 1 and y not in t)
        keep.update(d["eid"] for _, _, d in H.edges(data=True))
    return keep


def duct_segments(net: Network, edge_ids: np.ndarray, sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Duct segments of a plan: one row per planned edge with the operators it serves.

    Returns
    -------
    GeoDataFrame in the network CRS with ``segment_id``, ``edge_id``, ``length_m``,
    ``operators`` (sorted, comma-separated), ``kind``, ``highway``, ``name``.
    """
    tree = net.edges.loc[edge_ids]
    users: dict[int, list[str]] = {int(e): [] for e in tree.index}
    attached = sites[sites["node_id"].notna()]
    for op, group in attached.groupby("operator", sort=True):
        for eid in prune_to(tree, set(group["node_id"].astype(np.int64).tolist())):
            users[eid].append(str(op))
    seg = tree[["length_m", "kind", "highway", "name", "geometry"]].reset_index()
    seg.insert(0, "segment_id", np.arange(1, len(seg) + 1, dtype=np.int64))
    seg["operators"] = [",".join(sorted(users[int(e)])) for e in seg["edge_id"]]
    return gpd.GeoDataFrame(seg, geometry="geometry", crs=net.crs)


def connected_sites(sites: gpd.GeoDataFrame, reachable: pd.Series) -> gpd.GeoDataFrame:
    """Sites with ``connected`` and a final ``status`` (``connected``, ``too_far`` or ``unreachable``)."""
    status = np.where(reachable, "connected", np.where(sites["status"] == "too_far", "too_far", "unreachable"))
    return sites.assign(connected=reachable.to_numpy(bool), status=status)


@dataclass(frozen=True)
class Plan:
    """Everything a plan answers, in the network CRS (metres, THB).

    Attributes
    ----------
    ducts
        Duct segments (see :func:`duct_segments`).
    sites
        Every site with ``connected`` and ``status``.
    summary
        Plain figures (JSON-ready) for ``summary.json``.
    layers
        Other layers for maps and exports: ``roads`` (the network edges), ``buildings``, ``poles``, ``lines``.
    operators
        Names of the scenario's operators, in the order of the operator file.
    coverage
        The :class:`connectivity.coverage.Coverage` of the plan (set by the coverage stage).
    timings
        Wall-clock seconds of the run (``seconds``) and of its design stage (``design_seconds``),
        written to ``timings.json``, kept out of ``summary`` so that it is reproducible.
    """

    name: str
    network: Network
    ducts: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    summary: dict
    layers: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict)
    operators: tuple[str, ...] = ()
    coverage: Any = None
    timings: dict = field(default_factory=dict)  # wall-clock seconds (timings.json): not reproducible
