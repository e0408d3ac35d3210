"""Adapters between the scenario's frames and the plain-array :class:`DesignProblem`:
the problem from edge tables and costs, the ``[design]`` settings, terminals per operator.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

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


@dataclass(frozen=True)
class DesignSettings:
    """The scenario's ``[design]`` table.

    Attributes
    ----------
    underground_aerial
        Require the road edges along overhead lines / pole rows in the plan (their owner,
        or the first operator of the line's group, takes them underground).
    aerial_reuse
        Price trench along overhead lines / pole rows as a reused corridor (cost model
        ``reuse.discount``).
    aerial_buffer_m
        Distance from the road centre line within which a line or pole follows the road (m).
    pole_distance_m
        A pole this close to planned trench on a matched edge can be removed (m), when
        every line and cable on it goes underground (outside corridor mode; there the
        corridors' ``buffer_m``).
    rounds, orders
        Effort of the joint heuristic (see :class:`DesignOptions`).
    shapley
        Plan every coalition for the Shapley value and the core check (up to
        :data:`MAX_COALITION_PLAYERS` operators with sites; above, or when false, the
        segment-level (airport game) Shapley value of the joint plan's routes).
    workers
        Processes planning coalitions of one size at once (1 = serial).
    """

    underground_aerial: bool = False
    aerial_reuse: bool = True
    aerial_buffer_m: float = 15.0
    pole_distance_m: float = 10.0
    rounds: int = 4
    orders: int = 3
    shapley: bool = True
    workers: int = 1


def design_settings(table: Mapping[str, Any] | None, source: str = "<scenario>") -> DesignSettings:
    """Parse a scenario's ``[design]`` table (unknown keys are errors).

    Raises
    ------
    ConfigError
        On an unknown key or a value of the wrong type, naming ``source`` and the key.
    """
    from dataclasses import fields

    table = dict(table or {})
    allowed = {f.name: f for f in fields(DesignSettings)}
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise ConfigError(f"{source}: [design] unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    kw: dict[str, Any] = {}
    for key, value in table.items():
        default = getattr(DesignSettings(), key)
        where = f"{source}: design.{key}"
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{where} must be true or false")
        elif isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
                raise ConfigError(f"{where} must be an integer from 1 to 100")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 10_000:
            raise ConfigError(f"{where} must be a positive number of metres")
        kw[key] = float(value) if isinstance(default, float) else value
    return DesignSettings(**kw)


def terminals_by_operator(node_component: np.ndarray, sites: Any, operators: Sequence[str]
                          ) -> tuple[dict[str, np.ndarray], list[str]]:
    """Operator -> terminal node ids from attached sites; sites its ducts cannot reach are dropped.

    An operator gets one duct network per road component holding two or more of its sites
    (joined to its hub where the hub is in that component); a site that is the operator's
    only one in its component has nothing to join and is dropped. Returns the terminals
    and the ``site_id`` of dropped sites.
    """
    out: dict[str, np.ndarray] = {}
    dropped: list[str] = []
    att = sites[sites["node_id"].notna()]
    for op in operators:
        rows = att[att["operator"] == op]
        nodes = rows["node_id"].to_numpy(np.int64)
        comp = node_component[nodes]
        _, inverse, counts = np.unique(comp, return_inverse=True, return_counts=True)
        keep = counts[inverse] >= 2
        dropped += rows.loc[~keep, "site_id"].astype(str).tolist()
        out[op] = np.unique(nodes[keep])
    return out, dropped
