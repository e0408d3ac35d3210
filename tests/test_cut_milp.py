"""Branch and cut on the directed-cut model (:func:`connectivity.design.milp.solve_cut_milp`):
the same optimum as the multi-commodity flow MILP, plans that connect every operator, bounds
that sit between the LP relaxation and every plan."""
from __future__ import annotations

import numpy as np
import pytest

from connectivity.design import evaluate, plan_joint, random_problem, solve_milp
from connectivity.design.bounds import lp_bound
from connectivity.design import solve_cut_milp
from connectivity.design.problem import linear_cost, make_problem

from tests.test_design import connects

GAP = 1e-4   # the integer solves stop this close to their dual bound


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_cut_milp_finds_the_flow_milps_optimum(seed):
    p = random_problem(seed, n_operators=2 + seed % 3)
    flow = solve_milp(p, time_limit=120)
    assert flow.optimal
    cut = solve_cut_milp(p, objective="linear", time_limit=120)
    assert cut.optimal
    for k in range(p.n_operators):
        assert connects(p, cut.use, k)
    assert cut.bound <= flow.cost * (1 + 1e-9)
    assert flow.cost <= linear_cost(p, cut.use) * (1 + 1e-9)
    assert linear_cost(p, cut.use) <= cut.bound * (1 + GAP) + 1e-6


@pytest.mark.parametrize("seed", [6, 7, 8])
def test_exact_objective_bound_lies_between_the_lp_and_every_plan(seed):
    p = random_problem(seed, n_operators=3, terminals=(3, 5))
    cut = solve_cut_milp(p, objective="exact", time_limit=120)
    assert cut.optimal
    lp = lp_bound(p, objective="exact", time_limit=120)
    assert lp is not None and lp[1]
    assert lp[0] <= cut.bound * (1 + 1e-9)
    assert cut.bound <= evaluate(p, cut.use).cost * (1 + 1e-9)
    assert cut.bound <= plan_joint(p).cost * (1 + 1e-9)


def _two_streets(terminals):
    """Two streets 0-1 and 2-3 that never meet; one telecom operator."""
    m = 2
    return make_problem(n_nodes=4, u=[0, 2], v=[1, 3], length_m=[100.0, 100.0], trench=np.full((m, 3), 1000.0),
                        operators=["TOT"], kinds=["telecom"], duct_cost=np.full((1, m), 10.0), ducts=[1],
                        terminals=[terminals])


def test_sites_in_several_road_components_are_refused():
    with pytest.raises(ValueError, match="several road components"):
        solve_cut_milp(_two_streets([0, 1, 2, 3]))
    cut = solve_cut_milp(_two_streets([0, 1]))
    assert cut.optimal and cut.use[0].tolist() == [True, False]
    assert cut.bound == pytest.approx(1010.0, rel=GAP)


def test_a_time_limit_gives_a_bound_without_a_plan():
    p = random_problem(3, n_operators=4, rows=7, cols=8, terminals=(3, 6))
    cut = solve_cut_milp(p, objective="linear", time_limit=0.05)
    assert not cut.optimal and cut.use is None
    assert cut.bound <= linear_cost(p, plan_joint(p).use) * (1 + 1e-9)


def test_required_edges_are_kept():
    p = random_problem(2, n_operators=2)
    e = int(np.argmax(p.trench[:, 2]))
    q = make_problem(n_nodes=p.n_nodes, u=p.u, v=p.v, length_m=p.length_m, trench=p.trench, operators=p.operators,
                     kinds=p.kinds, duct_cost=p.duct_cost, ducts=p.ducts, terminals=p.terminals,
                     manhole_cost=p.manhole_cost, required=[[e], []])
    cut = solve_cut_milp(q, objective="linear", time_limit=120)
    assert cut.optimal and cut.use[0, e]
    assert connects(q, cut.use, 0) and connects(q, cut.use, 1)


def test_existing_ducts_are_refused_and_give_no_lp_bound():
    """The directed-cut model prices no reuse of existing ducts: its optimum on such a problem
    would not bound the plans, so branch and cut refuses it and the LP gives no bound."""
    from dataclasses import replace

    p = random_problem(2, n_operators=2)
    existing = np.zeros((p.n_operators, p.n_edges), dtype=bool)
    existing[0, :3] = True
    q = replace(p, existing=existing)
    with pytest.raises(ValueError, match="existing ducts"):
        solve_cut_milp(q)
    assert lp_bound(q, objective="linear") is None
    assert lp_bound(p, objective="linear") is not None
