"""The synthetic towns of the scale benchmark (benchmarks/towns.py) run through the whole pipeline."""
from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from connectivity import load_scenario, run

TOWNS = Path(__file__).resolve().parents[1] / "benchmarks" / "towns.py"


@pytest.fixture(scope="module")
def towns():
    spec = importlib.util.spec_from_file_location("bench_towns", TOWNS)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_towns"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("bench_towns", None)


@pytest.fixture(scope="module")
def town(towns, tmp_path_factory):
    folder = tmp_path_factory.mktemp("town")
    # one round / order of the joint heuristic keeps the test short; the benchmark uses the defaults
    path = towns.make_town(folder, edges_target=300, n_sites=20, seed=3, design={"rounds": 1, "orders": 1})
    return path, run(load_scenario(path))


def test_town_files_are_deterministic(towns, tmp_path):
    a = towns.make_town(tmp_path / "a", edges_target=300, n_sites=20, seed=3)
    b = towns.make_town(tmp_path / "b", edges_target=300, n_sites=20, seed=3)
    assert (a.parent / "sites.csv").read_bytes() == (b.parent / "sites.csv").read_bytes()
    assert (a.parent / "roads.gpkg").stat().st_size == (b.parent / "roads.gpkg").stat().st_size
    data = tomllib.loads(a.read_text())
    assert set(data["hubs"]) == {"TOT", "CAT", "PEA"} and "design" not in data
    sites = pd.read_csv(a.parent / "sites.csv")
    assert len(sites) == 20 and sites["site_id"].is_unique
    assert set(sites["operator"]) == {"TOT", "CAT", "PEA"}


def test_town_is_noded_to_about_the_target(town):
    _, plan = town
    edges = plan.summary["network"]["edges"]
    assert abs(edges - 300) <= 0.15 * 300, edges
    roads = plan.network.edges
    road = roads[roads["kind"] == "road"]
    assert {"primary", "residential", "service"} <= set(road["highway"]) or \
        {"secondary", "residential", "service"} <= set(road["highway"])
    # the ways were split at the junctions: far more edges than lines in the file
    import geopandas as gpd
    lines = gpd.read_file(town[0].parent / "roads.gpkg")
    assert len(road) > 1.5 * len(lines)


def test_every_site_connected_or_reported(town):
    _, plan = town
    s = plan.summary
    assert s["sites_total"] == 23  # 20 sites + a hub per operator
    reported = {r["site_id"] for r in s["sites_not_connected"]}
    assert s["sites_connected"] + len(reported) == s["sites_total"]
    sites = plan.sites
    assert set(sites.loc[~sites["connected"], "site_id"]) == reported
    assert s["sites_connected"] >= 0.8 * s["sites_total"]


def test_plan_has_ducts_for_each_operator_with_two_sites(town):
    _, plan = town
    connected = plan.sites[plan.sites["connected"]]
    counts = connected["operator"].value_counts()
    wanted = {op for op, n in counts.items() if n >= 2}
    assert wanted, counts
    ducts = plan.ducts
    assert len(ducts) > 0 and ducts["length_m"].sum() > 0
    for op in wanted:
        assert ducts[f"ducts_{op}"].gt(0).any(), op
    # each connected site's lead-in carries ducts of its operator
    edges = plan.network.edges
    lead = edges[edges["kind"] == "lead_in"].reset_index().set_index("site_id")["edge_id"]
    by_edge = ducts.set_index("edge_id")
    for site_id, op in connected[["site_id", "operator"]].itertuples(index=False):
        if op in wanted and site_id in lead.index:
            assert by_edge.loc[lead[site_id], f"ducts_{op}"] > 0, site_id
    assert plan.summary["total_cost"] > 0
    assert plan.summary["gap_pct"] >= 0
