import numpy as np
import pytest

from connectivity.errors import InfeasibleError
from connectivity.steiner import solve
from tests.steiner.helpers import brute_force, check_tree


def test_path_with_branch():
    # 0-1-2 path and a star through 3
    eu = [0, 1, 0, 3, 3]
    ev = [1, 2, 3, 2, 4]
    w = [1.0, 1.0, 0.6, 0.6, 5.0]
    r = solve(5, eu, ev, w, [0, 2])
    check_tree(5, eu, ev, w, [0, 2], r)
    assert r.cost == pytest.approx(1.2)
    assert r.lower_bound <= 1.2 + 1e-9


def test_zero_or_one_terminal_is_empty():
    for terms in ([], [3]):
        r = solve(4, [0, 1], [1, 2], [1.0, 2.0], terms)
        assert r.cost == 0.0 and len(r.edges) == 0 and r.gap == 0.0


def test_infeasible_raises():
    with pytest.raises(InfeasibleError):
        solve(4, [0, 2], [1, 3], [1.0, 1.0], [0, 3])


def test_small_random_matches_brute_force():
    rng = np.random.default_rng(1)
    for _ in range(30):
        n = 8
        m = 14
        eu = rng.integers(0, n, m)
        ev = rng.integers(0, n, m)
        w = rng.integers(0, 10, m).astype(float)
        eu = np.concatenate((eu, np.arange(n - 1)))
        ev = np.concatenate((ev, np.arange(1, n)))
        w = np.concatenate((w, rng.integers(1, 20, n - 1).astype(float)))
        terms = rng.choice(n, 4, replace=False)
        r = solve(n, eu, ev, w, terms)
        check_tree(n, eu, ev, w, terms, r)
        opt = brute_force(n, eu, ev, w, terms)
        assert r.lower_bound <= opt + 1e-9
        assert r.cost >= opt - 1e-9
