"""The two example scenarios on the real OSM extracts in ../shared/data (read-only)."""
import json

import pytest

from connectivity.config import load_scenario
from connectivity.pipeline import run, write_outputs
from conftest import SCENARIOS


@pytest.fixture(scope="module")
def chiang_mai(shared_data):
    return run(load_scenario(SCENARIOS / "chiang_mai_nimman.toml"))


@pytest.fixture(scope="module")
def phuket(shared_data):
    return run(load_scenario(SCENARIOS / "phuket_backbone.toml"))


def test_chiang_mai_network_is_highways_only(chiang_mai):
    roads = chiang_mai.roads
    assert roads["highway"].notna().all()
    assert not roads["highway"].isin(["footway", "path", "steps", "building"]).any()
    assert chiang_mai.network.crs == "EPSG:32647"
    assert 1500 < len(roads) < 2500  # highways only: the raw file makes ~44k edges with buildings
    assert 100_000 < roads["length_m"].sum() < 170_000


def test_chiang_mai_connects_every_reachable_site(chiang_mai, tmp_path):
    s = chiang_mai.summary
    assert {"TOT", "CAT", "PEA"} <= set(s["sites_per_operator"])
    assert "MEA" not in s["sites_per_operator"]  # MEA serves only Bangkok and its neighbours
    attached = chiang_mai.sites["status"] != "too_far"
    assert chiang_mai.sites.loc[attached, "connected"].sum() >= attached.sum() - len(s["network"]["components"])
    assert s["sites_connected"] == int(chiang_mai.sites["connected"].sum())
    written = {p.name for p in write_outputs(chiang_mai, tmp_path)}
    assert written >= {"ducts.geojson", "sites.geojson", "summary.json", "map.html"}
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk["trench_length_m"] == pytest.approx(chiang_mai.ducts["length_m"].sum(), abs=0.01)


def test_ducts_form_a_tree_joining_connected_sites(chiang_mai):
    import networkx as nx

    # each operator's ducts form one tree joining its connected sites (the union of the
    # operators' trees may hold cycles: power and telecom can take different streets)
    ducts = chiang_mai.ducts
    for op, sites in chiang_mai.sites[chiang_mai.sites["connected"]].groupby("operator"):
        mine = ducts[ducts[f"ducts_{op}"] > 0]
        edges = chiang_mai.network.edges.loc[mine["edge_id"]]
        G = nx.Graph(list(zip(edges["u"], edges["v"])))
        assert nx.is_tree(G), op
        assert set(sites["node_id"].astype(int)) <= set(G.nodes), op


def test_chiang_mai_joint_design_saves_and_shares(chiang_mai, tmp_path):
    import pandas as pd

    s = chiang_mai.summary
    assert s["currency"] == "THB"
    # dig once: the joint plan costs less than every operator trenching alone
    assert 0 < s["total_cost"] < s["separate_total_cost"]
    assert s["savings"] == pytest.approx(s["separate_total_cost"] - s["total_cost"], abs=0.02)
    assert s["separate_total_cost"] == pytest.approx(sum(s["stand_alone_cost"].values()), abs=0.05)
    assert set(s["allocation"]) == {"equal", "proportional_ducts", "proportional_standalone", "shapley"}
    for method, shares in s["allocation"].items():
        assert shares["MEA"] == 0.0, method          # no sites in Chiang Mai: null player
        assert shares["EGAT"] == 0.0, method         # a single substation: nothing to join
        assert sum(shares.values()) == pytest.approx(s["total_cost"], abs=0.06), method
    assert s["stand_alone_cost"]["MEA"] == 0.0
    assert 0 < s["lower_bound"] <= s["total_cost"]
    assert s["manholes"]["total"] == len(chiang_mai.manholes) > 0
    written = {p.name for p in write_outputs(chiang_mai, tmp_path)}
    assert written >= {"manholes.geojson", "boq.csv", "allocation.csv"}
    boq = pd.read_csv(tmp_path / "boq.csv")
    assert boq["cost_thb"].sum() == pytest.approx(s["total_cost"], abs=0.05)
    alloc = pd.read_csv(tmp_path / "allocation.csv").set_index("operator")
    assert alloc.loc["MEA"].abs().sum() == 0
    props = json.loads((tmp_path / "ducts.geojson").read_text())["features"][0]["properties"]
    assert {"trench_type", "ducts", "n_ducts", "ducts_TOT", "ducts_PEA", "cost_thb"} <= set(props)
    manholes = json.loads((tmp_path / "manholes.geojson").read_text())["features"]
    assert {f["properties"]["reason"] for f in manholes} <= {"junction", "spacing", "site"}
    assert {f["properties"]["group"] for f in manholes} == {"telecom", "power"}


def test_phuket_noded_roads_form_one_main_network(phuket):
    comps = phuket.summary["network"]["components"]
    assert comps[0] > 0.98 * sum(comps)  # the island's arterial network is one component
    lost = phuket.sites[(phuket.sites["status"] == "unreachable")]
    # a site that is not connected lies in a road component without another site
    assert len(lost) <= len(comps) - 1
    assert phuket.summary["sites_connected"] > 150


def test_stage_outputs_are_picklable(chiang_mai):
    """Stages exchange plain data, so a distributed engine (Dask) can ship them between workers."""
    import pickle

    again = pickle.loads(pickle.dumps(chiang_mai))
    assert again.summary == chiang_mai.summary
    assert again.ducts.equals(chiang_mai.ducts)
    assert again.network.edges["length_m"].sum() == pytest.approx(chiang_mai.network.edges["length_m"].sum())


def test_chiang_mai_overhead_line_goes_underground(chiang_mai, shared_data, tmp_path):
    """[design] underground_aerial: the roads along the extract's overhead power line are required."""
    text = (SCENARIOS / "chiang_mai_nimman.toml").read_text()
    osm = shared_data / "osm" / "chiang_mai" / "chiang_mai_nimman_cmu_2023-02-27.osm"
    ops = (SCENARIOS / "../operators/default.toml").resolve()
    text = text.replace('osm = "../../../shared/data/osm/chiang_mai/chiang_mai_nimman_cmu_2023-02-27.osm"', f'osm = "{osm}"')
    text = text.replace('operators = "../operators/default.toml"', f'operators = "{ops}"')
    scenario = tmp_path / "aerial.toml"
    scenario.write_text(text + "\n[design]\nunderground_aerial = true\n")
    result = run(load_scenario(scenario))
    s, base = result.summary, chiang_mai.summary
    assert s["aerial_edges_matched"] == base["aerial_edges_matched"] > 0
    assert base["overhead_km_removed"] < s["overhead_km_removed"]
    assert s["total_cost"] >= base["total_cost"] * 0.999   # more trench is required, not less



def test_a_spent_time_limit_is_reported_not_fatal(shared_data, monkeypatch):
    """``time_limit_s`` far below what the first plans need: the plan is still whole (every
    reachable site joined, a valid bound), and the design stage's wall seconds go to the
    time-limit check with the scenario's limit."""
    from dataclasses import replace

    import connectivity.pipeline as pipeline

    seen = []
    monkeypatch.setattr(pipeline, "_warn_time_limit", lambda limit, seconds: seen.append((limit, seconds)))
    scenario = load_scenario(SCENARIOS / "phuket_backbone.toml")
    full = run(scenario)
    spent = run(replace(scenario, options=replace(scenario.options, time_limit_s=0.001)))
    assert [limit for limit, _ in seen] == [None, 0.001] and all(sec > 0 for _, sec in seen)
    assert spent.summary["sites_connected"] == full.summary["sites_connected"]
    assert 0 < spent.summary["lower_bound"] <= spent.summary["network_cost"]


@pytest.mark.parametrize("limit, seconds, warned", [(10.0, 19.7, True), (10.0, 12.0, False), (None, 500.0, False),
                                                    (0.001, 0.4, False), (0.001, 0.6, True)])
def test_time_limit_warning_only_well_past_the_limit(caplog, limit, seconds, warned):
    import logging

    from connectivity.pipeline import _warn_time_limit

    with caplog.at_level(logging.WARNING):
        _warn_time_limit(limit, seconds)
    assert any("over time_limit_s" in r.getMessage() for r in caplog.records) == warned
