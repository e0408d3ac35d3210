"""The laid-out joint plan on plain arrays: its duct segments and its manholes.

One row per edge carrying ducts (the plan's segments, in edge order) and one per manhole
(per group, as :func:`connectivity.design.manholes.place_manholes` places them: the node
manholes, then the spacing manholes of each group in ``GROUPS`` order). The bill of
quantities' frames (:mod:`connectivity.boq`) and the phasing stage read these arrays, so a
segment's cost and a manhole's place are computed once, here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from connectivity.design.manholes import ManholeLayout, place_manholes
from connectivity.design.problem import (
    GROUPS,
    DesignProblem,
    JointPlan,
    group_presence,
    group_terminals,
)


@dataclass(frozen=True)
class Segments:
    """Duct segments of a plan, one per edge with ducts (ascending edge index).

    Attributes
    ----------
    edge
        Index of the segment's edge in the problem's edge arrays (int64).
    u, v
        End node ids (int64).
    length_m
        Length (metres).
    use
        ``(K, n)`` bool: operator ``k`` (order of ``DesignProblem.operators``) has ducts in it.
    ducts
        ``(K, n)`` int64: ducts of operator ``k`` in it (0 where it has none).
    cost_thb
        Trench and ducts of the segment, contingency included (THB); manholes are apart.
    mode
        -1 (cables in existing ducts only), 0 telecom, 1 power, 2 joint trench.
    trench_type
        Trench type of the segment's mode (e.g. ``open_cut``), ``existing_duct`` for mode -1.
    """

    edge: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length_m: np.ndarray
    use: np.ndarray
    ducts: np.ndarray
    cost_thb: np.ndarray
    mode: np.ndarray
    trench_type: np.ndarray

    def __len__(self) -> int:
        return len(self.edge)


@dataclass(frozen=True)
class Manholes:
    """Manholes of a plan, one row each (node manholes, then spacing manholes, per group).

    Attributes
    ----------
    group
        ``"telecom"`` or ``"power"`` per manhole.
    reason
        ``"site"``, ``"junction"`` or ``"spacing"``.
    node
        Node id of a manhole at a node, -1 inside a run (int64).
    segment
        Row in :class:`Segments` of a manhole inside a run, -1 at a node (int64).
    offset_m
        Inside a run: distance from the edge's ``u`` end (metres); NaN at a node.
    use
        ``(n, K)`` bool: the group's operators whose ducts pass (at a node: on any segment there).
    cost_thb
        Price per manhole, contingency included (THB).
    """

    group: np.ndarray
    reason: np.ndarray
    node: np.ndarray
    segment: np.ndarray
    offset_m: np.ndarray
    use: np.ndarray
    cost_thb: np.ndarray

    def __len__(self) -> int:
        return len(self.group)


@dataclass(frozen=True)
class PlanLayout:
    """A plan's segments and manholes; ``operators`` names the ``K`` columns of their ``use``;
    ``contingency_factor`` is the one their costs include (1 + contingency share)."""

    operators: tuple[str, ...]
    segments: Segments
    manholes: Manholes
    contingency_factor: float = 1.0


def plan_manholes(problem: DesignProblem, plan: JointPlan) -> dict[str, ManholeLayout]:
    """Manhole layout of each group of a plan ('telecom', 'power')."""
    has = dict(zip(GROUPS, group_presence(problem, plan.use)))
    out = {}
    for g in GROUPS:
        ks = [k for k in range(problem.n_operators) if problem.kinds[k] == g and plan.use[k].any()]
        out[g] = place_manholes(problem.u, problem.v, problem.length_m, has[g],
                                group_terminals(problem, g, ks), spacing_m=problem.manhole_spacing_m)
    return out


def plan_segments(problem: DesignProblem, plan: JointPlan, trench_type: np.ndarray | None = None) -> Segments:
    """The plan's duct segments: every edge some operator's ducts use (costs in THB, with contingency).

    ``trench_type`` is ``(m, 3)``: the trench type of every edge per mode (``EdgeCosts.trench_type``);
    without it a dug segment's type is ``"trench"``.
    """
    modes = plan.modes(problem)
    used = np.flatnonzero(plan.use.any(axis=0))
    use = plan.use[:, used]
    mode = modes[used]
    trench = np.where(mode >= 0, problem.trench[used, np.maximum(mode, 0)], 0.0)
    ducts_thb = np.where(use, problem.duct_cost[:, used], 0.0).sum(axis=0)
    kind = np.full(len(used), "existing_duct", dtype=object)
    dug = mode >= 0
    kind[dug] = "trench" if trench_type is None else np.asarray(trench_type)[used[dug], mode[dug]].astype(str)
    return Segments(edge=used.astype(np.int64), u=problem.u[used].astype(np.int64), v=problem.v[used].astype(np.int64),
                    length_m=problem.length_m[used].astype(float), use=use,
                    ducts=np.where(use, problem.duct_counts()[:, used], 0).astype(np.int64),
                    cost_thb=(trench + ducts_thb) * problem.contingency_factor, mode=mode, trench_type=kind)


def plan_layout(problem: DesignProblem, plan: JointPlan, trench_type: np.ndarray | None = None) -> PlanLayout:
    """Segments and manholes of a plan (see :class:`Segments`, :class:`Manholes`; ``trench_type``
    as for :func:`plan_segments`)."""
    segments = plan_segments(problem, plan, trench_type)
    row_of_edge = np.full(problem.n_edges, -1, dtype=np.int64)
    row_of_edge[segments.edge] = np.arange(len(segments))
    K = problem.n_operators
    cols: dict[str, list] = {k: [] for k in ("group", "reason", "node", "segment", "offset_m", "use", "cost_thb")}
    for gi, (g, lay) in enumerate(plan_manholes(problem, plan).items()):
        price = problem.manhole_cost[gi] * problem.contingency_factor
        in_group = np.array([problem.kinds[k] == g for k in range(K)], dtype=bool)
        on_edge = plan.use & in_group[:, None]                       # (K, m): the group's ducts
        at_node = np.zeros((K, problem.n_nodes), dtype=bool)
        for k in np.flatnonzero(in_group):
            at_node[k, problem.u[on_edge[k]]] = True
            at_node[k, problem.v[on_edge[k]]] = True
        n_node, n_run = len(lay.node_id), len(lay.spacing_edge)
        cols["group"] += [g] * (n_node + n_run)
        cols["reason"] += list(lay.node_reason) + ["spacing"] * n_run
        cols["node"] += lay.node_id.tolist() + [-1] * n_run
        cols["segment"] += [-1] * n_node + row_of_edge[lay.spacing_edge].tolist()
        cols["offset_m"] += [np.nan] * n_node + lay.spacing_offset_m.tolist()
        cols["use"] += list(at_node[:, lay.node_id].T) + list(on_edge[:, lay.spacing_edge].T)
        cols["cost_thb"] += [price] * (n_node + n_run)
    manholes = Manholes(group=np.array(cols["group"], dtype=object), reason=np.array(cols["reason"], dtype=object),
                        node=np.array(cols["node"], dtype=np.int64), segment=np.array(cols["segment"], dtype=np.int64),
                        offset_m=np.array(cols["offset_m"], dtype=float),
                        use=np.array(cols["use"], dtype=bool).reshape(-1, K),
                        cost_thb=np.array(cols["cost_thb"], dtype=float))
    return PlanLayout(operators=tuple(problem.operators), segments=segments, manholes=manholes,
                      contingency_factor=problem.contingency_factor)
