"""Sharing the cost of a joint plan between operators.

Pure functions over a coalition cost table ``cost[frozenset(names)] -> THB`` (the cost of
the best plan of that coalition alone; ``cost[frozenset()] == 0``). Operators without
sites are *null players*: they are left out of the table and get 0 from every method.

Methods (:data:`METHODS`):

* ``equal`` - the total split equally between the operators with sites;
* ``proportional_ducts`` - in proportion to duct-metres (ducts x metres) in the joint plan;
* ``proportional_standalone`` - in proportion to each operator's stand-alone cost;
* ``shapley`` - the Shapley value, exact over every coalition (up to :data:`MAX_SHAPLEY_PLAYERS`).

:func:`segment_shapley` is a cross-check on fixed routes: the per-segment (airport-game)
Shapley value of the joint plan.

:func:`core_violations` lists the coalitions that pay more under an allocation than they
would pay planning alone (the allocation is in the core when the list is empty).
"""
from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from connectivity.errors import ConfigError, InputDataError

logger = logging.getLogger(__name__)

METHODS = ("equal", "proportional_ducts", "proportional_standalone", "shapley")
MAX_SHAPLEY_PLAYERS = 12

CostTable = Mapping[frozenset, float]


def _lookup(cost: CostTable | Callable[[frozenset], float]) -> Callable[[frozenset], float]:
    if callable(cost) and not isinstance(cost, Mapping):
        return cost

    def get(s: frozenset) -> float:
        if not s:
            return float(cost.get(s, 0.0))
        try:
            return float(cost[s])
        except KeyError:
            raise InputDataError(f"coalition cost table has no entry for {{{', '.join(sorted(s))}}}") from None
    return get


def equal_split(players: Sequence[str], total: float, *, null: Sequence[str] = ()) -> dict[str, float]:
    """``total`` (THB) split equally among ``players`` that are not ``null``; null players pay 0."""
    paying = [p for p in players if p not in set(null)]
    share = total / len(paying) if paying else 0.0
    return {p: (share if p in paying else 0.0) for p in players}


def proportional(players: Sequence[str], total: float, weights: Mapping[str, float]) -> dict[str, float]:
    """``total`` (THB) split in proportion to non-negative ``weights`` (missing = 0); split
    equally when every weight is zero (e.g. no duct-metre at all: every site on its road,
    only chambers to pay).

    Raises
    ------
    InputDataError
        On a negative or NaN weight.
    """
    w = {p: float(weights.get(p, 0.0)) for p in players}
    if any(x < 0 or math.isnan(x) for x in w.values()):
        raise InputDataError(f"negative or NaN weight in proportional allocation: {w}")
    s = sum(w.values())
    if s <= 0:
        return equal_split(players, total)
    return {p: total * w[p] / s for p in players}


def shapley(players: Sequence[str], cost: CostTable | Callable[[frozenset], float]) -> dict[str, float]:
    """Exact Shapley value (THB) of the cost game over ``players``.

    ``phi_i = sum over S without i of |S|! (n-|S|-1)! / n! * (c(S + i) - c(S))``.
    Efficient (sums to ``c(all players)``), symmetric, gives 0 to null players.

    Raises
    ------
    ConfigError
        With more than :data:`MAX_SHAPLEY_PLAYERS` players (2^n coalitions).
    """
    players = list(players)
    n = len(players)
    if n > MAX_SHAPLEY_PLAYERS:
        raise ConfigError(f"exact Shapley value needs 2^{n} coalition plans; at most {MAX_SHAPLEY_PLAYERS} operators")
    c = _lookup(cost)
    fact = [math.factorial(i) for i in range(n + 1)]
    phi = {p: 0.0 for p in players}
    for i, p in enumerate(players):
        others = players[:i] + players[i + 1:]
        for r in range(n):
            weight = fact[r] * fact[n - r - 1] / fact[n]
            for sub in itertools.combinations(others, r):
                s = frozenset(sub)
                phi[p] += weight * (c(s | {p}) - c(s))
    return phi


@dataclass(frozen=True)
class CoreViolation:
    """A coalition that pays more than its own plan would cost (THB)."""

    coalition: tuple[str, ...]
    pays: float
    alone: float

    @property
    def excess(self) -> float:
        return self.pays - self.alone


def core_violations(allocation: Mapping[str, float], cost: CostTable | Callable[[frozenset], float], *,
                    tol: float = 0.01) -> list[CoreViolation]:
    """Coalitions (single operators included) paying more than their stand-alone cost + ``tol`` THB.

    Only the operators of ``allocation`` with a non-zero share or present in the cost
    table matter; the check enumerates every non-empty proper coalition. Efficiency (the
    grand coalition pays its cost) is not checked here.
    """
    c = _lookup(cost)
    players = sorted(allocation)
    out = []
    for r in range(1, len(players)):
        for sub in itertools.combinations(players, r):
            s = frozenset(sub)
            pays = sum(allocation[p] for p in sub)
            alone = c(s)
            if pays > alone + tol:
                out.append(CoreViolation(coalition=tuple(sub), pays=pays, alone=alone))
    return sorted(out, key=lambda v: (-v.excess, v.coalition))


@dataclass(frozen=True)
class Allocation:
    """Every sharing method's shares and core check.

    Attributes
    ----------
    total
        Cost of the grand coalition (THB) that every method splits.
    shares
        method -> operator -> THB (every operator, null players with 0).
    in_core
        method -> whether no coalition pays more than alone.
    violations
        method -> the violating coalitions (worst first).
    """

    total: float
    shares: dict[str, dict[str, float]]
    in_core: dict[str, bool]
    violations: dict[str, list[CoreViolation]]


def allocate(operators: Sequence[str], cost: CostTable | Callable[[frozenset], float], *,
             duct_metres: Mapping[str, float], null: Sequence[str] = (), tol: float = 0.01,
             coalitions: bool = True, shapley_shares: Mapping[str, float] | None = None) -> Allocation:
    """Run every method of :data:`METHODS` and check each against the core.

    Parameters
    ----------
    operators
        All operator names (null ones included, they get 0).
    cost
        Coalition cost table (THB) over the non-null operators.
    duct_metres
        Duct-metres of each operator in the joint plan.
    null
        Operators without sites (null players).
    tol
        THB tolerance of the core check.
    coalitions
        The table holds every coalition. Without (only single operators and the grand
        coalition), the coalition Shapley value and the core check are left out.
    shapley_shares
        Without every coalition: the ``shapley`` shares to report instead (e.g. the
        segment-level value of :func:`segment_shapley`), THB per operator.
    """
    null_set = set(null)
    players = [p for p in operators if p not in null_set]
    c = _lookup(cost)
    grand = frozenset(players)
    total = c(grand) if players else 0.0
    standalone = {p: c(frozenset([p])) for p in players}
    shares = {
        "equal": equal_split(players, total),
        "proportional_ducts": proportional(players, total, duct_metres),
        "proportional_standalone": proportional(players, total, standalone),
    }
    if coalitions:
        shares["shapley"] = shapley(players, c)
    elif shapley_shares is not None:
        shares["shapley"] = {p: float(shapley_shares.get(p, 0.0)) for p in players}
    methods = [m for m in METHODS if m in shares]
    full = {m: {p: float(shares[m].get(p, 0.0)) for p in operators} for m in methods}
    if not coalitions:
        return Allocation(total=total, shares=full, in_core={}, violations={})
    viol = {m: core_violations({p: full[m][p] for p in players}, c, tol=tol) for m in methods}
    for m, v in viol.items():
        if v:
            logger.info("allocation %s is not in the core: %d coalition(s) pay more than alone", m, len(v))
    return Allocation(total=total, shares=full, in_core={m: not viol[m] for m in methods}, violations=viol)


def allocation_frame(allocation: Allocation) -> "pd.DataFrame":  # noqa: F821
    """Operator x method table (THB) with a final ``total`` row."""
    import pandas as pd

    ops = list(next(iter(allocation.shares.values()))) if allocation.shares else []
    methods = [m for m in METHODS if m in allocation.shares]
    df = pd.DataFrame({m: [allocation.shares[m][o] for o in ops] for m in methods}, index=ops)
    df.index.name = "operator"
    df.loc["total"] = [sum(allocation.shares[m].values()) for m in methods]
    return df.reset_index()


def segment_shapley(problem: Any, plan: Any) -> dict[str, float]:
    """Cross-check: Shapley value of every trench segment on the fixed routes of ``plan`` (THB).

    For nested needs this is the airport-game rule of Littlechild and Owen (1973): each
    segment's cost increments are split equally among the operators that need them; here
    each used edge is its own game over the operators whose ducts it carries (trench by
    occupancy mode with per-metre manholes, plus each one's own ducts). The shares, which
    sum to the plan's linear cost, are scaled to the plan's total (discrete manholes and
    contingency included). Unlike :func:`shapley` the routes are not re-planned per
    coalition, so no operator is credited for the detours it would avoid alone.

    Parameters
    ----------
    problem, plan
        A :class:`connectivity.design.DesignProblem` and a :class:`connectivity.design.JointPlan` of it.
    """
    K = problem.n_operators
    use = plan.use
    tel = np.array([k == "telecom" for k in problem.kinds])
    per_m = problem.length_m / problem.manhole_spacing_m
    shares = np.zeros(K)
    fact = [math.factorial(i) for i in range(K + 1)]
    for e in np.flatnonzero(use.any(axis=0)):
        users = [k for k in range(K) if use[k, e]]
        n = len(users)

        def cost(sub: tuple[int, ...]) -> float:
            if not sub:
                return 0.0
            t = any(tel[k] for k in sub)
            p = any(not tel[k] for k in sub)
            mode = 2 if (t and p) else (0 if t else 1)
            mh = (problem.manhole_cost[0] if t else 0.0) + (problem.manhole_cost[1] if p else 0.0)
            return float(problem.trench[e, mode] + mh * per_m[e] + sum(problem.duct_cost[k, e] for k in sub))

        for i, k in enumerate(users):
            others = users[:i] + users[i + 1:]
            for r in range(n):
                w = fact[r] * fact[n - r - 1] / fact[n]
                for sub in itertools.combinations(others, r):
                    shares[k] += w * (cost(tuple(sorted(sub + (k,)))) - cost(sub))
    total = plan.cost * problem.contingency_factor
    s = shares.sum()
    scale = total / s if s > 0 else 0.0
    return {op: float(shares[k] * scale) for k, op in enumerate(problem.operators)}
