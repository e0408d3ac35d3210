"""Phasing: budgets, dig-once, connectivity of every phase, phase sums, options, exact comparison."""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectivity import phasing as ph
from connectivity.errors import ConfigError, InputDataError

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "phasing_milp.py"


def _forest(edges, costs, sites, *, hubs=(), buildings=None, operators=None, site_ops=None):
    """edges: [(u, v)], sites: node ids (a site per node), hubs: node ids among sites."""
    u = [a for a, _ in edges]
    v = [b for _, b in edges]
    return ph.make_forest(
        edge_id=np.arange(100, 100 + len(edges)), u=u, v=v, cost_thb=costs,
        operators=operators or [("TOT",)] * len(edges), buildings=buildings,
        site_node=list(sites), site_operator=site_ops or ["TOT"] * len(sites),
        site_hub=[s in hubs for s in sites], site_id=[f"s{s}" for s in sites])


def _built_reaches_roots(forest: ph.PlanForest, result: ph.Phasing, k: int) -> bool:
    """Every node of a segment built in phases 1..k is joined to a root through such segments."""
    built = (result.phase > 0) & (result.phase <= k)
    adj: dict[int, list[int]] = {}
    for a, b in zip(forest.u[built], forest.v[built]):
        adj.setdefault(int(a), []).append(int(b))
        adj.setdefault(int(b), []).append(int(a))
    seen = set()
    stack = [r for r in result.roots if r in adj]
    seen.update(stack)
    while stack:
        x = stack.pop()
        for y in adj[x]:
            if y not in seen:
                seen.add(y)
                stack.append(y)
    return set(adj) <= seen


# --------------------------------------------------------------------------- options


def test_parse_phases_reads_budgets_priority_and_weights():
    specs = ph.parse_phases([
        {"name": "Quick win", "budget_thb": 1_000_000, "end": "2027-06-30", "priority": "operators",
         "weights": {"TOT": 2, "CAT": 1}},
        {"name": "Rest"},
    ], operators=["TOT", "CAT"])
    assert specs[0] == ph.PhaseSpec("Quick win", 1e6, "2027-06-30", "operators", (("CAT", 1.0), ("TOT", 2.0)))
    assert specs[1] == ph.PhaseSpec("Rest", None)


@pytest.mark.parametrize("value, key", [
    ([{"name": "a"}, {"name": "b", "budget_thb": 5}], "phases[0].budget_thb"),
    ([{"budget_thb": -5}], "phases[0].budget_thb"),
    ([{"budget_thb": True}], "phases[0].budget_thb"),
    ([{"budget_thb": 5, "priority": "cheapest"}], "phases[0].priority"),
    ([{"budget_thb": 5, "colour": "red"}], "phases[0]: unknown key(s) colour"),
    ([{"budget_thb": 5, "priority": "operators", "weights": {"XYZ": 1}}], "phases[0].weights.XYZ"),
    ([{"budget_thb": 5, "priority": "operators", "weights": {"TOT": "high"}}], "phases[0].weights.TOT"),
    ([{"budget_thb": 5, "weights": {"TOT": 1}}], "phases[0].weights"),
    ([{"name": "x", "budget_thb": 5}, {"name": "x"}], "duplicate name(s) x"),
    ([{"budget_thb": 5, "cost_per_m_thb": 0}], "phases[0].cost_per_m_thb"),
    ([{"budget_thb": 5}, {"cost_per_m_thb": 3000}], "phases[1].cost_per_m_thb"),
    ([], "phases must be a non-empty list"),
    ({"budget_thb": 5}, "phases must be a non-empty list"),
])
def test_parse_phases_errors_name_the_key(value, key):
    with pytest.raises(ConfigError) as err:
        ph.parse_phases(value, source="s.toml", operators=["TOT", "CAT"])
    assert key in str(err.value) and "\n" not in str(err.value)


def test_make_forest_rejects_bad_arrays():
    with pytest.raises(InputDataError, match="cost_thb"):
        _forest([(0, 1)], [-1.0], [1])
    with pytest.raises(InputDataError, match="loop"):
        _forest([(1, 1)], [1.0], [1])
    with pytest.raises(InputDataError, match="u has"):
        ph.make_forest(edge_id=[1, 2], u=[0], v=[1, 2], cost_thb=[1, 1])


# --------------------------------------------------------------------------- behaviour on known cases


def test_value_first_escapes_the_knapsack_trap():
    # hub 0; an expensive street with two sites (0-1-2, 11 THB) and a cheap one with one site (0-3, 5 THB)
    f = _forest([(0, 1), (1, 2), (0, 3)], [10.0, 1.0, 5.0], [0, 1, 2, 3], hubs={0})
    r = ph.phase_plan(f, [ph.PhaseSpec("p1", 11.0), ph.PhaseSpec("p2", None)])
    assert r.phase.tolist() == [1, 1, 2]
    assert [p.sites_connected for p in r.phases] == [3, 1]  # phase 1 counts the hub
    assert r.phases[0].cost_thb == 11.0


def test_best_ratio_first():
    # two branches of one site each; the cheaper one goes first
    f = _forest([(0, 1), (0, 2)], [8.0, 3.0], [0, 1, 2], hubs={0})
    r = ph.phase_plan(f, [ph.PhaseSpec("p1", 9.0), ph.PhaseSpec("p2", 9.0)])
    assert r.phase.tolist() == [2, 1]
    assert r.site_phase.tolist() == [1, 2, 1]


def test_budget_short_leaves_a_reported_rest():
    f = _forest([(0, 1), (1, 2), (0, 3)], [4.0, 4.0, 10.0], [0, 2, 3], hubs={0})
    r = ph.phase_plan(f, [ph.PhaseSpec("p1", 9.0)])
    assert r.phase.tolist() == [1, 1, 0]
    assert r.unbuilt == ph.Unbuilt(segments=1, cost_thb=10.0, buildings_passed=0, site_ids=("s3",))
    assert r.summary()["phases_unbuilt"] == {"segments": 1, "cost_thb": 10.0, "buildings_passed": 0, "sites": ["s3"]}


def test_nothing_fits_builds_nothing():
    f = _forest([(0, 1)], [10.0], [0, 1], hubs={0})
    r = ph.phase_plan(f, [ph.PhaseSpec("p1", 5.0)])
    assert r.phase.tolist() == [0]
    assert r.phases[0].cost_thb == 0 and r.phases[0].sites_connected == 1  # only the hub
    assert r.unbuilt.site_ids == ("s1",)


def test_buildings_priority_follows_buildings():
    f = _forest([(0, 1), (0, 2)], [5.0, 5.0], [0, 1, 2], hubs={0}, buildings=[1, 30])
    by_sites = ph.phase_plan(f, [ph.PhaseSpec("p1", 5.0), ph.PhaseSpec("p2", None)])
    by_buildings = ph.phase_plan(f, [ph.PhaseSpec("p1", 5.0, priority="buildings"), ph.PhaseSpec("p2", None)])
    assert by_sites.phase.tolist() == [1, 2]  # tie on sites: the lower node id
    assert by_buildings.phase.tolist() == [2, 1]
    assert by_buildings.phases[0].buildings_passed == 30


def test_operator_weights_favour_the_weighted_operator():
    f = _forest([(0, 1), (0, 2)], [5.0, 4.0], [0, 1, 2], hubs={0}, site_ops=["PEA", "TOT", "CAT"])
    plain = ph.phase_plan(f, [ph.PhaseSpec("p1", 5.0)])
    weighted = ph.phase_plan(f, [ph.PhaseSpec("p1", 5.0, priority="operators", weights=(("TOT", 3.0),))])
    assert plain.phase.tolist() == [0, 1]
    assert weighted.phase.tolist() == [1, 0]


def test_hubless_component_starts_at_its_best_cluster():
    # no hub: a tight cluster (nodes 10-13, 1 THB apart) far (100 THB) from a lone site (20)
    edges = [(10, 11), (11, 12), (12, 13), (13, 20)]
    f = _forest(edges, [1.0, 1.0, 1.0, 100.0], [10, 11, 12, 13, 20])
    r = ph.phase_plan(f, [ph.PhaseSpec("p1", 3.0), ph.PhaseSpec("p2", None)])
    assert r.phase.tolist() == [1, 1, 1, 2]
    assert r.phases[0].sites_connected == 4 and r.phases[1].sites_connected == 1
    assert _built_reaches_roots(f, r, 1) and _built_reaches_roots(f, r, 2)


def test_lone_start_site_counts_only_once_something_is_built():
    f = _forest([(0, 1)], [10.0], [0, 1])
    r = ph.phase_plan(f, [ph.PhaseSpec("p1", 5.0)])
    assert r.site_phase.tolist() == [0, 0]


def test_cycle_in_the_plan_is_closed_when_budget_allows():
    f = _forest([(0, 1), (1, 2), (2, 3), (3, 0)], [1.0, 1.0, 1.0, 1.0], [0, 2], hubs={0})
    r = ph.phase_plan(f, [ph.PhaseSpec("p1", 2.0), ph.PhaseSpec("p2", None)])
    assert sorted(r.phase.tolist()) == [1, 1, 2, 2]
    assert r.phases[0].sites_connected == 2
    assert _built_reaches_roots(f, r, 1)


def test_allocation_per_phase_by_duct_share():
    f = ph.make_forest(edge_id=[1, 2], u=[0, 1], v=[1, 2], cost_thb=[300.0, 100.0],
                       operators=[("CAT", "TOT"), ("TOT",)], ducts={"TOT": [2, 1], "CAT": [1, 0]},
                       site_node=[0, 1, 2], site_operator=["TOT", "CAT", "TOT"], site_hub=[True, False, False])
    r = ph.phase_plan(f, [ph.PhaseSpec("p1", 300.0), ph.PhaseSpec("p2", None)])
    assert r.phases[0].allocation_thb == pytest.approx({"CAT": 100.0, "TOT": 200.0})
    assert r.phases[1].allocation_thb == pytest.approx({"CAT": 0.0, "TOT": 100.0})
    assert [p.sites_per_operator for p in r.phases] == [{"CAT": 1, "TOT": 1}, {"CAT": 0, "TOT": 1}]


def test_segment_without_operator_is_unallocated():
    m, names = ph.duct_share_allocation(np.array([10.0, 6.0]), [("A", "B"), ()])
    assert names == ("A", "B", "unallocated")
    assert m.tolist() == [[5.0, 5.0, 0.0], [0.0, 0.0, 6.0]]


def test_single_phase_without_budget_builds_everything():
    assert ph.phase_plan(_forest([(0, 1)], [1.0], [0, 1], hubs={0}),
                         [ph.PhaseSpec("p", None)]).phase_or_none() == [1]


def test_phase_plan_needs_budgets_but_in_the_last_phase():
    f = _forest([(0, 1)], [1.0], [0, 1], hubs={0})
    with pytest.raises(ConfigError, match="phases\\[0\\].budget_thb"):
        ph.phase_plan(f, [ph.PhaseSpec("a", None), ph.PhaseSpec("b", 1.0)])
    with pytest.raises(ConfigError):
        ph.phase_plan(f, [])


# --------------------------------------------------------------------------- properties over random trees


@st.composite
def plans(draw):
    n = draw(st.integers(2, 24))
    parent = [draw(st.integers(-1 if i > 1 else 0, i - 1)) for i in range(1, n)]  # -1: a new tree
    extra = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=2))
    edges = [(p, i) for i, p in zip(range(1, n), parent) if p >= 0] + [(a, b) for a, b in extra if a != b]
    edges = list(dict.fromkeys(tuple(sorted(e)) for e in edges))
    costs = draw(st.lists(st.integers(0, 20), min_size=len(edges), max_size=len(edges)))
    buildings = draw(st.lists(st.integers(0, 5), min_size=len(edges), max_size=len(edges)))
    sites = sorted(draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=n)))
    hubs = draw(st.sets(st.sampled_from(sites), max_size=2))
    ops = [draw(st.sampled_from(["TOT", "CAT", "PEA"])) for _ in sites]
    priority = draw(st.sampled_from(ph.PRIORITIES))
    weights = (("CAT", 2.0), ("PEA", 0.5)) if priority == "operators" else ()
    budgets = draw(st.lists(st.integers(0, 60), min_size=1, max_size=3))
    last_open = draw(st.booleans())
    specs = [ph.PhaseSpec(f"p{i}", float(b) or 0.5, priority=priority, weights=weights) for i, b in enumerate(budgets)]
    if last_open:
        specs.append(ph.PhaseSpec("rest", None, priority=priority, weights=weights))
    node_costs = draw(st.dictionaries(st.integers(0, n - 1), st.integers(0, 8), max_size=n))
    forest = ph.make_forest(edge_id=np.arange(len(edges)), u=[a for a, _ in edges], v=[b for _, b in edges],
                            cost_thb=[float(c) for c in costs], buildings=buildings,
                            node_cost_thb={k: float(c) for k, c in node_costs.items()},
                            operators=[(ops[i % len(ops)],) for i in range(len(edges))],
                            site_node=sites, site_operator=ops, site_hub=[s in hubs for s in sites],
                            site_id=[f"s{s}" for s in sites])
    return forest, specs


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_phases_keep_budgets_dig_once_and_connectivity(case):
    forest, specs = case
    before = (forest.cost_thb.copy(), forest.u.copy(), forest.site_node.copy())
    r = ph.phase_plan(forest, specs)
    # arguments untouched
    assert np.array_equal(before[0], forest.cost_thb) and np.array_equal(before[1], forest.u)
    assert np.array_equal(before[2], forest.site_node)
    # dig-once: one phase per segment, edge ids never repeat across phases
    assert r.phase.shape == (forest.n_segments,) and set(r.phase.tolist()) <= set(range(len(specs) + 1))
    assert sum(p.segments for p in r.phases) + r.unbuilt.segments == forest.n_segments
    # budgets
    for p, spec in zip(r.phases, specs):
        if spec.budget_thb is not None:
            assert p.cost_thb <= spec.budget_thb + 1e-6
    # every phase hangs off a root or an earlier phase
    for k in range(1, len(specs) + 1):
        assert _built_reaches_roots(forest, r, k)
    # a site is connected exactly when its node is on the built network (or is a hub / off the plan)
    touched = set(forest.u.tolist()) | set(forest.v.tolist())
    for node, hub, sp in zip(forest.site_node, forest.site_hub, r.site_phase):
        on_built = any(r.phase[i] > 0 for i in np.flatnonzero((forest.u == node) | (forest.v == node)))
        assert (sp > 0) == bool(hub or node not in touched or on_built)
        if sp > 0 and not hub and node in touched:
            first = min(r.phase[i] for i in np.flatnonzero((forest.u == node) | (forest.v == node)) if r.phase[i] > 0)
            assert sp == first
    # sums: phases + unbuilt = plan
    total_cost = sum(p.cost_thb for p in r.phases) + r.unbuilt.cost_thb
    assert total_cost == pytest.approx(forest.total_cost_thb)
    due = ph.node_phases(forest, r.phase)
    for k, p in enumerate(r.phases, start=1):  # a phase pays its segments and the node costs they make due
        assert p.cost_thb == pytest.approx(forest.cost_thb[r.phase == k].sum() + forest.node_cost_thb[due == k].sum())
    assert sum(p.sites_connected for p in r.phases) + len(r.unbuilt.site_ids) == len(forest.site_id)
    assert sum(p.buildings_passed for p in r.phases) + r.unbuilt.buildings_passed == forest.buildings.sum()
    assert r.phases[-1].cumulative_cost_thb == pytest.approx(total_cost - r.unbuilt.cost_thb)
    for p in r.phases:
        assert sum(p.allocation_thb.values()) == pytest.approx(p.cost_thb)
    # an open last phase builds the whole plan
    if specs[-1].budget_thb is None:
        assert r.unbuilt.segments == 0 and r.unbuilt.site_ids == ()
    # greedy stops only when nothing more fits: every unbuilt segment touching the network costs too much
    for k, (p, spec) in enumerate(zip(r.phases, specs), start=1):
        if spec.budget_thb is None:
            continue
        built = (r.phase > 0) & (r.phase <= k)
        nodes = set(forest.u[built].tolist()) | set(forest.v[built].tolist()) | set(r.roots)
        nodes |= {int(s) for s, h in zip(forest.site_node, forest.site_hub) if h}
        paid = set(forest.u[built].tolist()) | set(forest.v[built].tolist())
        node_cost = dict(zip(forest.node_id.tolist(), forest.node_cost_thb.tolist()))
        for i in np.flatnonzero(~built & ((r.phase == 0) | (r.phase > k))):
            if int(forest.u[i]) in nodes or int(forest.v[i]) in nodes:
                ends = {int(forest.u[i]), int(forest.v[i])} - paid
                marginal = forest.cost_thb[i] + sum(node_cost.get(x, 0.0) for x in ends)
                assert marginal > spec.budget_thb - p.cost_thb - 1e-6


@settings(max_examples=60, deadline=None)
@given(plans())
def test_deterministic(case):
    forest, specs = case
    a, b = ph.phase_plan(forest, specs), ph.phase_plan(forest, specs)
    assert np.array_equal(a.phase, b.phase) and a.summary() == b.summary()


# --------------------------------------------------------------------------- against the exact optimum


def _bench():
    spec = importlib.util.spec_from_file_location("phasing_milp", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_exact_first_phase_on_a_known_case():
    f = _forest([(0, 1), (1, 2), (0, 3)], [10.0, 1.0, 5.0], [0, 1, 2, 3], hubs={0})
    value, built = ph.optimal_first_phase(f, ph.PhaseSpec("p1", 11.0))
    assert value == 3.0 and built.tolist() == [True, True, False]


def test_exact_first_phase_rejects_cycles():
    f = _forest([(0, 1), (1, 2), (2, 0)], [1.0, 1.0, 1.0], [0, 2], hubs={0})
    with pytest.raises(InputDataError, match="not a tree"):
        ph.optimal_first_phase(f, ph.PhaseSpec("p1", 5.0))


@pytest.mark.parametrize("priority", ph.PRIORITIES)
@pytest.mark.parametrize("hubless", [False, True])
def test_greedy_is_close_to_the_exact_first_phase(priority, hubless):
    bench = _bench()
    weights = (("TOT", 2.0), ("PEA", 0.5)) if priority == "operators" else ()
    gaps = []
    for seed in range(6):
        forest = bench.random_plan(seed, nodes=40, hubless=hubless)
        spec = ph.PhaseSpec("p1", float(forest.cost_thb.sum()) * 0.25, priority=priority, weights=weights)
        greedy, optimum = bench.compare(forest, spec)
        assert greedy <= optimum + 1e-6  # the MILP is exact
        gaps.append((optimum - greedy) / optimum)
    assert max(gaps) <= 0.35
    assert sum(gaps) / len(gaps) <= 0.10


def test_component_without_sites_is_still_built_when_budget_allows():
    f = _forest([(0, 1), (5, 6)], [1.0, 2.0], [0, 1], hubs={0})
    r = ph.phase_plan(f, [ph.PhaseSpec("all", None)])
    assert r.phase.tolist() == [1, 1] and r.phases[0].cost_thb == 3.0


# --------------------------------------------------------------------------- plan frames


def test_coverage_gives_each_passed_building_its_nearest_segment():
    import geopandas as gpd
    from shapely.geometry import LineString, Point

    from connectivity import coverage
    from connectivity.errors import CRSError

    ducts = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (100, 0)]), LineString([(0, 30), (100, 30)])],
                             crs="EPSG:32647")
    bld = gpd.GeoDataFrame(geometry=[Point(50, 5).buffer(2), Point(50, 12).buffer(2), Point(50, 26),
                                     Point(50, 80), Point(500, 0)], crs="EPSG:32647")
    sites = gpd.GeoDataFrame({"operator": [], "connected": []}, geometry=[], crs="EPSG:32647")
    cov = coverage.analyse(ducts, bld, sites)
    assert cov.nearest_segment.tolist() == [0, 0, 1, -1, -1]
    assert sorted(zip(*(p.tolist() for p in cov.passed_pairs))) == [(0, 0), (1, 0), (1, 1), (2, 1)]
    wide = coverage.analyse(ducts, bld, sites, pass_distance_m=60)
    assert wide.nearest_segment.tolist() == [0, 0, 1, 1, -1]
    with pytest.raises(CRSError):
        coverage.analyse(ducts, bld.to_crs("EPSG:4326"), sites)


def _tiny_plan(fixtures):
    from connectivity.config import load_scenario
    from connectivity.pipeline import run

    return run(load_scenario(fixtures / "tiny.toml"))


def test_forest_of_the_design_result(fixtures):
    plan = _tiny_plan(fixtures)
    f = ph.forest_from_layout(plan.layout, plan.sites)
    ducts, manholes = plan.ducts, plan.manholes
    assert f.edge_id.tolist() == ducts["edge_id"].tolist()
    assert [",".join(o) for o in f.operators] == ducts["operators"].tolist()
    # segments carry their trench, ducts and the manholes inside them; node manholes fall due at nodes
    assert f.total_cost_thb == pytest.approx(ducts["cost_thb"].sum() + manholes["cost_thb"].sum())
    inside = manholes["segment_id"].notna()
    assert f.node_cost_thb.sum() == pytest.approx(manholes.loc[~inside, "cost_thb"].sum())
    assert f.allocation_thb.sum(axis=1) == pytest.approx(f.cost_thb)
    assert len(f.site_id) == int(plan.sites["connected"].sum())
    r = ph.phase_plan(f, [ph.PhaseSpec("half", f.total_cost_thb / 2), ph.PhaseSpec("rest", None)])
    assert set(r.phase.tolist()) <= {1, 2} and r.phases[0].cost_thb <= f.total_cost_thb / 2
    assert sum(p.cost_thb for p in r.phases) == pytest.approx(f.total_cost_thb)


def test_phase_layout_on_the_tiny_plan(fixtures):
    from connectivity import boq

    plan = _tiny_plan(fixtures)
    layout = plan.layout
    total = float(plan.ducts["cost_thb"].sum() + plan.manholes["cost_thb"].sum())
    specs = ph.parse_phases([{"name": "quick", "budget_thb": total / 3}, {"name": "rest"}])
    out = ph.phase_layout(layout, plan.sites, specs)
    r = out.phasing
    s = r.summary()
    assert [p["name"] for p in s["phases"]] == ["quick", "rest"]
    assert s["phases"][0]["cost_thb"] <= total / 3
    assert s["phases"][-1]["cumulative"]["cost_thb"] == pytest.approx(total, abs=0.05)
    assert s["phases"][-1]["cumulative"]["sites_connected"] == int(plan.sites["connected"].sum())
    # a manhole inside a run goes with its segment; one at a node with the first segment built there
    seg, mh = layout.segments, layout.manholes
    for i in range(len(mh)):
        if mh.segment[i] >= 0:
            assert out.manhole_phase[i] == r.phase[mh.segment[i]]
        else:
            at = (seg.u == mh.node[i]) | (seg.v == mh.node[i])
            assert out.manhole_phase[i] == r.phase[at].min()
    rows = boq.phase_rows(layout, r.phase, out.manhole_phase, names=["quick", "rest"])
    assert rows["cost_thb"].sum() == pytest.approx(total)
    assert rows.groupby("phase")["cost_thb"].sum().tolist() == pytest.approx([p.cost_thb for p in r.phases])
    assert set(rows["unit"]) == ({"m", "each"} if len(mh) else {"m"})
    assert rows["item"].iloc[0].startswith("phase 1 (quick): trench and ducts")


def test_a_service_on_a_street_without_ducts_is_an_error(fixtures):
    import pandas as pd

    plan = _tiny_plan(fixtures)
    missing = int(plan.network.edges.index.max()) + 1
    services = pd.DataFrame({"building_id": ["b1"], "edge_id": [missing], "power": [""], "telecom": ["TOT"],
                             "cost_thb": [100.0], "power_cost_thb": [0.0]})
    with pytest.raises(InputDataError, match="building b1"):
        ph.forest_from_layout(plan.layout, plan.sites, services=services)
    on_street = services.assign(edge_id=int(plan.layout.segments.edge[0]))
    f = ph.forest_from_layout(plan.layout, plan.sites, services=on_street, services_factor=1.1)
    base = ph.forest_from_layout(plan.layout, plan.sites)
    assert f.cost_thb[0] - base.cost_thb[0] == pytest.approx(110.0)
    assert f.allocation_thb[0, f.allocation_operators.index("TOT")] - \
        base.allocation_thb[0, base.allocation_operators.index("TOT")] == pytest.approx(110.0)


def test_more_starts_never_do_worse_than_the_plain_greedy():
    bench = _bench()
    for seed in range(4):
        forest = bench.random_plan(seed, nodes=80)
        spec = ph.PhaseSpec("p1", float(forest.cost_thb.sum()) * 0.2)
        plain = ph.phase_plan(forest, [spec], starts=0)
        multi = ph.phase_plan(forest, [spec])
        assert ph.phase_value(forest, multi, spec) >= ph.phase_value(forest, plain, spec)
    with pytest.raises(ConfigError, match="starts"):
        ph.phase_plan(forest, [spec], starts=-1)


def test_large_plans_get_the_plain_greedy_by_default(monkeypatch):
    """Above FULL_SEARCH_SEGMENTS segments the default is the plain greedy (its runs grow with
    the square of the plan), below it the extra runs."""
    forest = _bench().random_plan(1, nodes=80)
    spec = ph.PhaseSpec("p1", float(forest.cost_thb.sum()) * 0.2)
    plain = ph.phase_plan(forest, [spec], starts=0).phase_or_none()
    multi = ph.phase_plan(forest, [spec], starts=ph.STARTS).phase_or_none()
    assert plain != multi   # this plan tells the two apart
    assert ph.phase_plan(forest, [spec]).phase_or_none() == multi
    monkeypatch.setattr(ph, "FULL_SEARCH_SEGMENTS", forest.n_segments - 1)
    assert ph.phase_plan(forest, [spec]).phase_or_none() == plain


# --------------------------------------------------------------------------- pipeline


def _tiny_phased(fixtures, tmp_path, phases: str):
    text = (fixtures / "tiny.toml").read_text().replace('osm = "tiny.osm"', f'osm = "{fixtures / "tiny.osm"}"')
    text = text.replace('operators = "operators.toml"', f'operators = "{fixtures / "operators.toml"}"')
    path = tmp_path / "phased.toml"
    path.write_text(text + "\n" + phases)
    return path


def test_pipeline_phases_the_plan_and_writes_them(fixtures, tmp_path):
    import json

    import geopandas as gpd

    from connectivity.config import load_scenario
    from connectivity.pipeline import run, write_outputs

    path = _tiny_phased(fixtures, tmp_path, """
[[phases]]
name = "first"
budget_thb = 200000
cost_per_m_thb = 1000

[[phases]]
name = "second"
""")
    plan = run(load_scenario(path))
    s = plan.summary
    assert [p["name"] for p in s["phases"]] == ["first", "second"]
    assert s["phases"][0]["cost_thb"] <= 200000
    if "cost_thb" in plan.ducts.columns:  # the design stage prices segments and manholes
        manholes = plan.manholes
        total = plan.ducts["cost_thb"].sum() + (manholes["cost_thb"].sum() if manholes is not None else 0.0)
    else:  # no cost model: the flat cost per metre of the first phase
        total = plan.ducts["length_m"].sum() * 1000
    assert s["phases"][-1]["cumulative"]["cost_thb"] == pytest.approx(total, abs=0.1)
    assert s["phases"][-1]["cumulative"]["sites_connected"] == s["sites_connected"]
    assert s["phases_unbuilt"]["segments"] == 0
    write_outputs(plan, tmp_path / "out")
    on_disk = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert on_disk["phases"] == s["phases"]
    ducts = gpd.read_file(tmp_path / "out" / "ducts.geojson")
    assert set(ducts["phase"]) == {1, 2}


def test_pipeline_phase_errors_are_config_errors(fixtures, tmp_path):
    from connectivity.config import load_scenario
    from connectivity.pipeline import run

    bad = _tiny_phased(fixtures, tmp_path, '[[phases]]\nbudget_thb = "lots"\n')
    with pytest.raises(ConfigError, match="phases\\[0\\].budget_thb"):
        run(load_scenario(bad))
    no_cost = _tiny_phased(fixtures, tmp_path, "[[phases]]\nbudget_thb = 5\n")
    if "cost_thb" not in run(load_scenario(fixtures / "tiny.toml")).ducts.columns:
        with pytest.raises(ConfigError, match="cost_per_m_thb"):  # no cost model: budgets need a flat cost
            run(load_scenario(no_cost))


def test_chiang_mai_two_phases(shared_data):
    """Issue 6 done-when: a quick win that connects more sites per baht than the plan; dig-once."""
    from connectivity.config import load_scenario
    from connectivity.pipeline import run

    plan = run(load_scenario(Path(__file__).resolve().parents[1] / "data" / "scenarios" / "chiang_mai_phased.toml"))
    s = plan.summary
    first, rest = s["phases"]
    total_cost = sum(p["cost_thb"] for p in s["phases"])
    assert first["cost_thb"] <= first["budget_thb"]
    assert 0.2 <= first["budget_thb"] / total_cost <= 0.3  # a quarter of the full plan
    assert first["sites_connected"] / first["cost_thb"] > s["sites_connected"] / total_cost
    assert s["phases_unbuilt"]["segments"] == 0
    assert rest["cumulative"]["sites_connected"] == s["sites_connected"]
    # dig-once: every segment (street) has exactly one phase, no edge in both
    ducts = plan.ducts
    assert ducts["phase"].notna().all()
    by_phase = [set(ducts.loc[ducts["phase"] == k, "edge_id"]) for k in (1, 2)]
    assert not (by_phase[0] & by_phase[1]) and len(by_phase[0] | by_phase[1]) == len(ducts)
    # phase 1 hangs off the hub
    hub = int(plan.sites.loc[plan.sites["kind"] == "hub", "node_id"].iloc[0])
    edges = plan.network.edges.loc[ducts.loc[ducts["phase"] == 1, "edge_id"]]
    import networkx as nx

    G = nx.Graph(list(zip(edges["u"], edges["v"])))
    assert hub in G and nx.is_connected(G)
    # the greedy quick win against the exact optimum under the same budget (the joint plan is a tree here)
    forest = ph.forest_from_layout(plan.layout, plan.sites)
    if forest.n_segments == len(set(forest.u.tolist()) | set(forest.v.tolist())) - 1:
        optimum, _ = ph.optimal_first_phase(forest, ph.PhaseSpec("q", first["budget_thb"]), time_limit_s=120)
        assert first["sites_connected"] >= 0.9 * optimum
    # each phase's cumulative buildings passed is the coverage of phases 1..k
    from connectivity import coverage

    for k, p in enumerate(s["phases"], start=1):
        passed = coverage.analyse(ducts[ducts["phase"] <= k], plan.buildings, plan.sites).summary
        assert p["cumulative"]["buildings_passed"] == passed["buildings_passed"]


def test_a_building_counts_in_the_first_phase_that_passes_it():
    # building 0 is near segments 0 (phase 1) and 1 (phase 2); building 1 only near segment 2 (unbuilt)
    f = _forest([(0, 1), (1, 2), (2, 3)], [5.0, 5.0, 50.0], [0, 2, 3], hubs={0}, buildings=[0, 1, 1])
    r = ph.phase_plan(f, [ph.PhaseSpec("p1", 5.0), ph.PhaseSpec("p2", 5.0)])
    assert r.phase.tolist() == [1, 2, 0]
    exact = ph.count_buildings_by_phase(r, np.array([0, 0, 1]), np.array([0, 1, 2]))
    assert [p.buildings_passed for p in exact.phases] == [1, 0]
    assert [p.cumulative_buildings_passed for p in exact.phases] == [1, 1]
    assert exact.unbuilt.buildings_passed == 1
    assert np.array_equal(exact.phase, r.phase)


def test_node_costs_fall_due_with_the_first_segment_at_the_node():
    # hub 0 has a manhole (3 THB), node 1 a manhole (2 THB); segment 0-1 costs 5
    f = ph.make_forest(edge_id=[7, 8], u=[0, 1], v=[1, 2], cost_thb=[5.0, 5.0], operators=[("TOT",), ("CAT",)],
                       site_node=[0, 1, 2], site_operator=["TOT", "TOT", "CAT"], site_hub=[True, False, False],
                       node_cost_thb={0: 3.0, 1: 2.0, 99: 1.0})
    assert f.total_cost_thb == 15.0  # node 99 is off the plan
    tight = ph.phase_plan(f, [ph.PhaseSpec("p1", 9.0)])
    assert tight.phase.tolist() == [0, 0] and tight.unbuilt.cost_thb == 15.0
    r = ph.phase_plan(f, [ph.PhaseSpec("p1", 10.0), ph.PhaseSpec("p2", None)])
    assert r.phase.tolist() == [1, 2]
    assert [p.cost_thb for p in r.phases] == [10.0, 5.0]
    assert r.phases[0].allocation_thb == pytest.approx({"CAT": 1.0, "TOT": 9.0})  # node 1 is shared
    assert ph.node_phases(f, r.phase).tolist() == [1, 1]
    value, built = ph.optimal_first_phase(f, ph.PhaseSpec("p1", 9.0))
    assert value == 1.0 and not built.any()  # only the hub: 5 + 3 + 2 > 9
    value, built = ph.optimal_first_phase(f, ph.PhaseSpec("p1", 10.0))
    assert value == 2.0 and built.tolist() == [True, False]
