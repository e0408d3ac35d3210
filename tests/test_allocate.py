"""Cost sharing: invariants of every method, Shapley axioms, core check."""
from __future__ import annotations

import itertools

import numpy as np

import pytest
from hypothesis import given, settings, strategies as st

from connectivity.allocate import (METHODS, allocate, core_violations, equal_split, proportional,
                                   shapley)
from connectivity.errors import ConfigError, InputDataError


def airport(needs: dict[str, float]):
    """Airport game: a coalition pays the largest need among its members (concave, core non-empty)."""
    return lambda s: max((needs[p] for p in s), default=0.0)


def test_shapley_airport_game_known_values():
    # Littlechild-Owen: each increment split equally among those who need it
    phi = shapley(["A", "B", "C"], airport({"A": 10.0, "B": 20.0, "C": 40.0}))
    assert phi["A"] == pytest.approx(10 / 3)
    assert phi["B"] == pytest.approx(10 / 3 + 10 / 2)
    assert phi["C"] == pytest.approx(10 / 3 + 10 / 2 + 20)


def test_shapley_symmetry_null_efficiency():
    needs = {"TOT": 30.0, "CAT": 30.0, "PEA": 50.0}
    game = lambda s: airport(needs)(s - {"MEA"})  # MEA: no sites, adds nothing  # noqa: E731
    phi = shapley(["TOT", "CAT", "PEA", "MEA"], game)
    assert phi["TOT"] == pytest.approx(phi["CAT"])          # symmetry
    assert phi["MEA"] == pytest.approx(0.0, abs=1e-9)       # null player
    assert sum(phi.values()) == pytest.approx(50.0)         # efficiency


def table_from(fn, players):
    return {frozenset(s): fn(frozenset(s)) for r in range(len(players) + 1)
            for s in itertools.combinations(players, r)}


def test_allocate_all_methods_sum_to_total_and_null_gets_zero():
    players = ["TOT", "CAT", "EGAT", "PEA"]
    needs = {"TOT": 100.0, "CAT": 80.0, "EGAT": 60.0, "PEA": 120.0}
    cost = table_from(lambda s: sum(needs[p] for p in s) * 0.7 if len(s) > 1 else sum(needs[p] for p in s), players)
    res = allocate(players + ["MEA"], cost, duct_metres={"TOT": 2, "CAT": 2, "EGAT": 3, "PEA": 4},
                   null=["MEA"])
    assert res.total == pytest.approx(cost[frozenset(players)])
    for m in METHODS:
        assert sum(res.shares[m].values()) == pytest.approx(res.total, abs=0.01)
        assert res.shares[m]["MEA"] == 0.0
        assert set(res.shares[m]) == set(players) | {"MEA"}


def test_core_check_on_a_game_built_to_violate_it():
    # A and B share cheaply (cost 10 together); C is dear alone (100) and adds 100 to anyone.
    # Equal split charges A and B 110/3 each: more than the 10 they would pay together.
    players = ["A", "B", "C"]
    cost = table_from(lambda s: (10.0 if s & {"A", "B"} else 0.0) + (100.0 if "C" in s else 0.0), players)
    res = allocate(players, cost, duct_metres={"A": 1, "B": 1, "C": 1})
    assert not res.in_core["equal"]
    worst = res.violations["equal"][0]
    assert worst.coalition == ("A", "B") and worst.pays == pytest.approx(2 * 110 / 3)
    assert worst.alone == pytest.approx(10.0)
    assert any(v.coalition == ("A",) for v in res.violations["equal"])
    # Shapley of this additive-like game is in the core
    assert res.in_core["shapley"], res.violations["shapley"]
    assert res.shares["shapley"]["C"] == pytest.approx(100.0)


def test_core_violations_empty_for_standalone_allocation_of_additive_game():
    cost = table_from(lambda s: 5.0 * len(s), ["A", "B"])
    assert core_violations({"A": 5.0, "B": 5.0}, cost) == []


def test_proportional_and_equal_edge_cases():
    assert equal_split(["A", "B", "C"], 90.0, null=["C"]) == {"A": 45.0, "B": 45.0, "C": 0.0}
    assert proportional(["A", "B"], 10.0, {"A": 1.0, "B": 3.0}) == {"A": 2.5, "B": 7.5}
    with pytest.raises(InputDataError):
        proportional(["A"], 10.0, {"A": -1.0})
    # all weights zero (no duct-metre at all): an equal split, never an error mid-plan
    assert proportional(["A", "B"], 10.0, {"A": 0.0}) == {"A": 5.0, "B": 5.0}
    with pytest.raises(InputDataError, match="no entry"):
        shapley(["A", "B"], {frozenset(["A"]): 1.0})
    with pytest.raises(ConfigError):
        shapley([f"P{i}" for i in range(13)], lambda s: 0.0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=2, max_size=5))
def test_shapley_efficiency_and_symmetry_random_airport(needs_list):
    players = [f"P{i}" for i in range(len(needs_list))]
    needs = dict(zip(players, needs_list))
    phi = shapley(players, airport(needs))
    assert sum(phi.values()) == pytest.approx(max(needs_list), abs=1e-6)
    for a, b in itertools.combinations(players, 2):
        if needs[a] == needs[b]:
            assert phi[a] == pytest.approx(phi[b])
    # airport games are concave: Shapley is in the core
    assert core_violations(phi, airport(needs), tol=1e-6) == []


def test_segment_shapley_is_the_airport_rule_on_a_shared_path():
    from connectivity.allocate import segment_shapley
    from connectivity.design import evaluate, make_problem

    # path 0-1-2: A needs 0-1, B needs 0-2 (both telecom, trench 100 per edge, no ducts or manholes)
    p = make_problem(n_nodes=3, u=[0, 1], v=[1, 2], length_m=[10.0, 10.0],
                     trench=np.array([[100.0, 100.0, 125.0]] * 2), operators=["A", "B"],
                     kinds=["telecom", "telecom"], duct_cost=np.zeros((2, 2)), ducts=[1, 1],
                     terminals=[[0, 1], [0, 2]])
    plan = evaluate(p, np.array([[True, False], [True, True]]))
    shares = segment_shapley(p, plan)
    assert shares == pytest.approx({"A": 50.0, "B": 150.0})
    assert sum(shares.values()) == pytest.approx(plan.cost)


def test_allocate_without_every_coalition_skips_shapley_and_core():
    cost = {frozenset(): 0.0, frozenset(["A"]): 10.0, frozenset(["B"]): 30.0, frozenset(["A", "B"]): 32.0}
    del cost[frozenset()]
    res = allocate(["A", "B", "C"], cost, duct_metres={"A": 1, "B": 1}, null=["C"], coalitions=False)
    assert set(res.shares) == {"equal", "proportional_ducts", "proportional_standalone"}
    assert res.shares["proportional_standalone"] == pytest.approx({"A": 8.0, "B": 24.0, "C": 0.0})
    assert res.in_core == {} and res.violations == {}
