"""Coalition plans: consistent costs, stand-alone plans as good as the joint one, Shapley."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from connectivity.allocate import segment_shapley, shapley
from connectivity.design import (DesignOptions, evaluate, make_problem, plan_coalitions, plan_joint, random_problem,
                                 solve_milp)
from connectivity.design.coalitions import _restrict

SEEDS = range(300, 312)


def _table(seed, n_operators=3):
    p = random_problem(seed, n_operators=n_operators, rows=5, cols=6, terminals=(2, 4))
    return p, plan_coalitions(p)


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_coalition_costs_monotone_and_subadditive(seed):
    p, table = _table(seed, n_operators=2 + seed % 3)
    players = table.players
    coalitions = [frozenset(s) for r in range(1, len(players) + 1) for s in itertools.combinations(players, r)]
    for s in coalitions:
        for t in coalitions:
            if s < t:   # a bigger coalition's plan restricted to s is a plan of s
                assert table.cost[s] <= table.cost[t] + 1e-6
        for r in range(1, len(s)):
            for a in itertools.combinations(sorted(s), r):
                a = frozenset(a)
                union = evaluate(p, table.plans[a].use | table.plans[s - a].use).cost * p.contingency_factor
                assert table.cost[s] <= union + 1e-6   # never above its parts planned apart


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_coalition_plans_never_worse_than_the_joint_plan_restricted(seed):
    p, table = _table(seed)
    grand = table.plans[frozenset(table.players)]
    idx = {o: p.index(o) for o in table.players}
    for s, plan in table.plans.items():
        restricted = evaluate(p, _restrict(grand.use, [idx[o] for o in s]))
        assert plan.cost <= restricted.cost + 1e-6
        for k in range(p.n_operators):   # only members lay ducts
            assert plan.use[k].any() == (p.operators[k] in s and len(p.terminals[k]) >= 2)


@pytest.mark.parametrize("seed", range(320, 328))
def test_stand_alone_plans_optimal_on_small_instances(seed):
    p, table = _table(seed)
    for o in table.players:
        exact = solve_milp(p, operators=[o], time_limit=60)
        assert exact.optimal
        assert table.plans[frozenset([o])].linear_cost <= exact.cost * 1.02 + 1e-6


def test_shapley_shares_sum_to_the_joint_cost():
    p, table = _table(7, n_operators=4)
    shares = shapley(list(table.players), table.cost)
    assert sum(shares.values()) == pytest.approx(table.cost[frozenset(table.players)])


def nested_path(n_ops=3):
    """A street 0-1-2-3 from the hub; operator i needs the hub and node i + 1 (nested needs)."""
    m = 3
    trench = np.column_stack([[1000.0, 600.0, 300.0]] * 3)
    duct = np.full((n_ops, m), 50.0)
    return make_problem(n_nodes=4, u=[0, 1, 2], v=[1, 2, 3], length_m=[100.0] * m, trench=trench,
                        operators=[f"T{i}" for i in range(n_ops)], kinds=["telecom"] * n_ops, duct_cost=duct,
                        ducts=[1] * n_ops, terminals=[[0, i + 1] for i in range(n_ops)])


def test_segment_and_coalition_shapley_agree_on_nested_demands():
    p = nested_path()
    table = plan_coalitions(p)
    joint = table.plans[frozenset(table.players)]
    coal = shapley(list(table.players), table.cost)
    seg = segment_shapley(p, joint)
    for o in table.players:
        assert coal[o] == pytest.approx(seg[o])
    # the airport rule by hand: edge 0 split three ways, edge 1 two ways, edge 2 to T2 alone
    assert seg["T0"] == pytest.approx(1000 / 3 + 50)
    assert seg["T2"] == pytest.approx(1000 / 3 + 600 / 2 + 300 + 150)


def test_parallel_coalitions_equal_serial():
    p = random_problem(11, n_operators=4, rows=5, cols=6, terminals=(2, 4))
    serial = plan_coalitions(p)
    parallel = plan_coalitions(p, workers=2)
    assert serial.cost == parallel.cost
    for s in serial.plans:
        assert np.array_equal(serial.plans[s].use, parallel.plans[s].use)


@pytest.mark.slow
def test_coalitions_on_a_dask_cluster_equal_serial():
    from distributed import LocalCluster

    from connectivity.areas.run import dask_executor

    p = random_problem(11, n_operators=4, rows=5, cols=6, terminals=(2, 4))
    serial = plan_coalitions(p)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with dask_executor(cluster.scheduler_address) as executor:
            spread = plan_coalitions(p, executor=executor)
    assert serial.cost == spread.cost
    for s in serial.plans:
        assert np.array_equal(serial.plans[s].use, spread.plans[s].use)


def test_joint_plan_from_stand_alone_trees_matches_fresh_plan():
    p = random_problem(5, n_operators=3, rows=6, cols=6, terminals=(3, 5))
    table = plan_coalitions(p)
    fresh = plan_joint(p, options=DesignOptions())
    assert table.cost[frozenset(table.players)] <= fresh.cost * p.contingency_factor + 1e-6


def test_spent_time_limit_still_gives_valid_plans():
    from connectivity.design import Deadline
    from connectivity.design.heuristic import valid_plan

    p = random_problem(21, n_operators=3, rows=6, cols=6, terminals=(3, 5))
    opts = DesignOptions(time_limit=0.0)
    table = plan_coalitions(p, options=opts, deadline=Deadline(0.0))   # no improvement round may start
    assert len(table.plans) == 7 and table.complete
    for s, plan in table.plans.items():
        members = [p.index(o) for o in s]
        assert valid_plan(p, plan.use, [k for k in members if p.active(k)])   # every member's sites joined
        assert not plan.use[[k for k in range(p.n_operators) if k not in members]].any()


def test_a_spent_time_limit_skips_the_sequential_starts(monkeypatch):
    """Once the design stage's time limit is spent, the joint plan starts from the stand-alone
    trees and the shared backbones only (no sequential plans), and still joins every site."""
    import connectivity.design.heuristic as heuristic
    from connectivity.design import Deadline
    from connectivity.design.heuristic import valid_plan

    calls = []
    sequential = heuristic._sequential
    monkeypatch.setattr(heuristic, "_sequential", lambda *a, **kw: calls.append(1) or sequential(*a, **kw))
    p = random_problem(21, n_operators=3, rows=6, cols=6, terminals=(3, 5))
    plan_joint(p)
    assert calls
    calls.clear()
    hurried = plan_joint(p, deadline=Deadline(0.0))
    assert not calls
    assert valid_plan(p, hurried.use, [k for k in range(p.n_operators) if p.active(k)])


def test_improvement_stops_between_moves_when_the_time_limit_is_spent(monkeypatch):
    """A time limit spent during a round stops the improvement before its next move (a round
    at 300k edges takes seconds), not at the end of the round."""
    import connectivity.design.heuristic as heuristic
    from connectivity.design import Deadline

    trees = []
    tree = heuristic.operator_tree
    monkeypatch.setattr(heuristic, "operator_tree", lambda *a, **kw: trees.append(1) or tree(*a, **kw))

    class SpentAfterOneTree(Deadline):
        def expired(self) -> bool:
            return len(trees) >= 1

    p = random_problem(21, n_operators=3, rows=6, cols=6, terminals=(3, 5))
    act = [k for k in range(p.n_operators) if p.active(k)]
    start = heuristic._starts(p, act, DesignOptions())[0]
    trees.clear()
    heuristic._improve(p, act, start, DesignOptions(), SpentAfterOneTree(None))
    assert len(act) > 1 and len(trees) == 1


def test_workers_never_exceed_the_cores_or_the_coalitions(monkeypatch):
    """``[design] workers = 100`` on a machine of 2 cores starts 2 processes, not 100 (a scenario
    written on a big machine stays usable on a laptop); same plans as serial."""
    import connectivity.design.coalitions as coal

    started = []

    class Recording(coal.ProcessPoolExecutor):
        def __init__(self, max_workers=None, **kw):
            started.append(max_workers)
            super().__init__(max_workers=max_workers, **kw)

    monkeypatch.setattr(coal, "ProcessPoolExecutor", Recording)
    monkeypatch.setattr(coal, "usable_cores", lambda: 2)
    p = random_problem(11, n_operators=4, rows=5, cols=6, terminals=(2, 4))
    many = plan_coalitions(p, workers=100)
    assert started and max(started) == 2
    assert many.cost == plan_coalitions(p).cost


def test_stand_alone_trees_polished_off_the_workspace_still_start_whole_coalitions(monkeypatch):
    """Quality mode polishes the stand-alone trees on the whole graph; on a graph above
    ``candidate_edges`` the coalitions are planned on the workspace (the joint and stand-alone
    plans' edges). A polished tree leaving it was cut to the workspace and handed on as a
    stand-alone start: on a 20k-edge town the CAT+PEA and PEA+TOT plans joined no sites (and the
    joint plan, made consistent with them, left PEA's unjoined). Every plan now joins its
    members' sites."""
    from connectivity.design import coalitions
    from connectivity.design.heuristic import operator_tree
    from connectivity.design.problem import standalone_weights
    from tests.test_design import connects

    def elsewhere(problem, act, use, opt, deadline):   # a valid tree away from the current one
        out = use.copy()
        for k in act:
            w = standalone_weights(problem, k).copy()
            w[use[k]] *= 50.0
            out[k] = False
            out[k, operator_tree(problem, k, w, options=opt)] = True
        return out

    monkeypatch.setattr(coalitions, "polish", elsewhere)
    monkeypatch.setattr("connectivity.design.heuristic.QUALITY_SOLVE_S", 0.05)   # the other plans' polish
    p = random_problem(3, n_operators=3, rows=8, cols=9, terminals=(3, 5))
    table = plan_coalitions(p, options=DesignOptions(quality=True, candidate_edges=20))
    for s, plan in table.plans.items():
        for name in s:
            assert connects(p, plan.use, p.index(name)), (sorted(s), name)
