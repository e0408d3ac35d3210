"""Adapters between the scenario's frames and the plain-array :class:`DesignProblem`:
the problem from edge tables and costs, terminals per operator (the ``[design]`` settings
are parsed with the scenario, :class:`connectivity.config.DesignSettings`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from connectivity.config import DesignSettings, design_settings  # noqa: F401  (the [design] table, re-exported)
from connectivity.design.problem import DesignProblem, make_problem
from connectivity.errors import ConfigError


def build_problem(model: Any, table: Any, costs: Any, *, n_nodes: int, operators: Sequence[Any],
                  terminals: Mapping[str, Sequence[int]],
                  required: Mapping[str, Sequence[int]] | None = None) -> DesignProblem:
    """A :class:`DesignProblem` from a cost model, an edge table and its edge costs.

    Parameters
    ----------
    model
        :class:`connectivity.costs.CostModel` (duct and manhole prices, contingency).
    table, costs
        :class:`connectivity.costs.EdgeTable` and the :class:`connectivity.costs.EdgeCosts` of it.
    operators
        :class:`connectivity.config.OperatorSpec` of every operator (name, kind, ducts, diameter).
    terminals
        Operator name -> node ids of its sites and hub (missing = none).
    required
        Operator name -> edge ids its ducts must use.
    """
    from connectivity.costs import duct_costs

    names = [o.name for o in operators]
    unknown = sorted(set(terminals) - set(names)) + sorted(set(required or {}) - set(names))
    if unknown:
        raise ConfigError(f"unknown operator(s) {', '.join(unknown)}; known: {', '.join(names)}")
    dc = duct_costs(model, table.length_m, ducts=[o.ducts for o in operators],
                    diameters_mm=[o.duct_diameter_mm for o in operators])
    return make_problem(n_nodes=n_nodes, u=table.u, v=table.v, length_m=table.length_m, trench=costs.trench,
                        operators=names, kinds=[o.kind for o in operators], duct_cost=dc,
                        ducts=[o.ducts for o in operators],
                        terminals=[terminals.get(o, ()) for o in names],
                        manhole_cost=(model.manhole_telecom, model.manhole_power),
                        manhole_spacing_m=model.manhole_spacing_m,
                        required=None if required is None else [required.get(o, ()) for o in names],
                        contingency_factor=model.contingency_factor)


def joinable_sites(node_component: np.ndarray, sites: Any, *,
                   anchors: Mapping[str, Sequence[int]] | None = None) -> np.ndarray:
    """Per row of ``sites`` (``node_id``, ``operator``), whether its operator's ducts can reach it:
    attached, and its component holds another location of the same operator (site nodes:
    co-located sites share one) or one of the operator's ``anchors`` (operator -> node ids its
    network must reach anyway, e.g. the ends of its corridor streets). The one rule of which
    sites a plan can join (:func:`terminals_by_operator`, :func:`connectivity.plan.reachable_terminals`)."""
    node = sites["node_id"]
    attached = node.notna().to_numpy()
    operator = sites["operator"].astype(str).to_numpy()
    keep = np.zeros(len(sites), dtype=bool)
    for op in np.unique(operator[attached]):
        idx = np.flatnonzero(attached & (operator == op))
        nodes = node.to_numpy()[idx].astype(np.int64)
        comp = node_component[nodes]
        located = np.unique(np.column_stack([comp, nodes]), axis=0)   # (component, node) of each location
        comps, locations = np.unique(located[:, 0], return_counts=True)
        anchored = node_component[np.asarray((anchors or {}).get(op, ()), dtype=np.int64)]
        keep[idx] = (locations[np.searchsorted(comps, comp)] >= 2) | np.isin(comp, anchored)
    return keep


def terminals_by_operator(node_component: np.ndarray, sites: Any, operators: Sequence[str], *,
                          anchors: Mapping[str, Sequence[int]] | None = None
                          ) -> tuple[dict[str, np.ndarray], list[str]]:
    """Operator -> terminal node ids from attached sites; sites its ducts cannot reach
    (:func:`joinable_sites`) are dropped: an operator gets one duct network per road component
    holding two or more of its site locations (joined to its hub where the hub is in that
    component), or one location and one of its ``anchors``.
    Returns the terminals and the ``site_id`` of dropped sites (attached ones, by operator)."""
    keep = joinable_sites(node_component, sites, anchors=anchors)
    attached = sites["node_id"].notna().to_numpy()
    operator = sites["operator"].astype(str).to_numpy()
    out: dict[str, np.ndarray] = {}
    dropped: list[str] = []
    for op in operators:
        rows = attached & (operator == op)
        dropped += sites.loc[rows & ~keep, "site_id"].astype(str).tolist()
        out[op] = np.unique(sites["node_id"].to_numpy()[rows & keep].astype(np.int64))
    return out, dropped
