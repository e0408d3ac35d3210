"""solve() options: fixed_edges, initial (warm start), bound=False."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree

from connectivity.errors import InfeasibleError, InputDataError
from connectivity.steiner import solve
from .helpers import brute_force, check_tree


def check_connected_subgraph(n, eu, ev, w, terminals, fixed, res):
    """``res`` contains ``fixed``, connects terminals and fixed ends; a tree when ``fixed`` is acyclic."""
    eu, ev, w = np.asarray(eu), np.asarray(ev), np.asarray(w, float)
    edges = res.edges
    assert edges.dtype == np.int64 and np.all(np.diff(edges) > 0)
    assert set(np.asarray(fixed).tolist()) <= set(edges.tolist())
    assert np.isclose(res.cost, w[edges].sum(), rtol=1e-12, atol=1e-9)
    need = np.unique(np.concatenate((np.asarray(terminals, np.int64), eu[fixed], ev[fixed])))
    if len(need) >= 2:
        nodes = np.unique(np.concatenate((eu[edges], ev[edges], need)))
        a, b = np.searchsorted(nodes, eu[edges]), np.searchsorted(nodes, ev[edges])
        mat = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(nodes), len(nodes)))
        assert connected_components(mat, directed=False)[0] == 1
        # non-fixed edges never close a cycle: forest of fixed edges + tree edges
        fu, fv = eu[fixed], ev[fixed]
        fnodes = np.unique(np.concatenate((fu, fv))) if len(fixed) else np.zeros(0, np.int64)
        if len(fixed):
            fa, fb = np.searchsorted(fnodes, fu), np.searchsorted(fnodes, fv)
            fmat = coo_matrix((np.ones(len(fa)), (fa, fb)), shape=(len(fnodes), len(fnodes)))
            n_fixed_comp = connected_components(fmat, directed=False)[0]
            fixed_cycles = len(np.unique(fixed)) - (len(fnodes) - n_fixed_comp)
        else:
            fixed_cycles = 0
        assert len(edges) - (len(nodes) - 1) == fixed_cycles
    assert res.lower_bound <= res.cost + 1e-9 * max(1.0, res.cost)


def constrained_optimum(n, eu, ev, w, terminals, fixed):
    """Brute-force optimum of a connected subgraph containing ``fixed`` and spanning the terminals."""
    w = np.asarray(w, float)
    wz = w.copy()
    wz[fixed] = 0.0
    eu, ev = np.asarray(eu), np.asarray(ev)
    terms = np.unique(np.concatenate((np.asarray(terminals, np.int64), eu[fixed], ev[fixed])))
    return brute_force(n, eu, ev, wz, terms) + float(w[np.unique(fixed)].sum())


@st.composite
def instances_with_fixed(draw):
    n = draw(st.integers(2, 8))
    tree_u = [draw(st.integers(0, v - 1)) for v in range(1, n)]
    extra = draw(st.integers(0, 2 * n))
    eu = tree_u + [draw(st.integers(0, n - 1)) for _ in range(extra)]
    ev = list(range(1, n)) + [draw(st.integers(0, n - 1)) for _ in range(extra)]
    w = [float(draw(st.integers(0, 12))) for _ in range(len(eu))]
    k = draw(st.integers(0, n))
    terms = draw(st.permutations(list(range(n))))[:k]
    n_fixed = draw(st.integers(0, 3))
    fixed = [draw(st.integers(0, len(eu) - 1)) for _ in range(n_fixed)]
    return n, np.array(eu), np.array(ev), np.array(w), np.array(terms, dtype=np.int64), np.array(fixed, np.int64)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances_with_fixed())
def test_fixed_edges_bound_and_validity_against_brute_force(inst):
    n, eu, ev, w, terms, fixed = inst
    res = solve(n, eu, ev, w, terms, fixed_edges=fixed)
    check_connected_subgraph(n, eu, ev, w, terms, fixed, res)
    opt = constrained_optimum(n, eu, ev, w, terms, fixed)
    assert res.lower_bound <= opt + 1e-9
    assert res.cost >= opt - 1e-9
    assert res.cost <= 1.25 * opt + 1e-9


def test_fixed_edges_in_tree_and_cost_includes_them():
    # path 0-1-2-3 plus an expensive shortcut 0-3 (edge 3) that is required
    eu, ev, w = [0, 1, 2, 0], [1, 2, 3, 3], [1.0, 1.0, 1.0, 10.0]
    free = solve(4, eu, ev, w, [0, 3])
    assert free.cost == 3.0
    res = solve(4, eu, ev, w, [0, 3], fixed_edges=[3])
    np.testing.assert_array_equal(res.edges, [3])
    assert res.cost == 10.0 and res.lower_bound == 10.0


def test_far_fixed_edge_is_connected_to_the_tree():
    side = 12
    ids = np.arange(side * side).reshape(side, side)
    eu = np.concatenate((ids[:-1].ravel(), ids[:, :-1].ravel()))
    ev = np.concatenate((ids[1:].ravel(), ids[:, 1:].ravel()))
    w = np.random.default_rng(1).uniform(1, 5, len(eu))
    terms = [ids[0, 0], ids[0, 3], ids[2, 1]]
    far = int(np.nonzero((eu == ids[10, 10]) & (ev == ids[11, 10]))[0][0])
    res = solve(side * side, eu, ev, w, terms, fixed_edges=[far])
    check_connected_subgraph(side * side, eu, ev, w, terms, [far], res)
    assert far in res.edges
    assert res.lower_bound > solve(side * side, eu, ev, w, terms).lower_bound


def test_fixed_cycle_and_self_loop_are_kept():
    eu, ev, w = [0, 1, 2, 2, 3, 4], [1, 2, 0, 3, 4, 4], [1.0, 2.0, 3.0, 1.0, 1.0, 7.0]
    fixed = [0, 1, 2, 5]
    res = solve(5, eu, ev, w, [0, 3], fixed_edges=fixed)
    check_connected_subgraph(5, eu, ev, w, [0, 3], fixed, res)
    np.testing.assert_array_equal(res.edges, [0, 1, 2, 3, 4, 5])
    assert res.cost == 15.0 and res.lower_bound <= 15.0


def test_fixed_edges_without_terminals():
    res = solve(4, [0, 1, 2], [1, 2, 3], [1.0, 2.0, 3.0], [], fixed_edges=[0, 2])
    np.testing.assert_array_equal(res.edges, [0, 1, 2])
    assert res.cost == 6.0 and res.lower_bound == 6.0
    loop = solve(3, [1, 0], [1, 1], [4.0, 1.0], [1], fixed_edges=[0])
    np.testing.assert_array_equal(loop.edges, [0])
    assert loop.cost == 4.0


def test_fixed_edges_bad_input():
    with pytest.raises(InputDataError, match="fixed_edges"):
        solve(3, [0, 1], [1, 2], [1.0, 1.0], [0, 2], fixed_edges=[2])
    with pytest.raises(InputDataError, match="initial"):
        solve(3, [0, 1], [1, 2], [1.0, 1.0], [0, 2], initial=[-1])
    with pytest.raises(InfeasibleError, match="fixed-edge ends"):
        solve(5, [0, 1, 3], [1, 2, 4], [1.0, 1.0, 1.0], [0, 2], fixed_edges=[2])
    for bad in (0, -1, 2.5, True, "3"):
        with pytest.raises(InputDataError, match="bound_roots"):
            solve(3, [0, 1], [1, 2], [1.0, 1.0], [0, 2], bound_roots=bad)


def _grid(side, n_terms, seed):
    rng = np.random.default_rng(seed)
    ids = np.arange(side * side).reshape(side, side)
    eu = np.concatenate((ids[:-1].ravel(), ids[:, :-1].ravel()))
    ev = np.concatenate((ids[1:].ravel(), ids[:, 1:].ravel()))
    w = rng.uniform(1, 10, len(eu))
    terms = rng.choice(side * side, n_terms, replace=False)
    return side * side, eu, ev, w, terms


def cleaned_cost(n, eu, ev, w, terms, initial):
    """Cost of the MST of the subgraph induced by the nodes of ``initial`` (+ terminals), leaves pruned."""
    eu, ev, w = np.asarray(eu), np.asarray(ev), np.asarray(w, float)
    nodes = np.zeros(n, bool)
    nodes[terms] = True
    nodes[eu[initial]] = True
    nodes[ev[initial]] = True
    sel = np.nonzero(nodes[eu] & nodes[ev] & (eu != ev))[0]
    dense = {}
    for e in sel:
        key = (min(eu[e], ev[e]), max(eu[e], ev[e]))
        if key not in dense or w[e] < w[dense[key]]:
            dense[key] = e
    keep = np.array(sorted(dense.values()), dtype=np.int64)
    mat = coo_matrix((w[keep] + 1.0, (eu[keep], ev[keep])), shape=(n, n))
    mst = minimum_spanning_tree(mat).tocoo()
    tree = [(int(a), int(b), c - 1.0) for a, b, c in zip(mst.row, mst.col, mst.data)]
    term = set(int(t) for t in terms)
    while True:
        deg = {}
        for a, b, _ in tree:
            deg[a] = deg.get(a, 0) + 1
            deg[b] = deg.get(b, 0) + 1
        leaves = {v for v, d in deg.items() if d == 1 and v not in term}
        if not leaves:
            break
        tree = [t for t in tree if t[0] not in leaves and t[1] not in leaves]
    return sum(c for _, _, c in tree)


@pytest.mark.parametrize("seed", range(6))
def test_warm_start_never_worse_than_cleaned_input(seed):
    n, eu, ev, w, terms = _grid(25, 15, seed)
    base = solve(n, eu, ev, w, terms, seed=seed)
    # new weights: the old tree is a warm start, not an optimum any more
    w2 = w * np.random.default_rng(100 + seed).uniform(0.5, 1.5, len(w))
    warm = solve(n, eu, ev, w2, terms, initial=base.edges, seed=seed)
    check_tree(n, eu, ev, w2, terms, warm)
    assert warm.cost <= cleaned_cost(n, eu, ev, w2, terms, base.edges) + 1e-9
    assert warm.cost <= solve(n, eu, ev, w2, terms, seed=seed).cost + 1e-9
    # a near-optimal warm start on the same weights is kept or beaten
    again = solve(n, eu, ev, w, terms, initial=base.edges, seed=seed + 1)
    check_tree(n, eu, ev, w, terms, again)
    assert again.cost <= base.cost + 1e-9


def test_warm_start_that_misses_terminals_is_repaired():
    n, eu, ev, w, terms = _grid(20, 10, 3)
    base = solve(n, eu, ev, w, terms[:6])
    res = solve(n, eu, ev, w, terms, initial=base.edges)
    check_tree(n, eu, ev, w, terms, res)
    # an arbitrary edge set (not a tree, far from the terminals) is accepted too
    res2 = solve(n, eu, ev, w, terms, initial=np.arange(0, len(eu), 7))
    check_tree(n, eu, ev, w, terms, res2)


def test_warm_start_with_fixed_edges():
    n, eu, ev, w, terms = _grid(20, 8, 5)
    fixed = [3, 100, 500]
    base = solve(n, eu, ev, w, terms, fixed_edges=fixed)
    res = solve(n, eu, ev, w, terms, fixed_edges=fixed, initial=base.edges)
    check_connected_subgraph(n, eu, ev, w, terms, fixed, res)
    assert res.cost <= base.cost + 1e-9


def test_identical_results_for_identical_input():
    n, eu, ev, w, terms = _grid(30, 20, 11)
    kw = dict(fixed_edges=[5, 77, 1200], initial=np.arange(0, 600), seed=3)
    a = solve(n, eu, ev, w, terms, **kw)
    b = solve(n, eu, ev, w, terms, **kw)
    np.testing.assert_array_equal(a.edges, b.edges)
    assert a.cost == b.cost and a.lower_bound == b.lower_bound
    c = solve(n, eu, ev, w, terms, bound=False, seed=3)
    d = solve(n, eu, ev, w, terms, bound=False, seed=3)
    np.testing.assert_array_equal(c.edges, d.edges)


@pytest.mark.parametrize("seed", range(4))
def test_bound_false_gives_zero_bound_and_valid_tree(seed):
    n, eu, ev, w, terms = _grid(25, 12, seed)
    res = solve(n, eu, ev, w, terms, bound=False, seed=seed)
    check_tree(n, eu, ev, w, terms, res)
    assert res.lower_bound == 0.0
    with_bound = solve(n, eu, ev, w, terms, seed=seed)
    assert res.cost <= 1.05 * with_bound.cost
    fixed = solve(n, eu, ev, w, terms, bound=False, fixed_edges=[7])
    assert fixed.lower_bound == 0.0 and 7 in fixed.edges


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances_with_fixed())
def test_quick_mode_bound_valid_and_tree_connected(inst):
    n, eu, ev, w, terms, fixed = inst
    res = solve(n, eu, ev, w, terms, fixed_edges=fixed, quick=True)
    check_connected_subgraph(n, eu, ev, w, terms, fixed, res)
    opt = constrained_optimum(n, eu, ev, w, terms, fixed)
    assert res.lower_bound <= opt + 1e-9 <= res.cost + 2e-9


@pytest.mark.parametrize("seed", range(3))
def test_quick_mode_same_bound_as_full_solve(seed):
    n, eu, ev, w, terms = _grid(25, 12, seed)
    quick = solve(n, eu, ev, w, terms, quick=True, seed=seed)
    full = solve(n, eu, ev, w, terms, seed=seed)
    check_tree(n, eu, ev, w, terms, quick)
    assert quick.cost >= full.cost - 1e-9            # no local search: never better than the full solve
    assert quick.lower_bound == pytest.approx(min(full.lower_bound, quick.cost))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances_with_fixed(), st.integers(2, 9))
def test_bound_from_several_roots_stays_below_the_optimum(inst, roots):
    n, eu, ev, w, terms, fixed = inst
    res = solve(n, eu, ev, w, terms, fixed_edges=fixed, quick=True, bound_roots=roots)
    check_connected_subgraph(n, eu, ev, w, terms, fixed, res)
    assert res.lower_bound <= constrained_optimum(n, eu, ev, w, terms, fixed) + 1e-9


def test_bound_from_several_roots_is_the_best_of_them():
    """Several roots never give a lower bound than the first root alone (it is among them), and on
    grids with many terminals they raise it: the ascent from the busiest terminal is not the best."""
    raised = 0
    for seed in range(6):
        n, eu, ev, w, terms = _grid(20, 15, seed)
        one, *more = [solve(n, eu, ev, w, terms, quick=True, bound_roots=r).lower_bound for r in (1, 4, 15)]
        assert all(b >= one - 1e-9 for b in more)
        raised += more[-1] > one * (1 + 1e-9)
    assert raised >= 3


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances_with_fixed(), st.integers(1, 6), st.integers(1, 8))
def test_tightened_bound_stays_below_the_optimum(inst, roots, rounds):
    """Reduced-cost fixing (tighten=) never lifts the bound above the optimum nor below the
    bound without it."""
    n, eu, ev, w, terms, fixed = inst
    plain = solve(n, eu, ev, w, terms, fixed_edges=fixed, quick=True, bound_roots=roots)
    res = solve(n, eu, ev, w, terms, fixed_edges=fixed, quick=True, bound_roots=roots, tighten=rounds)
    check_connected_subgraph(n, eu, ev, w, terms, fixed, res)
    assert plain.lower_bound - 1e-9 <= res.lower_bound <= constrained_optimum(n, eu, ev, w, terms, fixed) + 1e-9


def test_tightened_bound_closes_most_of_the_dual_ascents_gap_on_grids():
    """On weighted grids with 8 terminals the dual ascent stops below the optimum (Dreyfus-Wagner);
    reduced-cost fixing closes most of that gap and never passes the optimum."""
    from connectivity.steiner.exact import dreyfus_wagner

    before = after = 0.0
    for seed in range(8):
        n, eu, ev, w, terms = _grid(14, 8, seed)
        opt = float(w[dreyfus_wagner(n, eu, ev, w, terms)].sum())
        plain = solve(n, eu, ev, w, terms, quick=True, bound_roots=4).lower_bound
        tight = solve(n, eu, ev, w, terms, quick=True, bound_roots=4, tighten=16).lower_bound
        assert plain - 1e-9 <= tight <= opt + 1e-9
        before += opt - plain
        after += opt - tight
    assert before > 0 and after < 0.5 * before


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_tighten_must_be_a_count(bad):
    n, eu, ev, w, terms = _grid(4, 3, 0)
    with pytest.raises(InputDataError, match="tighten"):
        solve(n, eu, ev, w, terms, tighten=bad)


def test_tighten_stops_after_its_first_round_once_the_time_limit_has_passed(monkeypatch):
    """A spent time limit ends the fixing rounds after the first (which reuses the solve's own
    ascents: no new ascent), and the bound stays valid; without a limit the rounds go on."""
    import connectivity.steiner.solver as solver

    calls = []
    real = solver._best_dual_ascent
    monkeypatch.setattr(solver, "_best_dual_ascent", lambda *a, **k: calls.append(1) or real(*a, **k))
    n, eu, ev, w, terms = _grid(14, 8, 4)   # a grid whose bound the fixing raises (see above)
    free = solve(n, eu, ev, w, terms, quick=True, bound_roots=4, tighten=16)
    rounds_free = len(calls)
    calls.clear()
    spent = solve(n, eu, ev, w, terms, quick=True, bound_roots=4, tighten=16, time_limit=1e-9)
    assert rounds_free > 2 and len(calls) == 1
    assert spent.lower_bound <= free.lower_bound + 1e-9
