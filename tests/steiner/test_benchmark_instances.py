"""Known optima of the small benchmark instances: bound <= optimum <= cost."""

import csv

import pytest

from connectivity.steiner import read_instance, solve
from .helpers import check_tree

MAX_EDGES = 6_000


def _small_rows(data):
    rows = list(csv.DictReader(open(data / "instances.csv", newline="")))
    return [r for r in rows if int(r["edges"]) <= MAX_EDGES]


def test_small_instances_bounds_and_gaps(steiner_data):
    rows = _small_rows(steiner_data)
    assert len(rows) >= 20
    gaps = []
    for r in rows:
        inst = read_instance(steiner_data / r["file"])
        res = solve(inst.n_nodes, inst.edges_u, inst.edges_v, inst.weights, inst.terminals)
        check_tree(inst.n_nodes, inst.edges_u, inst.edges_v, inst.weights, inst.terminals, res)
        opt = float(r["optimum"])
        if r["opt_status"] == "optimal":
            assert res.lower_bound <= opt, r["instance"]
            assert res.cost >= opt, r["instance"]
            # a certified optimum must be the optimum
            if res.lower_bound == res.cost:
                assert res.cost == opt, r["instance"]
            gaps.append(res.cost / opt - 1)
        else:
            assert res.lower_bound <= float(r["lower_bound"]) * (1 + 1e-9) or res.lower_bound <= opt
    assert sum(gaps) / len(gaps) < 0.03
    assert max(gaps) < 0.12


@pytest.mark.parametrize("name", ["pace18_t1_instance001", "pace18_t1_instance027", "pace18_t1_instance155", "pace18_t1_instance068"])
def test_tiny_instances_solved_exactly(steiner_data, name):
    rows = {r["instance"]: r for r in csv.DictReader(open(steiner_data / "instances.csv", newline=""))}
    r = rows[name]
    inst = read_instance(steiner_data / r["file"])
    res = solve(inst.n_nodes, inst.edges_u, inst.edges_v, inst.weights, inst.terminals)
    assert res.cost == float(r["optimum"])
