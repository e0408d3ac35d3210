"""joint_dual_ascent(): several operators' dual ascents coupled through a shared trench."""

import itertools

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectivity.steiner.bound import dual_ascent, joint_dual_ascent
from connectivity.steiner.graph import build_csr
from .helpers import brute_force


def _run(n, u, v, own, group, trench, terminals, slack=1.0):
    """The ascent with each operator rooted at its first terminal: (lb per operator, rc, claims)."""
    g = build_csr(n, np.asarray(u), np.asarray(v), np.ones(len(u)))
    K = len(own)
    cost = np.ascontiguousarray(np.vstack([np.asarray(c, float)[g.arc_e] for c in own]))
    is_term = np.zeros((K, n), bool)
    is_root = np.zeros((K, n), bool)
    for k, t in enumerate(terminals):
        is_term[k, t] = True
        is_root[k, t[0]] = True
    lb, rc, lam, complete = joint_dual_ascent(g.indptr, g.head, g.rev, g.tail, g.arc_e, cost,
                                              np.asarray(group, np.int64), np.asarray(trench, float),
                                              is_term, is_root, 10**9, slack)
    assert complete
    return lb, rc, lam, g


def test_one_shared_edge_counts_the_trench_once():
    """Two groups crossing one edge: the bound is each duct plus the joint trench, exactly the
    optimum (the separate bounds would add both single trenches, 3 + 4 > 5.5)."""
    lb, _rc, lam, _g = _run(2, [0], [1], [[1.0], [2.0]], [0, 1], [[3.0, 4.0, 5.5]], [[0, 1], [0, 1]])
    assert np.isclose(lb.sum(), 1.0 + 2.0 + 5.5)
    assert lam[:, 0].sum() <= 5.5 + 1e-12 and lam[0, 0] <= 3.0 + 1e-12 and lam[1, 0] <= 4.0 + 1e-12


def test_without_trench_each_operator_gets_its_own_dual_ascent():
    rng = np.random.default_rng(3)
    n = 30
    u = np.concatenate([np.arange(n - 1), rng.integers(0, n, 40)])
    v = np.concatenate([np.arange(1, n), rng.integers(0, n, 40)])
    own = [rng.uniform(1, 10, len(u)), rng.uniform(1, 10, len(u))]
    terms = [np.array([0, 7, 19, 25]), np.array([3, 11, 29])]
    lb, rc, lam, g = _run(n, u, v, own, [0, 1], np.zeros((len(u), 3)), terms, slack=2.0)
    assert not lam.any()
    for k in range(2):
        is_term = np.zeros(n, bool)
        is_term[terms[k]] = True
        one, rc_one, _ = dual_ascent(g.indptr, g.head, own[k][g.arc_e], g.rev, g.tail, is_term, int(terms[k][0]),
                                     10**9, 2.0)
        assert lb[k] == one and np.array_equal(rc[k], rc_one)


def _joint_optimum(n, u, v, own, group, trench, terminals):
    """Cheapest networks, one per operator, paying ducts per operator and the trench once per
    edge in the cheapest mode holding its users (by enumerating edge subsets)."""
    m = len(u)
    options = []
    for k, t in enumerate(terminals):
        sets = []
        for r in range(m + 1):
            for sub in itertools.combinations(range(m), r):
                w = np.where(np.isin(np.arange(m), sub), 0.0, np.inf)
                if np.isfinite(brute_force(n, u, v, w, t)):
                    sets.append(np.isin(np.arange(m), sub))
        options.append(sets)
    best = np.inf
    for combo in itertools.product(*options):
        use = np.vstack(combo)
        cost = sum(float(own[k][use[k]].sum()) for k in range(len(own)))
        for e in range(m):
            groups = {group[k] for k in range(len(own)) if use[k, e]}
            if groups:
                cost += min(trench[e][c] for c in ((0, 2) if groups == {0} else (1, 2) if groups == {1} else (2,)))
        best = min(best, cost)
    return best


@st.composite
def _tiny(draw):
    n = draw(st.integers(2, 5))
    u = [draw(st.integers(0, v - 1)) for v in range(1, n)]
    v = list(range(1, n))
    for _ in range(draw(st.integers(0, 3))):
        a, b = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        if a != b:
            u.append(a)
            v.append(b)
    m = len(u)
    K = draw(st.integers(1, 3))
    own = [np.array([float(draw(st.integers(0, 5))) for _ in range(m)]) for _ in range(K)]
    group = [draw(st.integers(0, 1)) for _ in range(K)]
    trench = []
    for _ in range(m):
        a, b = float(draw(st.integers(0, 8))), float(draw(st.integers(0, 8)))
        trench.append([a, b, max(a, b) + float(draw(st.integers(0, 4)))])
    terminals = [np.array(draw(st.permutations(list(range(n))))[:draw(st.integers(2, n))]) for _ in range(K)]
    return n, np.array(u), np.array(v), own, group, np.array(trench), terminals


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tiny(), st.sampled_from([1.0, 2.0]))
def test_bound_below_the_joint_optimum(inst, slack):
    n, u, v, own, group, trench, terminals = inst
    lb, rc, lam, _g = _run(n, u, v, own, group, trench, terminals, slack)
    assert lb.sum() <= _joint_optimum(n, u, v, own, group, trench, terminals) + 1e-9
    assert (rc >= 0).all()
    # the claims fit in the trench: each group's in its own mode, all of them in the joint one
    for e in range(len(u)):
        for g in (0, 1):
            assert lam[[k for k in range(len(own)) if group[k] == g], e].sum() <= trench[e][g] + 1e-9
        assert lam[:, e].sum() <= trench[e][2] + 1e-9
