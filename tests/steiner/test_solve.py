"""solve(): validity, optimality on tiny graphs, bounds, determinism, errors."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectivity.errors import InfeasibleError, InputDataError
from connectivity.steiner import SteinerResult, solve
from .helpers import brute_force, check_tree


@st.composite
def small_instances(draw):
    """Connected multigraphs of up to 9 nodes with self-loops, parallel and zero-weight edges."""
    n = draw(st.integers(2, 9))
    # a random spanning tree keeps the graph connected
    tree_u = [draw(st.integers(0, v - 1)) for v in range(1, n)]
    extra = draw(st.integers(0, 2 * n))
    eu = tree_u + [draw(st.integers(0, n - 1)) for _ in range(extra)]
    ev = list(range(1, n)) + [draw(st.integers(0, n - 1)) for _ in range(extra)]
    w = [float(draw(st.integers(0, 12))) for _ in range(len(eu))]
    k = draw(st.integers(0, n))
    terms = draw(st.permutations(list(range(n))))[:k]
    perm = draw(st.permutations(list(range(len(eu)))))
    eu = [eu[i] for i in perm]
    ev = [ev[i] for i in perm]
    w = [w[i] for i in perm]
    return n, np.array(eu), np.array(ev), np.array(w), np.array(terms, dtype=np.int64)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_instances())
def test_random_small_graphs_against_brute_force(inst):
    n, eu, ev, w, terms = inst
    res = solve(n, eu, ev, w, terms)
    check_tree(n, eu, ev, w, terms, res)
    opt = brute_force(n, eu, ev, w, terms)
    assert res.lower_bound <= opt + 1e-9
    assert res.cost >= opt - 1e-9
    # tiny graphs are solved to optimality by reductions + SPH + local search
    assert res.cost <= opt * 1.25 + 1e-9


def test_random_graphs_mostly_optimal():
    rng = np.random.default_rng(7)
    optimal = 0
    for _ in range(40):
        n, m = 10, 22
        eu = np.concatenate((rng.integers(0, n, m), np.arange(n - 1)))
        ev = np.concatenate((rng.integers(0, n, m), np.arange(1, n)))
        w = rng.integers(1, 30, len(eu)).astype(float)
        terms = rng.choice(n, 5, replace=False)
        res = solve(n, eu, ev, w, terms)
        check_tree(n, eu, ev, w, terms, res)
        opt = brute_force(n, eu, ev, w, terms)
        assert res.lower_bound <= opt + 1e-9 <= res.cost + 2e-9
        optimal += res.cost <= opt + 1e-9
    assert optimal >= 36


def test_result_type_and_gap():
    res = solve(3, [0, 1], [1, 2], [2.0, 3.0], [0, 2])
    assert isinstance(res, SteinerResult)
    np.testing.assert_array_equal(res.edges, [0, 1])
    assert res.cost == 5.0 and res.lower_bound == 5.0 and res.gap == 0.0
    assert res.seconds >= 0
    with pytest.raises(AttributeError):
        res.cost = 1.0  # frozen


def test_parallel_edges_and_self_loops_pick_cheapest():
    eu = [0, 0, 1, 1, 0]
    ev = [1, 1, 1, 2, 0]
    w = [5.0, 2.0, 0.0, 1.0, 0.0]
    res = solve(3, eu, ev, w, [0, 2])
    np.testing.assert_array_equal(res.edges, [1, 3])
    assert res.cost == 3.0


def test_zero_weight_edges():
    res = solve(4, [0, 1, 2, 0], [1, 2, 3, 3], [0.0, 0.0, 0.0, 1.0], [0, 3])
    assert res.cost == 0.0
    check_tree(4, [0, 1, 2, 0], [1, 2, 3, 3], [0.0, 0.0, 0.0, 1.0], [0, 3], res)


@pytest.mark.parametrize("terms", [[], [2], [2, 2]])
def test_zero_or_one_terminal_gives_empty_tree(terms):
    res = solve(4, [0, 1], [1, 2], [1.0, 2.0], terms)
    assert res.cost == 0.0 and len(res.edges) == 0 and res.gap == 0.0 and res.lower_bound == 0.0


def test_terminals_in_different_components_raise():
    with pytest.raises(InfeasibleError, match="not all connected"):
        solve(4, [0, 2], [1, 3], [1.0, 1.0], [0, 3])


def test_other_components_are_ignored():
    res = solve(6, [0, 1, 3, 4], [1, 2, 4, 5], [1.0, 1.0, 1.0, 1.0], [0, 2])
    np.testing.assert_array_equal(res.edges, [0, 1])


@pytest.mark.parametrize(
    "args, match",
    [
        ((3, [0], [1, 2], [1.0], [0]), "differ in length"),
        ((3, [0], [5], [1.0], [0, 1]), "outside"),
        ((3, [0], [1], [-1.0], [0, 1]), "weights"),
        ((3, [0], [1], [np.nan], [0, 1]), "weights"),
        ((3, [0], [1], [1.0], [0, 7]), "terminal outside"),
    ],
)
def test_bad_input_raises(args, match):
    with pytest.raises(InputDataError, match=match):
        solve(*args)


def _grid(side, seed):
    rng = np.random.default_rng(seed)
    ids = np.arange(side * side).reshape(side, side)
    eu = np.concatenate((ids[:-1].ravel(), ids[:, :-1].ravel()))
    ev = np.concatenate((ids[1:].ravel(), ids[:, 1:].ravel()))
    w = rng.uniform(1, 10, len(eu))
    terms = rng.choice(side * side, 12, replace=False)
    return side * side, eu, ev, w, terms


def test_deterministic_for_same_seed():
    n, eu, ev, w, terms = _grid(30, 3)
    a = solve(n, eu, ev, w, terms, seed=5)
    b = solve(n, eu, ev, w, terms, seed=5)
    np.testing.assert_array_equal(a.edges, b.edges)
    assert a.cost == b.cost and a.lower_bound == b.lower_bound
    check_tree(n, eu, ev, w, terms, a)


def test_edge_order_does_not_break_validity():
    n, eu, ev, w, terms = _grid(20, 4)
    perm = np.random.default_rng(0).permutation(len(eu))
    res = solve(n, eu[perm], ev[perm], w[perm], terms)
    check_tree(n, eu[perm], ev[perm], w[perm], terms, res)


def test_quality_mode_not_worse_than_default():
    n, eu, ev, w, terms = _grid(25, 9)
    d = solve(n, eu, ev, w, terms)
    q = solve(n, eu, ev, w, terms, quality=True, time_limit=1.0)
    check_tree(n, eu, ev, w, terms, q)
    assert q.cost <= d.cost + 1e-9


def test_time_limit_still_returns_valid_tree():
    n, eu, ev, w, terms = _grid(40, 2)
    res = solve(n, eu, ev, w, terms, time_limit=0.0)
    check_tree(n, eu, ev, w, terms, res)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_instances())
def test_few_terminals_solved_exactly(inst):
    """Up to six terminals after reductions: Dreyfus-Wagner gives the optimum and proves it."""
    n, eu, ev, w, terms = inst
    if len(np.unique(terms)) > 6:
        return
    res = solve(n, eu, ev, w, terms)
    check_tree(n, eu, ev, w, terms, res)
    opt = brute_force(n, eu, ev, w, terms)
    assert res.cost == pytest.approx(opt, abs=1e-9)
    assert res.lower_bound == pytest.approx(opt, abs=1e-9)


@pytest.mark.slow
def test_dreyfus_wagner_on_a_grid_matches_brute_force():
    from connectivity.steiner.exact import dreyfus_wagner

    rng = np.random.default_rng(3)
    side = 4
    idx = np.arange(side * side).reshape(side, side)
    eu = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    ev = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    for _ in range(5):
        w = rng.integers(1, 20, len(eu)).astype(float)
        terms = rng.choice(side * side, size=5, replace=False)
        tree = dreyfus_wagner(side * side, eu, ev, w, terms)
        assert w[tree].sum() == pytest.approx(brute_force(side * side, eu, ev, w, terms))
