"""Joint planning: feasibility, sharing, determinism, and the heuristic against exact MILP optima."""
from __future__ import annotations

import numpy as np
import pytest

from connectivity.design import (DesignOptions, certify, evaluate, linear_cost, lower_bound, make_problem,
                                 plan_alone, plan_joint, random_problem, solve_milp)
from connectivity.errors import InfeasibleError, InputDataError


def connects(problem, use, k):
    import networkx as nx
    G = nx.Graph()
    G.add_edges_from(zip(problem.u[use[k]].tolist(), problem.v[use[k]].tolist()))
    terms = problem.terminals[k].tolist()
    if len(terms) < 2:
        return True
    return all(t in G for t in terms) and nx.is_connected(G.subgraph(nx.node_connected_component(G, terms[0]))) \
        and all(nx.has_path(G, terms[0], t) for t in terms)


def ladder(**kw):
    """Two parallel streets 0-1-2-3 (cheap trench) and 4-5-6-7 (dear), with rungs.

    TOT (telecom) needs 0 and 3, PEA (power) needs 0 and 3 too: both should take the same
    street and pay its trench once (plus the joint surcharge).
    """
    u = [0, 1, 2, 4, 5, 6, 0, 3]
    v = [1, 2, 3, 5, 6, 7, 4, 7]
    length = [100.0] * 8
    trench_tel = np.array([1000, 1000, 1000, 1100, 1100, 1100, 500, 500], dtype=float)
    trench = np.column_stack([trench_tel, trench_tel, trench_tel * 1.25])
    duct = np.array([[10.0] * 8, [20.0] * 8])
    args = dict(n_nodes=8, u=u, v=v, length_m=length, trench=trench, operators=["TOT", "PEA"],
                kinds=["telecom", "power"], duct_cost=duct, ducts=[2, 4], terminals=[[0, 3], [0, 3]])
    args.update(kw)
    return make_problem(**args)


def test_two_operators_share_one_trench():
    p = ladder()
    plan = plan_joint(p)
    assert plan.use[0].tolist() == plan.use[1].tolist() == [True, True, True] + [False] * 5
    assert plan.cost == pytest.approx(3 * 1250 + 3 * 10 + 3 * 20)
    alone = plan_alone(p, "TOT").cost + plan_alone(p, "PEA").cost
    assert alone == pytest.approx(2 * 3000 + 90)
    assert plan.cost < alone


def test_joint_surcharge_can_split_power_and_telecom():
    # with a huge joint surcharge, power takes the other street
    p = ladder(trench=np.column_stack([[1000, 1000, 1000, 1100, 1100, 1100, 500, 500]] * 2
                                      + [[9000] * 8]).astype(float))
    plan = plan_joint(p)
    assert not (plan.use[0] & plan.use[1]).any()
    # PEA (dearer ducts) keeps the short street, TOT takes the long way round
    assert plan.use[1, :3].all() and plan.use[0, 3:].all()
    assert plan.cost == pytest.approx(3000 + 3 * 20 + 4300 + 5 * 10)


def test_required_edges_are_used():
    p = ladder(required=[[], [3]])     # PEA must take over an aerial line on edge 3
    plan = plan_joint(p)
    assert plan.use[1, 3]
    assert connects(p, plan.use, 1)


def test_operator_without_sites_gets_nothing():
    p = ladder(terminals=[[0, 3], []])
    plan = plan_joint(p)
    assert not plan.use[1].any()
    assert plan.cost == pytest.approx(3000 + 30)


def test_manholes_counted_per_group_and_spacing():
    # one 300 m run per group: 2 site manholes + ceil(300/140)-1 = 2 spacing each
    p = ladder(length_m=[100.0] * 8, manhole_cost=(1.0, 10.0), manhole_spacing_m=140.0)
    plan = plan_joint(p)
    assert plan.n_manholes == (4, 4)
    assert plan.manhole_cost == pytest.approx(4 * 1 + 4 * 10)
    assert plan.cost == pytest.approx(plan.trench_cost + plan.duct_cost + plan.manhole_cost)


def test_infeasible_and_bad_input():
    p = ladder(u=[0, 1, 2, 4, 5, 6, 0, 3], v=[1, 2, 3, 5, 6, 7, 4, 7], terminals=[[0, 3], [0, 3]])
    bad = make_problem(n_nodes=9, u=p.u, v=p.v, length_m=p.length_m, trench=p.trench, operators=p.operators,
                       kinds=p.kinds, duct_cost=p.duct_cost, ducts=p.ducts, terminals=[[0, 8], [0, 3]])
    with pytest.raises(InfeasibleError, match="TOT"):
        plan_joint(bad)
    with pytest.raises(InputDataError):
        ladder(terminals=[[0, 99], [0, 3]])
    with pytest.raises(InputDataError):
        ladder(duct_cost=np.zeros((1, 8)))


@pytest.mark.slow
@pytest.mark.parametrize("seed", [3, 7, 11, 21, 42])
def test_heuristic_close_to_milp_optimum(seed):
    p = random_problem(seed, n_operators=2 + seed % 4)
    plan = plan_joint(p, options=DesignOptions(objective="linear"))
    exact = solve_milp(p, time_limit=120)
    for k in range(p.n_operators):
        assert connects(p, plan.use, k)
        assert connects(p, exact.use, k)
    assert exact.cost <= plan.linear_cost + 1e-6 or not exact.optimal
    # loose: the benchmark (benchmarks/design_milp.py) shows the mean gap
    assert plan.linear_cost <= exact.cost * 1.05
    lb = lower_bound(p)
    assert lb <= exact.cost + 1e-6
    assert lb <= plan.cost + 1e-6


def test_deterministic_and_not_mutating():
    p = random_problem(5, n_operators=3)
    before = p.duct_cost.copy()
    a = plan_joint(p)
    b = plan_joint(p)
    assert np.array_equal(a.use, b.use) and a.cost == b.cost
    assert np.array_equal(p.duct_cost, before)


def test_joint_never_worse_than_separate():
    for seed in range(4):
        p = random_problem(seed, n_operators=4)
        joint = plan_joint(p)
        separate = sum(plan_alone(p, op).cost for op in p.operators)
        assert joint.cost <= separate + 1e-6
        assert joint.linear_cost == pytest.approx(linear_cost(p, joint.use))
        assert evaluate(p, joint.use).cost == pytest.approx(joint.cost)


def test_coalitions_identical_operators_pay_the_same_and_null_pays_nothing():
    from connectivity.allocate import allocate
    from connectivity.design import dig_once, duct_metres, plan_coalitions

    base = random_problem(8, n_operators=3)
    # operator 2 becomes a copy of operator 0 (same kind, ducts, sites); operator 3 has no sites
    p = make_problem(n_nodes=base.n_nodes, u=base.u, v=base.v, length_m=base.length_m, trench=base.trench,
                     operators=["A", "B", "A2", "NULL"], kinds=[base.kinds[0], base.kinds[1], base.kinds[0], "power"],
                     duct_cost=np.vstack([base.duct_cost[0], base.duct_cost[1], base.duct_cost[0], base.duct_cost[1]]),
                     ducts=[base.ducts[0], base.ducts[1], base.ducts[0], 1],
                     terminals=[base.terminals[0], base.terminals[1], base.terminals[0], []],
                     manhole_cost=base.manhole_cost, contingency_factor=1.1)
    table = plan_coalitions(p)
    assert table.players == ("A", "B", "A2") and table.null == ("NULL",)
    assert table.cost[frozenset(["A"])] == pytest.approx(table.cost[frozenset(["A2"])])
    # coalition costs never exceed the sum of two disjoint sub-coalitions by more than manhole rounding
    grand = table.plans[frozenset(table.players)]
    res = allocate(list(p.operators), table.cost, duct_metres=duct_metres(p, grand), null=table.null)
    for method, shares in res.shares.items():
        assert sum(shares.values()) == pytest.approx(table.cost[frozenset(table.players)], abs=0.01)
        assert shares["NULL"] == 0.0
    assert res.shares["shapley"]["A"] == pytest.approx(res.shares["shapley"]["A2"], abs=0.01)
    once = dig_once(table, p.operators)
    assert once.stand_alone["NULL"] == 0.0
    assert once.joint_cost <= once.separate_cost
    assert once.savings_pct == pytest.approx(100 * once.savings / once.separate_cost)


def test_design_settings_and_terminals_by_operator():
    import pandas as pd

    from connectivity.design import DesignSettings, design_settings, terminals_by_operator
    from connectivity.errors import ConfigError

    assert design_settings(None) == DesignSettings()
    s = design_settings({"underground_aerial": True, "rounds": 2, "aerial_buffer_m": 20}, "s.toml")
    assert s.underground_aerial and s.rounds == 2 and s.aerial_buffer_m == 20.0
    with pytest.raises(ConfigError, match="s.toml: \\[design\\] unknown key"):
        design_settings({"round": 2}, "s.toml")
    with pytest.raises(ConfigError, match="design.shapley"):
        design_settings({"shapley": "yes"}, "s.toml")
    # nodes 0-4 in component 0, 5-6 in component 1
    comp = np.array([0, 0, 0, 0, 0, 1, 1])
    sites = pd.DataFrame({"site_id": ["a", "b", "c", "d", "e", "f", "g", "h"],
                          "operator": ["TOT", "TOT", "TOT", "CAT", "CAT", "PEA", "TOT", "PEA"],
                          "kind": ["x", "x", "hub", "x", "x", "x", "x", "x"],
                          "node_id": pd.array([0, 1, 5, 2, 6, 3, 6, 3], dtype="Int64")})
    terms, dropped = terminals_by_operator(comp, sites, ["TOT", "CAT", "PEA", "MEA"])
    assert terms["TOT"].tolist() == [0, 1, 5, 6]    # a network in each component, the hub's in the second
    assert terms["CAT"].tolist() == [] and terms["MEA"].tolist() == []
    assert terms["PEA"].tolist() == []               # two sites at one node (one location): nothing to join
    assert sorted(dropped) == ["d", "e", "f", "h"]  # CAT's sites alone in their components, PEA's location too
    # an anchor (e.g. a corridor street of CAT's in component 1) keeps CAT's lone site there
    terms, dropped = terminals_by_operator(comp, sites, ["TOT", "CAT", "PEA", "MEA"], anchors={"CAT": [5]})
    assert terms["CAT"].tolist() == [6] and dropped == ["d", "f", "h"]


def test_operator_with_sites_in_two_components_gets_two_networks():
    # component A: path 0-1-2-3; component B: path 4-5-6 (no road between them)
    u, v = [0, 1, 2, 4, 5], [1, 2, 3, 5, 6]
    m = len(u)
    trench = np.full((m, 3), 1000.0)
    p = make_problem(n_nodes=7, u=u, v=v, length_m=[100.0] * m, trench=trench, operators=["TOT", "PEA"],
                     kinds=["telecom", "power"], duct_cost=np.full((2, m), 10.0), ducts=[1, 1],
                     terminals=[[0, 3, 4, 6], [1, 3]])
    assert [g.tolist() for g in p.terminal_groups(0)] == [[0, 3], [4, 6]]
    plan = plan_joint(p)
    assert plan.use[0].all()                 # both of TOT's networks built
    assert plan.use[1].tolist() == [False, True, True, False, False]
    exact = solve_milp(p)
    assert plan.linear_cost == pytest.approx(exact.cost)
    assert lower_bound(p) <= exact.cost + 1e-6
    assert certify(p, plan).value <= plan.cost + 1e-6


@pytest.mark.parametrize("seed", range(40))
def test_manhole_count_equals_placed_manholes(seed):
    from connectivity.design.manholes import count_manholes, place_manholes

    rng = np.random.default_rng(seed)
    p = random_problem(seed, n_operators=2, rows=6, cols=7)
    used = rng.random(p.n_edges) < rng.uniform(0.2, 0.95)
    terms = rng.choice(p.n_nodes, size=int(rng.integers(0, 8)), replace=False)
    spacing = float(rng.uniform(40, 400))
    placed = place_manholes(p.u, p.v, p.length_m, used, terms, spacing_m=spacing)
    assert count_manholes(p.u, p.v, p.length_m, used, terms, spacing_m=spacing) == placed.count


@pytest.mark.parametrize("seed", range(6))
def test_a_ring_of_streets_through_no_site_or_junction_has_pull_points_no_farther_apart_than_the_spacing(seed):
    """Corridor streets round a block form a closed loop with no key node: its pull points go round
    it at most ``spacing`` apart (``ceil(L / s)`` of them, one at a node), placed and counted alike;
    a site on the loop holds one of them."""
    from connectivity.design.manholes import count_manholes, place_manholes

    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 7))
    u, v = np.arange(n), (np.arange(n) + 1) % n
    length = rng.uniform(30, 400, size=n)
    spacing = float(rng.uniform(60, 200))
    used = np.ones(n, dtype=bool)
    placed = place_manholes(u, v, length, used, [], spacing_m=spacing)
    start = np.concatenate([[0.0], np.cumsum(length)[:-1]])   # position of node i round the loop
    at = np.sort(start[placed.spacing_edge] + placed.spacing_offset_m)
    gaps = np.diff(np.concatenate([at, [at[0] + length.sum()]]))
    assert len(placed.node_id) == 0 and gaps.max() <= spacing + 1e-6
    assert placed.count == count_manholes(u, v, length, used, [], spacing_m=spacing) == np.ceil(length.sum() / spacing)
    site = int(rng.integers(n))
    with_site = place_manholes(u, v, length, used, [site], spacing_m=spacing)
    assert with_site.node_id.tolist() == [site] and with_site.count == placed.count
    assert count_manholes(u, v, length, used, [site], spacing_m=spacing) == with_site.count


@pytest.mark.parametrize("candidate_edges", [5_000, 10])
def test_joint_plan_same_on_any_thread_count(monkeypatch, candidate_edges):
    """The starts and the improvement of each start run on threads: the plan is the serial one."""
    from connectivity.design import plan_coalitions

    opts = DesignOptions(candidate_edges=candidate_edges)
    for seed in (3, 11, 17):
        p = random_problem(seed, n_operators=4, rows=7, cols=8, terminals=(3, 6))
        plans = {}
        for threads in ("1", "3"):
            monkeypatch.setenv("CONNECTIVITY_THREADS", threads)
            table = plan_coalitions(p, options=opts)
            plans[threads] = {s: q.use.tobytes() for s, q in table.plans.items()}
        assert plans["1"] == plans["3"]


def test_quality_polishes_every_plan_and_never_costs_more(monkeypatch):
    """``quality``: one quality-mode solve per operator and plan at the end (a short budget),
    kept only when cheaper; every other solve as without, so no plan costs more."""
    from connectivity.design import heuristic, plan_coalitions

    monkeypatch.setattr(heuristic, "QUALITY_SOLVE_S", 0.05)
    calls = []
    real = heuristic.operator_tree

    def spy(*args, **kw):
        calls.append(kw.get("quality_s"))
        return real(*args, **kw)

    monkeypatch.setattr(heuristic, "operator_tree", spy)
    for seed in (2, 5):
        p = random_problem(seed, n_operators=3, rows=6, cols=7, terminals=(3, 5))
        plain = plan_coalitions(p, options=DesignOptions())
        calls.clear()
        polished = plan_coalitions(p, options=DesignOptions(quality=True))
        assert all(polished.cost[s] <= plain.cost[s] + 1e-6 for s in plain.cost)
        active = sum(p.active(k) for k in range(p.n_operators))
        assert sum(c is not None for c in calls) >= active   # at least each stand-alone tree polished
        assert all(c is None or c <= 0.05 for c in calls)
