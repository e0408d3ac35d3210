"""Every coalition's plan, for dig-once savings and the Shapley value.

Coalition plans are built from what is already known rather than from scratch: each
stand-alone tree is the engine's best of a fresh solve and a warm start from the joint
plan's tree of that operator; every other coalition starts from the joint plan restricted
to it and from the union of its sub-coalitions' plans, then improves on the candidate
subgraph of the joint plan. Finally a bigger coalition's plan restricted to a smaller one,
and the union of two complementary sub-plans, are tried as plans of it. So the table is
consistent: a coalition never costs more than the best plan found for a superset
restricted to it, nor more than its parts planned apart (up to the manholes a union adds).
"""
from __future__ import annotations

import itertools
import logging
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from connectivity.design.heuristic import (Deadline, DesignOptions, Workspace, operator_tree, plan_joint, polish,
                                           valid_plan, workspace)
from connectivity.design.problem import DesignProblem, JointPlan, evaluate, standalone_weights
from connectivity.design.threads import thread_map, usable_cores

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
MAX_COALITION_PLAYERS = 8   # 2^8 - 1 = 255 plans: the exact Shapley value up to this many operators


@dataclass(frozen=True)
class CoalitionTable:
    """The best plan found for every coalition of the operators with sites.

    Attributes
    ----------
    players
        Operators with ducts to lay (the others are null players).
    null
        Operators without sites.
    cost
        coalition (frozenset of names) -> THB including contingency; the empty set costs 0.
    plans
        coalition -> its :class:`JointPlan` (costs before contingency).
    complete
        Every coalition was planned (False beyond ``max_players``: singletons and grand only).
    """

    players: tuple[str, ...]
    null: tuple[str, ...]
    cost: dict[frozenset, float]
    plans: dict[frozenset, JointPlan]
    complete: bool

    def __call__(self, coalition: frozenset) -> float:
        """Cost of a coalition (null players ignored), THB including contingency."""
        return self.cost[frozenset(coalition) & frozenset(self.players)]


def _restrict(use: np.ndarray, members: Sequence[int]) -> np.ndarray:
    out = np.zeros_like(use)
    out[list(members)] = use[list(members)]
    return out


def _holding(problem: DesignProblem, ws: Workspace, plans: Sequence[np.ndarray], options: DesignOptions
             ) -> Workspace:
    """``ws``, or a workspace on the union of ``plans``' edges when one of them leaves it (a
    stand-alone tree polished in quality mode on the whole graph): the coalitions start from
    the stand-alone trees, which must stay whole on it."""
    if ws.edges is None:
        return ws
    inside = np.zeros(problem.n_edges, dtype=bool)
    inside[ws.edges] = True
    if all(not (use.any(axis=0) & ~inside).any() for use in plans):
        return ws
    return workspace(problem, plans, options)


def _plan_one(args: tuple) -> JointPlan:
    """One coalition's plan on the workspace problem (a picklable task for a pool)."""
    problem, ops, options, initial, alone, seconds = args
    return plan_joint(problem, operators=ops, options=options, initial=initial, alone=alone,
                      deadline=Deadline(seconds))


def plan_coalitions(problem: DesignProblem, *, options: DesignOptions = DesignOptions(),
                    grand: JointPlan | None = None, max_players: int = MAX_COALITION_PLAYERS, workers: int = 1,
                    deadline: Deadline | None = None, progress: Progress | None = None,
                    executor: Executor | None = None) -> CoalitionTable:
    """Plan every coalition of the operators with sites (2^n - 1 plans, n <= ``max_players``).

    Parameters
    ----------
    options
        Effort: the same for every coalition as for the joint plan.
    grand
        The joint plan of all operators (planned here when not given).
    max_players
        Above this many operators with sites only stand-alone and joint plans are made
        (``complete`` is False).
    workers
        Processes for the coalitions of one size (1 = serial; results are identical); never
        more than the coalitions of that size or the cores this process may use.
    executor
        A :class:`concurrent.futures.Executor` to plan the coalitions of one size on instead
        (e.g. a Dask cluster's ``Client.get_executor()``); ``workers`` is then ignored. Each
        task is plain picklable data; the results are identical to serial.
    deadline
        Budget shared with the rest of the design stage.
    progress
        Called with (coalitions done, coalitions in all).
    """
    K = problem.n_operators
    act = [k for k in range(K) if problem.active(k)]
    names = {k: problem.operators[k] for k in act}
    null = tuple(problem.operators[k] for k in range(K) if k not in act)
    deadline = deadline or Deadline(options.time_limit)
    problem.node_component   # computed once, before the threads share it

    def stand_alone(k: int) -> np.ndarray:   # on the whole graph, warm from the joint plan's tree when known
        return operator_tree(problem, k, standalone_weights(problem, k), options=options, certified=True,
                             initial=None if grand is None else np.flatnonzero(grand.use[k]))

    alone: dict[int, np.ndarray] = dict(zip(act, thread_map(stand_alone, act)))
    if grand is None:
        grand = plan_joint(problem, options=options, alone=alone, deadline=deadline)
    complete = len(act) <= max_players
    if complete:
        subsets = [tuple(s) for r in range(1, len(act) + 1) for s in itertools.combinations(act, r)]
    else:
        logger.warning("%d operators with sites: only stand-alone and joint plans (no exact Shapley value)", len(act))
        subsets = [(k,) for k in act] + [tuple(act)]
    total = len(subsets)
    stack = np.zeros_like(grand.use)
    for k in act:
        stack[k, alone[k]] = True
    ws = workspace(problem, [grand.use, stack], options)
    plans: dict[tuple, JointPlan] = {}
    if ws.edges is not None:   # and the joint plan's tree of k improved under k's own weights
        sub = ws.problem
        warm = dict(zip(act, thread_map(lambda k: operator_tree(
            sub, k, standalone_weights(sub, k), options=options, certified=True,
            initial=np.flatnonzero(ws.to_local(grand.use)[k])), act)))
    for k in act:
        if ws.edges is not None:
            use = np.zeros((problem.n_operators, sub.n_edges), dtype=bool)
            use[k, warm[k]] = True
            use = ws.to_full(use, problem.n_edges)
            if standalone_weights(problem, k)[use[k]].sum() < standalone_weights(problem, k)[alone[k]].sum() - 1e-9:
                alone[k] = np.flatnonzero(use[k])
        use = np.zeros_like(grand.use)
        use[k, alone[k]] = True
        if options.quality:   # stand-alone trees polished like every other plan
            use = polish(problem, [k], use, options, deadline)
        plans[(k,)] = evaluate(problem, use)
    if progress:
        progress(len(plans), total)
    ws = _holding(problem, ws, [grand.use, stack] + [plans[(k,)].use for k in act], options)
    local_alone = {k: np.flatnonzero(ws.to_local(plans[(k,)].use)[k]) for k in act}
    middle = [s for s in subsets if 1 < len(s) < len(act)]
    for size in sorted({len(s) for s in middle}):
        level = [s for s in middle if len(s) == size]
        tasks = []
        for s in level:
            initial = [_restrict(grand.use, s)]
            for i in s:
                rest = tuple(k for k in s if k != i)
                if rest in plans:
                    initial.append(plans[rest].use | plans[(i,)].use)
            tasks.append((ws.problem, [names[k] for k in s], options, [ws.to_local(x) for x in initial],
                          {k: local_alone[k] for k in s}, deadline.left()))
        procs = min(workers, len(tasks), usable_cores())   # more only queue for a core (and cost memory)
        if executor is not None and len(tasks) > 1:
            results = list(executor.map(_plan_one, tasks))
        elif procs > 1:
            with ProcessPoolExecutor(max_workers=procs) as pool:
                results = list(pool.map(_plan_one, tasks))
        else:
            results = [_plan_one(t) for t in tasks]
        for s, res in zip(level, results):
            plans[s] = evaluate(problem, ws.to_full(res.use, problem.n_edges))
        if progress:
            progress(len(plans), total)
    plans[tuple(act)] = grand
    _make_consistent(problem, plans, options.objective)
    for s, plan in plans.items():   # every plan joins its members' sites: a bug otherwise, never a figure
        if not valid_plan(problem, plan.use, s):
            raise RuntimeError(f"coalition {'+'.join(names[k] for k in s)}: its plan does not join every member's sites")
    if progress:
        progress(total, total)
    f = problem.contingency_factor
    cost = {frozenset(): 0.0}
    out_plans = {}
    for s, p in plans.items():
        key = frozenset(names[k] for k in s)
        cost[key] = p.cost * f
        out_plans[key] = p
    return CoalitionTable(players=tuple(names[k] for k in act), null=null, cost=cost, plans=out_plans,
                          complete=complete)


def _make_consistent(problem: DesignProblem, plans: dict[tuple, JointPlan], objective: str = "exact") -> None:
    """Improve coalition plans in place with restricted supersets and unions of parts,
    until no plan improves in ``objective`` ('exact' or 'linear'; monotone costs,
    subadditive up to manholes)."""
    def score(plan: JointPlan) -> float:
        return plan.cost if objective == "exact" else plan.linear_cost

    changed = True
    while changed:
        changed = False
        for s in sorted(plans, key=len, reverse=True):   # top-down: restrict bigger plans
            for t, pt in list(plans.items()):
                if len(t) > len(s) and set(s) <= set(t):
                    cand = evaluate(problem, _restrict(pt.use, s))
                    if score(cand) < score(plans[s]) - 1e-6:
                        plans[s], changed = cand, True
        for s in sorted(plans, key=len):                   # bottom-up: unions of complementary parts
            if len(s) < 2:
                continue
            for r in range(1, len(s) // 2 + 1):
                for a in itertools.combinations(s, r):
                    b = tuple(k for k in s if k not in a)
                    if a in plans and b in plans:
                        cand = evaluate(problem, plans[a].use | plans[b].use)
                        if score(cand) < score(plans[s]) - 1e-6:
                            plans[s], changed = cand, True


@dataclass(frozen=True)
class DigOnce:
    """Joint plan versus every operator trenching alone (THB including contingency).

    Attributes
    ----------
    joint_cost, separate_cost
        Cost of the joint plan and the sum of the stand-alone plans.
    savings, savings_pct
        ``separate_cost - joint_cost`` and that as a percentage of ``separate_cost``.
    stand_alone
        Operator -> cost of its plan alone (0 for operators without sites).
    """

    joint_cost: float
    separate_cost: float
    savings: float
    savings_pct: float
    stand_alone: dict[str, float]


def dig_once(table: CoalitionTable, operators: Sequence[str]) -> DigOnce:
    """Dig-once comparison from a coalition table (all ``operators``, null ones at 0)."""
    stand = {op: (table.cost[frozenset([op])] if op in table.players else 0.0) for op in operators}
    joint = table.cost[frozenset(table.players)]
    separate = float(sum(stand.values()))
    savings = separate - joint
    return DigOnce(joint_cost=joint, separate_cost=separate, savings=savings,
                   savings_pct=100.0 * savings / separate if separate > 0 else 0.0, stand_alone=stand)
