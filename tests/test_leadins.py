"""Shared lead-ins: co-located sites of several operators get one site node and one lead-in trench."""
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
import shapely.affinity

from connectivity import pipeline
from connectivity.config import load_scenario
from connectivity.errors import ConfigError
from connectivity.network import attach_sites, build_network, site_locations

UTM = "EPSG:32647"
TINY = Path(__file__).resolve().parent / "fixtures" / "tiny.toml"


def road():
    return build_network(gpd.GeoDataFrame({"highway": ["residential"]},
                                          geometry=[shapely.LineString([(0, 0), (1000, 0)])], crs=UTM))


def sites(*rows):
    """rows: (site_id, operator, x, y)."""
    return gpd.GeoDataFrame({"site_id": [r[0] for r in rows], "operator": [r[1] for r in rows],
                             "kind": ["x"] * len(rows)},
                            geometry=[shapely.Point(r[2], r[3]) for r in rows], crs=UTM)


# --------------------------------------------------------------------------- network
def test_sites_half_a_metre_apart_share_one_node_and_lead_in():
    net, att = attach_sites(road(), sites(("B", "PEA", 400.5, 30), ("A", "CAT", 400, 30), ("C", "CAT", 700, 20)),
                            max_distance_m=100, merge_m=1.0)
    lead = net.edges[net.edges["kind"] == "lead_in"]
    assert len(lead) == 2
    shared = lead[lead["site_ids"].map(len) == 2].iloc[0]
    assert shared["site_ids"] == ("A", "B") and shared["site_id"] == "A"   # the first by site_id
    # the location stands at A's point (the first site by site_id), the lead-in is A's perpendicular
    node = net.nodes.geometry.loc[shared["v"]]
    assert node.equals_exact(shapely.Point(400, 30), 1e-9) and shared["length_m"] == pytest.approx(30)
    # every site keeps its own row and point, with the shared node and lead-in length
    a, b = att.set_index("site_id").loc["A"], att.set_index("site_id").loc["B"]
    assert a["node_id"] == b["node_id"] == shared["v"]
    assert a["lead_in_m"] == b["lead_in_m"] == pytest.approx(30)
    assert b.geometry.equals_exact(shapely.Point(400.5, 30), 1e-9)
    assert (att["status"] == "attached").all() and len(att) == 3
    assert lead.set_index("site_id").loc["C", "site_ids"] == ("C",)


def test_sites_two_metres_apart_stay_separate():
    net, att = attach_sites(road(), sites(("A", "CAT", 400, 30), ("B", "PEA", 402, 30)),
                            max_distance_m=100, merge_m=1.0)
    assert (net.edges["kind"] == "lead_in").sum() == 2
    assert att["node_id"].nunique() == 2


def test_zero_tolerance_disables_merging():
    net, att = attach_sites(road(), sites(("A", "CAT", 400, 30), ("B", "PEA", 400, 30)),
                            max_distance_m=100, merge_m=0.0)
    lead = net.edges[net.edges["kind"] == "lead_in"]
    assert len(lead) == 2 and att["node_id"].nunique() == 2
    assert sorted(lead["site_ids"]) == [("A",), ("B",)]


def test_locations_hold_no_site_farther_than_merge_m_and_are_independent_of_row_order():
    rows = [("S3", "PEA", 401.6, 30), ("S1", "CAT", 400, 30), ("S2", "TOT", 400.8, 30), ("S4", "CAT", 403, 30),
            ("S0", "TOT", 399.5, 30)]
    first = site_locations(sites(*rows), 1.0)
    # S0-S1-S2-S3 is one chain of sites within 1 m of the next, but S3 lies 2.1 m from S0: the chain is cut,
    # by site_id: S1 joins S0's location (0.5 m), S2 (1.3 m from S0) starts one, which S3 (0.8 m) joins
    assert [rows[i][0] for i in first] == ["S2", "S0", "S2", "S4", "S0"]
    for perm in ([4, 3, 2, 1, 0], [2, 0, 4, 3, 1]):
        shuffled = [rows[i] for i in perm]
        net, att = attach_sites(road(), sites(*shuffled), max_distance_m=100, merge_m=1.0)
        lead = net.edges[net.edges["kind"] == "lead_in"].sort_values("site_id")
        assert lead["site_ids"].tolist() == [("S0", "S1"), ("S2", "S3"), ("S4",)]
        at = att.set_index("site_id")
        assert at.loc["S0", "node_id"] == at.loc["S1", "node_id"] != at.loc["S2", "node_id"] == at.loc["S3", "node_id"]
        assert net.nodes.geometry.loc[int(at.loc["S3", "node_id"])].equals_exact(shapely.Point(400.8, 30), 1e-9)
    # a tight chain (all within 1 m of its first site) stays one location
    assert list(site_locations(sites(("B", "PEA", 400.6, 30), ("A", "TOT", 400, 30), ("C", "CAT", 400.9, 30)), 1.0)) == [1, 1, 1]


def test_a_long_chain_of_sites_never_leaves_a_site_far_from_its_location():
    """Sites 45 m apart in a row with merge_m = 50: not one location 855 m long; each site at most
    50 m from its location's point (where its lead-in starts)."""
    chain = [(f"C{k:02d}", "TOT", 45.0 * k, 30) for k in range(20)]
    frame = sites(*chain)
    first = site_locations(frame, 50.0)
    xs = np.array([r[2] for r in chain])
    assert np.abs(xs - xs[first]).max() <= 50.0
    assert len(set(first.tolist())) == 10


def test_too_far_location_leaves_all_its_sites_unattached():
    _, att = attach_sites(road(), sites(("A", "CAT", 400, 300), ("B", "PEA", 400.2, 300), ("C", "CAT", 10, 5)),
                          max_distance_m=100, merge_m=1.0)
    assert att.set_index("site_id")["status"].to_dict() == {"A": "too_far", "B": "too_far", "C": "attached"}
    assert att["node_id"].isna().sum() == 2


# --------------------------------------------------------------------------- configuration
def test_site_merge_option(fixtures, tmp_path):
    assert load_scenario(fixtures / "tiny.toml").options.site_merge_m == 1.0
    for value, ok in (("0", 0.0), ("2.5", 2.5), ("3", 3.0), ("50", 50.0)):
        p = tmp_path / "s.toml"
        p.write_text(f'[inputs]\nosm = "a.osm"\n[options]\nsite_merge_m = {value}\n')
        assert load_scenario(p).options.site_merge_m == ok


@pytest.mark.parametrize("value", ["-1", '"1 m"', "true", "nan", "1e6", "50.5", "900"])
def test_bad_site_merge_values(tmp_path, value):
    p = tmp_path / "s.toml"
    p.write_text(f'[inputs]\nosm = "a.osm"\n[options]\nsite_merge_m = {value}\n')
    with pytest.raises(ConfigError, match=r"s\.toml: options\.site_merge_m: must be") as info:
        load_scenario(p)
    assert "\n" not in str(info.value)


def test_site_merge_over_the_cap_is_one_line_and_exit_2(fixtures, tmp_path, capsys):
    """Sites 900 m apart are not one place: site_merge_m above 50 m is refused before any work."""
    from connectivity.cli import main

    p = tmp_path / "s.toml"
    p.write_text(f'[inputs]\nosm = "{(fixtures / "tiny.osm").as_posix()}"\n[options]\nsite_merge_m = 900\n')
    out = tmp_path / "out"
    assert main(["plan", str(p), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("connectivity: error:"), err
    assert "options.site_merge_m" in err[0] and "from 0 to 50" in err[0] and "900" in err[0]
    assert not out.exists()


# --------------------------------------------------------------------------- the plan
def _plan(merge_m, monkeypatch=None, *, shift_m=0.0):
    """The tiny scenario: its hospital is a site of CAT (telecom) and of PEA (power).

    ``shift_m`` moves the PEA hospital that far east of the CAT one.
    """
    sc = load_scenario(TINY)
    sc = replace(sc, options=replace(sc.options, site_merge_m=merge_m))
    if shift_m:
        real = pipeline.scenario_sites

        def shifted(scenario, layers, crs):
            out = real(scenario, layers, crs)
            pea = (out["operator"] == "PEA") & (out["kind"] == "hospital")
            assert pea.sum() == 1
            out.loc[pea, "geometry"] = [shapely.affinity.translate(out.loc[pea, "geometry"].iloc[0], xoff=shift_m)]
            return out

        monkeypatch.setattr(pipeline, "scenario_sites", shifted)
    return pipeline.run(sc)


def _hospital(result):
    s = result.sites
    cat = s[(s["operator"] == "CAT") & (s["kind"] == "hospital")]
    pea = s[(s["operator"] == "PEA") & (s["kind"] == "hospital")]
    assert len(cat) == 1 and len(pea) == 1
    return cat.iloc[0], pea.iloc[0]


def _lead_ins_at(result, node):
    e = result.network.edges
    ids = e.index[(e["kind"] == "lead_in") & (e["v"] == node)]
    return result.ducts[result.ducts["edge_id"].isin(ids)]


@pytest.fixture(scope="module")
def merged():
    return _plan(1.0)


@pytest.fixture(scope="module")
def unmerged():
    return _plan(0.0)


def test_building_of_telecom_and_power_operator_gets_one_shared_lead_in(merged):
    cat, pea = _hospital(merged)
    assert cat["connected"] and pea["connected"]
    assert cat["node_id"] == pea["node_id"] and cat["lead_in_m"] == pea["lead_in_m"]
    node = int(cat["node_id"])
    lead = _lead_ins_at(merged, node)
    assert len(lead) == 1   # one trench from the road
    seg = lead.iloc[0]
    assert seg["operators"] == "CAT,PEA"
    assert seg["ducts_CAT"] >= 1 and seg["ducts_PEA"] >= 1 and seg["ducts_TOT"] == 0   # each its own ducts
    edge = merged.network.edges.loc[seg["edge_id"]]
    assert set(edge["site_ids"]) == {cat["site_id"], pea["site_id"]}
    # separate chambers: one telecom and one power manhole at the building's site node
    mh = merged.manholes
    here = mh[mh.geometry.distance(merged.network.nodes.geometry.loc[node]) < 1e-6]
    assert sorted(here["group"]) == ["power", "telecom"]
    assert set(here["reason"]) == {"site"}
    # the sites frame (sites.geojson) keeps every operator's site, each on its own row
    assert not merged.sites["site_id"].duplicated().any()
    assert sorted(merged.sites.loc[merged.sites["node_id"] == node, "operator"]) == ["CAT", "PEA"]


def test_without_merging_each_operator_digs_its_own_lead_in(unmerged):
    cat, pea = _hospital(unmerged)
    assert cat["node_id"] != pea["node_id"]
    for site in (cat, pea):
        lead = _lead_ins_at(unmerged, int(site["node_id"]))
        assert len(lead) == 1 and lead.iloc[0]["operators"] == site["operator"]
    lead_ins = unmerged.ducts[unmerged.ducts["kind"] == "lead_in"]
    assert not lead_ins["operators"].str.contains(",").any()


def test_shared_lead_in_costs_less_and_saves_more(merged, unmerged):
    m, u = merged.summary, unmerged.summary
    assert m["total_cost"] < u["total_cost"]
    assert m["savings"] > u["savings"]
    assert m["manholes"]["total"] <= u["manholes"]["total"]   # one chamber per group at the site either way
    assert m["sites_connected"] == u["sites_connected"]
    lead = merged.ducts[merged.ducts["kind"] == "lead_in"]
    assert len(lead) == (unmerged.ducts["kind"] == "lead_in").sum() - 1


def test_sites_half_a_metre_apart_in_the_plan_share_the_lead_in(monkeypatch):
    near = _plan(1.0, monkeypatch, shift_m=0.5)
    cat, pea = _hospital(near)
    assert cat["node_id"] == pea["node_id"]
    assert pea.geometry.distance(cat.geometry) == pytest.approx(0.5, abs=1e-6)   # its own point kept
    lead = _lead_ins_at(near, int(cat["node_id"]))
    assert len(lead) == 1 and lead.iloc[0]["operators"] == "CAT,PEA"
    apart = _plan(1.0, monkeypatch, shift_m=2.0)
    cat, pea = _hospital(apart)
    assert cat["node_id"] != pea["node_id"]
    assert np.isfinite(apart.summary["total_cost"])


# --------------------------------------------------------------------------- sites on the road
def test_site_on_the_road_joins_its_node_without_a_lead_in():
    """A site exactly on a road node, or within 1 cm of a road, needs no lead-in: no zero-length edge."""
    roads = gpd.GeoDataFrame({"highway": ["residential"] * 2}, crs=UTM,
                             geometry=[shapely.LineString([(0, 0), (1000, 0)]),
                                       shapely.LineString([(1000, 0), (1000, 500)])])
    net = build_network(roads)
    corner = int(net.nodes.index[net.nodes.geometry.distance(shapely.Point(1000, 0)) < 1e-9][0])
    new, att = attach_sites(net, sites(("A", "CAT", 1000, 0), ("B", "CAT", 400, 0.004), ("C", "CAT", 600, 30)),
                            max_distance_m=100, merge_m=1.0)
    at = att.set_index("site_id")
    assert (att["status"] == "attached").all()
    assert new.edges["length_m"].min() > 0.01
    lead = new.edges[new.edges["kind"] == "lead_in"]
    assert lead["site_ids"].tolist() == [("C",)] and lead["length_m"].iloc[0] == pytest.approx(30)
    assert at.loc["A", "node_id"] == corner and at.loc["A", "lead_in_m"] == 0.0
    b = int(at.loc["B", "node_id"])
    assert new.nodes.loc[b, "kind"] == "split" and at.loc["B", "lead_in_m"] == 0.0
    assert new.nodes.geometry.loc[b].equals_exact(shapely.Point(400, 0), 1e-6)
    assert (new.nodes["kind"] == "site").sum() == 1
    road_m = new.edges.loc[new.edges["kind"] == "road", "length_m"]
    assert road_m.sum() == pytest.approx(1500) and len(new.component_sizes) == 1


def test_plan_with_sites_on_road_nodes_reads_back(tmp_path):
    """Sites on road nodes of the tiny grid: connected, no duct segment of length 0, and the plan's
    ducts.geojson passes the planner's own reader (a zero-length line was refused as invalid)."""
    from connectivity import load
    from connectivity.cli import main
    (tmp_path / "sites.csv").write_text(
        "site_id,operator,kind,name,lon,lat\n"
        "T1,TOT,office,On node 2,98.9610,18.7900\n"     # a road node (South Road x the service road)
        "T2,TOT,office,On South Road,98.9615,18.7900\n"  # on the road between two nodes
        "T3,TOT,office,Post,98.96150,18.79040\n"
        "C1,CAT,office,On node 5,98.9610,18.7910\n"
        "C2,CAT,hospital,Hospital,98.96150,18.79180\n")
    fixtures = TINY.parent
    scenario = tmp_path / "s.toml"
    scenario.write_text(f'[inputs]\nosm = "{fixtures / "tiny.osm"}"\noperators = "{fixtures / "operators.toml"}"\n'
                        'sites = "sites.csv"\n')
    out = tmp_path / "out"
    assert main(["plan", str(scenario), "--out", str(out), "--quiet"]) == 0
    ducts = load.read_vector(out / "ducts.geojson")
    assert len(ducts) and (ducts["length_m"] > 0).all()
    placed = load.read_vector(out / "sites.geojson").set_index("site_id")
    assert placed["connected"].all()
    on_road = ["T1", "T2", "C1"]
    assert (placed.loc[on_road, "lead_in_m"] == 0).all() and (placed.loc[["T3", "C2"], "lead_in_m"] > 1).all()
    assert (ducts["kind"] == "lead_in").sum() == 2
