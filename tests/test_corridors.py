"""Corridor planning mode: settings, street selection, span and pole removal, the Chiang Mai example."""
from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from connectivity import aerial, corridors
from connectivity.config import OperatorSpec
from connectivity.errors import ConfigError, InputDataError

CRS = "EPSG:32647"
OPS = ["TOT", "CAT", "PEA"]


def spec(**kw) -> corridors.CorridorSpec:
    return corridors.parse_corridors(kw, base=Path("/tmp"), source="s.toml", operators=OPS)


def grid() -> gpd.GeoDataFrame:
    """Four 100 m streets: A (0,0)-(100,0), B (100,0)-(200,0), C (100,0)-(100,100), D a driveway."""
    return gpd.GeoDataFrame(
        {"u": [0, 1, 1, 3], "v": [1, 2, 3, 4], "length_m": [100.0] * 4, "name": ["Main", "Main", "Soi 1", None],
         "highway": ["secondary", "secondary", "residential", "service"],
         "osm_id": ["way/10", "way/11", "way/12", "way/13"], "kind": ["road"] * 4},
        geometry=[LineString([(0, 0), (100, 0)]), LineString([(100, 0), (200, 0)]),
                  LineString([(100, 0), (100, 100)]), LineString([(100, 100), (100, 200)])], crs=CRS)


# --------------------------------------------------------------------------- settings

def test_settings_parse_paths_relative_and_reject_unknown_keys(tmp_path):
    s = corridors.parse_corridors({"zone": "zone.geojson", "streets": "aerial"}, base=tmp_path, source="s.toml",
                                  operators=OPS)
    assert s.zone == (tmp_path / "zone.geojson").resolve() and s.streets == "aerial"
    with pytest.raises(ConfigError, match=r"s.toml: \[corridors\]: unknown key\(s\) street"):
        spec(bbox=[98.9, 18.7, 99.0, 18.8], street="all")
    with pytest.raises(ConfigError, match="says no streets"):
        spec(streets="all")
    with pytest.raises(ConfigError, match="corridors.streets: must be one of"):
        spec(bbox=[98.9, 18.7, 99.0, 18.8], streets="some")
    with pytest.raises(ConfigError, match="corridors.operators: unknown operator"):
        spec(names=["Main"], operators=["AIS"])
    with pytest.raises(ConfigError, match=r"corridors.poles.columns: unknown key\(s\) own"):
        spec(names=["Main"], poles={"file": "p.csv", "columns": {"own": "OWNER"}})


def test_scenario_with_corridors_table_loads(tmp_path):
    from connectivity.config import load_scenario

    path = tmp_path / "s.toml"
    path.write_text('[inputs]\nosm = "x.osm"\n[corridors]\nnames = ["Main"]\nbogus = 1\n', encoding="utf-8")
    scenario = load_scenario(path)
    with pytest.raises(ConfigError, match="unknown key"):
        corridors.scenario_corridors(scenario)


# --------------------------------------------------------------------------- selection

def test_selection_by_zone_names_ways_and_aerial():
    edges = grid()
    zone = LineString([(-10, -10), (140, -10), (140, 150), (-10, 150)]).convex_hull
    everything = corridors.select_streets(edges, spec(names=["Main", "Soi 1"]))
    assert everything.tolist() == [True, True, True, False]   # the driveway (service) never
    in_zone = corridors.select_streets(edges, spec(names=["main", "Soi 1"]), zone=zone)
    assert in_zone.tolist() == [True, False, True, False]     # B: 40 of its 100 m in the zone
    by_way = corridors.select_streets(edges, spec(ways=[12]))
    assert by_way.tolist() == [False, False, True, False]
    aerial = corridors.select_streets(edges, spec(bbox=[0, 0, 1, 1], streets="aerial"),
                                      aerial_matched=np.array([False, True, False, True]))
    assert aerial.tolist() == [False, True, False, False]
    with pytest.raises(ConfigError, match=r"^s\.toml: corridors\.names: no street named 'Nowhere'"):
        corridors.select_streets(edges, spec(names=["Nowhere"]))
    with pytest.raises(ConfigError, match=r"^s\.toml: corridors\.ways: .*OSM way"):
        corridors.select_streets(edges, spec(ways=[99]))
    with pytest.raises(ConfigError, match=r"^s\.toml: corridors: the selection holds no street"):
        corridors.select_streets(edges, spec(names=["Main"], highway_exclude=["secondary"]))


def test_operators_on_a_street_from_records_else_default():
    edges = grid()
    poles = gpd.GeoDataFrame({"owner": ["PEA", "PEA"], "kind": ["pole", "pole"],
                              "cables": [{"TOT": 2}, {"TOT": 3, "3BB": 1}]},
                             geometry=[Point(30, 5), Point(70, 5)], crs=CRS)
    load = corridors.street_loads(edges, OPS, poles=poles, buffer_m=10)
    req = corridors.required_edges(np.array([True, True, False, False]), load, OPS, default=["TOT", "CAT"])
    assert req["TOT"].tolist() == [0, 1] and req["PEA"].tolist() == [0] and req["CAT"].tolist() == [1]
    assert load.cables[0, 0] == 3   # the most cables on one pole of the street


# --------------------------------------------------------------------------- removal

def test_pole_with_one_line_still_aerial_is_not_removed():
    edges = grid()
    # spans: along A (undergrounded) and along C (not), meeting at the pole at (100, 5)
    lines = gpd.GeoDataFrame({"osm_id": ["L1", "L2"], "owner": ["PEA", "PEA"], "kind": ["power_line"] * 2},
                             geometry=[LineString([(0, 5), (50, 5), (100, 5)]), LineString([(100, 5), (105, 95)])],
                             crs=CRS)
    poles = gpd.GeoDataFrame({"osm_id": ["P0", "P1", "P2", "P3"], "owner": ["PEA"] * 4, "kind": ["pole"] * 4},
                             geometry=[Point(0, 5), Point(50, 5), Point(100, 5), Point(105, 95)], crs=CRS)
    use = np.zeros((3, 4), dtype=bool)
    use[2, 0] = True     # PEA underground along A only
    status = aerial.aerial_status(edges, use, OPS, ["telecom", "telecom", "power"],
                                     streets=np.array([True, False, True, False]), lines=lines, poles=poles,
                                     buffer_m=15)
    by_id = status.set_index("id")
    assert by_id.loc["L1#1", "removed"] and by_id.loc["L1#2", "removed"]
    assert not by_id.loc["L2#1", "removed"]
    assert by_id.loc["P0", "removed"] and by_id.loc["P1", "removed"]
    assert not by_id.loc["P2", "removed"] and "L2#1" in by_id.loc["P2", "reason"]
    assert not by_id.loc["P3", "removed"]
    summ = aerial.removal_summary(status)
    assert summ["poles_removed"] == 2 and summ["poles_kept"] == 2
    assert summ["spans_removed_km"] == pytest.approx(0.1, abs=1e-3)


def test_pole_carrying_an_operator_without_ducts_stays():
    edges = grid()
    poles = gpd.GeoDataFrame({"osm_id": ["P1", "P2"], "owner": ["PEA", "PEA"], "kind": ["pole"] * 2,
                              "cables": [{"TOT": 1}, {"TOT": 1, "3BB": 1}]},
                             geometry=[Point(30, 5), Point(70, 5)], crs=CRS)
    use = np.zeros((3, 4), dtype=bool)
    use[2, 0] = True      # PEA only: TOT's cable stays on P1
    status = aerial.aerial_status(edges, use, OPS, ["telecom", "telecom", "power"],
                                     streets=np.array([True, False, False, False]), poles=poles, buffer_m=15)
    assert status["removed"].tolist() == [False, False]
    assert "TOT has no ducts" in status["reason"].iloc[0] and "3BB" in status["reason"].iloc[1]
    use[0, 0] = True
    status = aerial.aerial_status(edges, use, OPS, ["telecom", "telecom", "power"],
                                     streets=np.array([True, False, False, False]), poles=poles, buffer_m=15)
    assert status["removed"].tolist() == [True, False]


# --------------------------------------------------------------------------- maps

def test_map_opens_on_the_planned_network_not_on_far_sites():
    from connectivity.maps import _plan_bounds

    ducts = gpd.GeoDataFrame({"segment_id": [1]}, geometry=[LineString([(98.96, 18.79), (98.97, 18.80)])],
                             crs="EPSG:4326")
    sites = gpd.GeoDataFrame({"connected": [True, False]}, geometry=[Point(98.965, 18.795), Point(100.5, 13.7)],
                             crs="EPSG:4326")
    (s, w), (n, e) = _plan_bounds(ducts, sites)
    assert 18.78 < s < 18.79 and 18.80 < n < 18.81 and 98.95 < w < 98.96 and 98.97 < e < 98.98


# --------------------------------------------------------------------------- the Chiang Mai example

@pytest.fixture(scope="module")
def chiang_mai(tmp_path_factory):
    from connectivity.config import example_scenario, load_scenario
    from connectivity.pipeline import run, write_outputs

    scenario = load_scenario(example_scenario("chiang_mai_corridor"))
    result = run(scenario)
    out = tmp_path_factory.mktemp("corridor")
    write_outputs(result, out)
    return scenario, result, out


@pytest.mark.slow
def test_chiang_mai_corridor_done_when(chiang_mai):
    scenario, result, out = chiang_mai
    s = result.summary
    c = s["corridors"]
    ducts = result.ducts
    edges = result.network.edges
    # every selected street carries a duct bank of each operator that goes underground there
    spec = corridors.scenario_corridors(scenario)
    from connectivity.corridors import plan_corridors

    assert c["streets"] > 20 and c["km"] > 2
    assert c["km_undergrounded"] == pytest.approx(c["km"])
    by_edge = ducts.set_index("edge_id")
    names = [o.name for o in scenario.operators]
    lines = result.lines
    poles = result.poles
    again = plan_corridors(spec, edges, scenario.operators, province=scenario.province, lines=lines, poles=poles)
    for op, req in again.required.items():
        ids = edges.index[req]
        assert (by_edge.loc[ids, f"ducts_{op}"] > 0).all(), op
    # each operator's network reaches its hub
    assert c["hub_connected"] == {"TOT": True, "CAT": True, "PEA": True}
    # reported and adding up
    assert c["buildings_reconnected"] > 0
    assert 0 < c["poles_removed"] <= c["poles_on_corridor"]
    assert c["poles_removed"] + c["poles_kept"] == len(poles)
    boq = pd.read_csv(out / "boq.csv")
    assert boq["cost_thb"].sum() == pytest.approx(s["total_cost"], abs=1.0)
    aerial = json.loads((out / "aerial.geojson").read_text(encoding="utf-8"))
    feats = aerial["features"]
    assert aerial["attribution"] == "© OpenStreetMap contributors"
    kept = [f for f in feats if not f["properties"]["removed"]]
    assert kept and all(f["properties"]["reason"] for f in kept)
    assert sum(1 for f in feats if f["properties"]["feature"] == "pole" and f["properties"]["removed"]) == c["poles_removed"]
    page = (out / "cost_map.html").read_text(encoding="utf-8")
    for label in ("Poles removed", "Poles staying", "Spans removed", "Spans staying", "Buildings reconnected"):
        assert label in page
    assert set(names) >= set(c["km_per_operator"])
    # the certified bound counts the manholes every plan has on the corridor streets (the
    # relaxation for existing ducts without them left a gap of about 45 %; issue #10 asks <= 10 %)
    assert "required streets" in s["lower_bound_method"]
    assert s["lower_bound"] <= s["total_cost"] and s["gap_pct"] <= 10
    # the bound is for the network: total_cost less the service connections, and the gap is that ratio
    services = sum(c["services_cost_thb"].values())   # with contingency, as total_cost
    assert s["network_cost"] + services == pytest.approx(s["total_cost"], abs=1.0)
    assert s["gap_pct"] == pytest.approx(100 * (s["network_cost"] / s["lower_bound"] - 1), abs=1e-3)
    gaps = s["plan_gaps"]
    for row in [gaps["joint"], *gaps["stand_alone"].values(), *gaps["coalitions"].values()]:
        assert 0 < row["lower_bound"] <= row["cost"]


# --------------------------------------------------------------------------- duct banks (tiny fixture)

def tiny_corridor(tmp_path, poles: str | None = None, extra: str = "") -> Path:
    """A corridor scenario on tests/fixtures/tiny.osm: Middle Road undergrounded, hubs at the corners."""
    fixtures = Path(__file__).resolve().parent / "fixtures"
    text = (f'name = "tiny corridor"\nprovince = "Chiang Mai"\n[inputs]\nosm = "{(fixtures / "tiny.osm").as_posix()}"\n'
            f'operators = "{(fixtures / "operators.toml").as_posix()}"\n'
            '[hubs]\nTOT = [98.9600, 18.7920]\nCAT = [98.9620, 18.7900]\nPEA = [98.9600, 18.7900]\n'
            '[corridors]\nnames = ["Middle Road"]\nhighway_exclude = []\n')
    if poles is not None:
        (tmp_path / "poles.csv").write_text(poles, encoding="utf-8")
        text += ('[corridors.poles]\nfile = "poles.csv"\n'
                 'columns = { owner = "OWNER_NAME", cables = "TEL", circuits = "CIRC", lon = "LON", lat = "LAT" }\n')
    path = tmp_path / "scenario.toml"
    text = text.replace("highway_exclude = []\n", "highway_exclude = []\n" + extra) if extra.startswith("service") else text + extra
    path.write_text(text, encoding="utf-8")
    return path


MIDDLE_POLES = ("OWNER_NAME,TEL,CIRC,LON,LAT\n" + "".join(
    f"PEA,TOT:3;CAT:2,2,{lon},18.79104\n" for lon in (98.9603, 98.9608, 98.9613, 98.9618)))


def _run(path):
    from connectivity.config import load_scenario
    from connectivity.pipeline import run

    return run(load_scenario(path))


def test_corridor_over_a_street_with_known_cables_gives_the_expected_duct_counts(tmp_path):
    result = _run(tiny_corridor(tmp_path, MIDDLE_POLES))
    ducts = result.ducts
    middle = ducts[ducts["name"] == "Middle Road"]
    assert len(middle) >= 2 and middle["length_m"].sum() > 200
    # cables + 1 spare each (TOT 3+1, CAT 2+1), PEA's 2 circuits + 1 spare, 2 shared spares in the bank
    assert (middle["ducts_TOT"] == 4).all() and (middle["ducts_CAT"] == 3).all() and (middle["ducts_PEA"] == 3).all()
    assert (middle["n_ducts"] == 12).all()
    other = ducts[ducts["name"] != "Middle Road"]   # the joining trench keeps the operators' fixed counts
    assert set(other["ducts_TOT"]) <= {0, 2} and set(other["ducts_PEA"]) <= {0, 3}
    c = result.summary["corridors"]
    assert c["hub_connected"] == {"TOT": True, "CAT": True, "PEA": True}
    assert c["poles_removed"] == 4 and c["poles_on_corridor"] == 4
    boq = result.boq
    assert boq["cost_thb"].sum() == pytest.approx(result.summary["total_cost"], abs=0.01)
    assert "shared spare ducts of the corridor streets" in set(boq["item"])


def test_without_records_the_fixed_counts_plus_spare_and_a_wider_bank_costs_more(tmp_path):
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    plain = _run(tiny_corridor(a))
    middle = plain.ducts[plain.ducts["name"] == "Middle Road"]
    assert (middle["ducts_TOT"] == 3).all() and (middle["ducts_CAT"] == 2).all() and (middle["ducts_PEA"] == 4).all()
    wide = _run(tiny_corridor(b, MIDDLE_POLES.replace("TOT:3;CAT:2", "TOT:12;CAT:8")))
    w_middle = wide.ducts[wide.ducts["name"] == "Middle Road"]
    assert (w_middle["ducts_TOT"] == 13).all()
    assert w_middle["cost_thb"].sum() > middle["cost_thb"].sum()
    trench = lambda r: r.boq.query("category == 'joint_surcharge'")["cost_thb"].sum()  # noqa: E731
    assert trench(wide) > trench(plain)   # the wider joint trench
    assert "larger telecom chambers for wide duct banks" in set(wide.boq["item"])
    assert wide.boq["cost_thb"].sum() == pytest.approx(wide.summary["total_cost"], abs=0.01)


def test_bank_width():
    assert corridors.bank_width_mm(0, 100, layers=2, spacing_mm=50) == 0
    assert corridors.bank_width_mm(3, 100, layers=2, spacing_mm=50) == 2 * 150 + 50


def test_buildings_along_the_corridor_get_a_power_service_and_telecom_drops(tmp_path):
    near, far = tmp_path / "near", tmp_path / "far"
    near.mkdir()
    far.mkdir()
    # the fixture's one building stands about 40 m south of Middle Road
    result = _run(tiny_corridor(near, MIDDLE_POLES, extra="service_distance_m = 60.0\n"))
    c = result.summary["corridors"]
    assert c["buildings_reconnected"] == 1 and result.summary["coverage"]["buildings_reconnected"] == 1
    boq = result.boq
    service = boq[boq["category"] == "service"]
    assert set(service["operator"]) == {"TOT", "CAT", "PEA"}   # one power service, a drop of each telecom operator
    assert service.query("unit == 'each'")["quantity"].tolist() == [1.0, 1.0, 1.0]
    metres = service.query("unit == 'm'")["quantity"]
    assert (metres > 30).all() and (metres < 60).all()
    assert boq["cost_thb"].sum() == pytest.approx(result.summary["total_cost"], abs=0.01)
    for method, shares in result.summary["allocation"].items():
        assert sum(shares.values()) == pytest.approx(result.summary["total_cost"], abs=1.0), method
    assert c["services_cost_thb"]["PEA"] > c["services_cost_thb"]["CAT"] > 0
    frame = result.services
    assert frame["power"].tolist() == ["PEA"] and frame["telecom"].tolist() == ["TOT,CAT"]
    none = _run(tiny_corridor(far, MIDDLE_POLES, extra="service_distance_m = 20.0\n"))
    assert none.summary["corridors"]["buildings_reconnected"] == 0
    assert none.summary["total_cost"] < result.summary["total_cost"]


# --------------------------------------------------------------------------- existing ducts

def _with_existing_route(tmp_path, free: int, owner: str = "TOT"):
    route = gpd.GeoDataFrame({"ROUTE": ["R1"], "OWNER": [owner], "FREE_DUCTS": [free]},
                             geometry=[LineString([(98.9600, 18.79101), (98.9620, 18.79101)])], crs="EPSG:4326")
    route.to_file(tmp_path / "existing.gpkg", layer="ducts")
    return ('[corridors.existing_ducts]\nfile = "existing.gpkg"\nlayer = "ducts"\n'
            'columns = { id = "ROUTE", owner = "OWNER", free = "FREE_DUCTS" }\n')


@pytest.mark.parametrize("free", [5, 20])
def test_existing_duct_capacity_is_never_exceeded_and_reuse_lowers_the_cost(tmp_path, free):
    base_dir, ex_dir = tmp_path / "base", tmp_path / "ex"
    base_dir.mkdir()
    ex_dir.mkdir()
    base = _run(tiny_corridor(base_dir, MIDDLE_POLES))
    result = _run(tiny_corridor(ex_dir, MIDDLE_POLES, extra=_with_existing_route(ex_dir, free)))
    ducts = result.ducts
    middle = ducts[ducts["name"] == "Middle Road"]
    for _, row in middle.iterrows():
        inside = [op for op in str(row["in_existing"]).split(",") if op]
        assert sum(int(row[f"ducts_{op}"]) for op in inside) <= free
        assert "PEA" not in inside   # a telecom owner's ducts carry no power cable
    inside = set(",".join(middle["in_existing"]).split(",")) - {""}
    assert inside == ({"TOT"} if free == 5 else {"TOT", "CAT"})   # TOT needs 4 ducts, CAT 3
    c = result.summary["corridors"]
    assert c["reused_km"]["TOT"] == pytest.approx(middle["length_m"].sum() / 1000, abs=0.01)
    assert result.summary["total_cost"] < base.summary["total_cost"]
    boq = result.boq
    assert set(boq.query("category == 'existing_duct'")["operator"]) == inside
    assert boq["cost_thb"].sum() == pytest.approx(result.summary["total_cost"], abs=0.01)
    assert result.summary["lower_bound"] <= result.summary["total_cost"]


def test_admission_in_operator_order_owner_first():
    edges = grid()
    routes = gpd.GeoDataFrame({"owner": ["CAT"], "free": [3], "kind": ["duct"]},
                              geometry=[LineString([(0, 2), (100, 2)])], crs=CRS)
    ops = [OperatorSpec("TOT", "telecom", ducts=2), OperatorSpec("CAT", "telecom", ducts=2),
           OperatorSpec("PEA", "power", ducts=3)]
    counts = np.array([[2] * 4, [2] * 4, [3] * 4])
    ex = corridors.existing_ducts(edges, routes, ops, counts)
    assert ex.free.tolist() == [3, 0, 0, 0] and ex.owner[0] == "CAT"
    assert ex.admitted[:, 0].tolist() == [False, True, False]   # the owner first; TOT's 2 more do not fit


@pytest.mark.slow
def test_chiang_mai_corridor_same_input_same_output(chiang_mai, tmp_path):
    from connectivity.pipeline import run, write_outputs

    scenario, _, out = chiang_mai
    write_outputs(run(scenario), tmp_path / "again")
    for path in sorted(out.iterdir()):
        if path.name != "timings.json":
            assert path.read_bytes() == (tmp_path / "again" / path.name).read_bytes(), path.name


# --------------------------------------------------------------------------- phases with service connections

def test_phases_count_the_service_connections_of_their_streets(tmp_path):
    """Each service connection is built with its street: the phases add up to the plan total,
    and a phase's allocation and BoQ rows hold the services it builds."""
    path = tiny_corridor(tmp_path, MIDDLE_POLES, extra="service_distance_m = 60.0\n")
    plain = _run(path)
    budget = plain.summary["total_cost"] / 3
    path.write_text(path.read_text(encoding="utf-8") + f'\n[[phases]]\nname = "first"\nbudget_thb = {budget}\n'
                    '\n[[phases]]\nname = "rest"\n', encoding="utf-8")
    result = _run(path)
    s = result.summary
    assert s["corridors"]["buildings_reconnected"] == 1 and s["phases_unbuilt"]["segments"] == 0
    phases = s["phases"]
    assert sum(p["cost_thb"] for p in phases) == pytest.approx(s["total_cost"], abs=1.0)
    for p in phases:
        assert sum(p["allocation_thb"].values()) == pytest.approx(p["cost_thb"], abs=1.0)
    services = result.services
    edge_phase = dict(zip(result.ducts["edge_id"], result.ducts["phase"]))
    k = int(services["phase"].iloc[0])
    assert k == edge_phase[int(services["edge_id"].iloc[0])]
    # the services' cost (with contingency) is in phase k's cost, paid by the operators giving them
    factor = 1 + s["cost_model"]["contingency_pct"] / 100
    rows = result.boq[(result.boq["phase"] == k) & result.boq["item"].str.endswith("service connections")]
    assert sorted(rows["operator"]) == ["CAT", "PEA", "TOT"]
    assert rows["cost_thb"].sum() == pytest.approx(services["cost_thb"].sum() * factor)
    per_phase = result.boq[result.boq["phase"].notna()].groupby("phase")["cost_thb"].sum()
    for p in phases:
        assert per_phase.get(p["phase"], 0.0) == pytest.approx(p["cost_thb"], abs=1.0)


@pytest.mark.slow
def test_chiang_mai_corridor_phases_add_up_to_the_plan_total(tmp_path):
    """The example with two phases (the issue's 38 of 53.7 M THB): phases and phased BoQ rows sum to the total."""
    from connectivity.config import example_scenario, load_scenario
    from connectivity.pipeline import run

    src = example_scenario("chiang_mai_corridor")
    text = src.read_text(encoding="utf-8").replace('"../chiang_mai_nimman/', f'"{src.parent.parent.as_posix()}/chiang_mai_nimman/')
    for f in src.parent.iterdir():
        if f.name != src.name:
            (tmp_path / f.name).write_bytes(f.read_bytes())
    path = tmp_path / "scenario.toml"
    path.write_text(text + '\n[[phases]]\nname = "first"\nbudget_thb = 20000000\n\n[[phases]]\nname = "rest"\n',
                    encoding="utf-8")
    result = run(load_scenario(path))
    s = result.summary
    assert s["corridors"]["buildings_reconnected"] > 0 and s["phases_unbuilt"]["cost_thb"] == 0
    assert sum(p["cost_thb"] for p in s["phases"]) == pytest.approx(s["total_cost"], abs=1.0)
    assert s["phases"][0]["cost_thb"] <= 20_000_000
    assert result.services["phase"].notna().all()
    phased = result.boq[result.boq["phase"].notna()]
    assert phased["cost_thb"].sum() == pytest.approx(s["total_cost"], abs=1.0)


def test_relaxation_for_bounds_never_prices_a_plan_above_its_cost():
    """design.relaxed_for_bounds: every plan's trench and ducts cost no more in the relaxation than in
    the problem with existing ducts (manholes dropped), and a group without an operator in an
    existing duct on an edge still pays its trench there."""
    from dataclasses import replace

    from connectivity.design import evaluate, random_problem, relaxed_for_bounds

    rng = np.random.default_rng(3)
    tighter = 0
    for seed in range(30):
        p = random_problem(seed, n_operators=4, rows=4, cols=5, terminals=(2, 4))
        tel = np.array([k == "telecom" for k in p.kinds])
        existing = rng.random((p.n_operators, p.n_edges)) < 0.3
        existing[~tel if seed % 2 else tel] &= rng.random() < 0.5   # often one group only
        p = replace(p, existing=existing, manhole_cost=(45_000.0, 120_000.0))
        relaxed = relaxed_for_bounds(p)
        assert relaxed.existing is None and relaxed.manhole_cost == (0.0, 0.0)
        mode = relaxed.trench
        for _ in range(20):
            use = rng.random((p.n_operators, p.n_edges)) < rng.uniform(0.1, 0.7)
            true = evaluate(p, use)
            # the bounds' models may put an edge in any mode holding the groups using it
            t = use[tel].any(axis=0)
            q = use[~tel].any(axis=0)
            cheapest = np.where(t & q, mode[:, 2], np.where(t, np.minimum(mode[:, 0], mode[:, 2]),
                                np.where(q, np.minimum(mode[:, 1], mode[:, 2]), 0.0)))
            relaxed_cost = cheapest.sum() + relaxed.duct_cost[use].sum()
            assert relaxed_cost <= true.trench_cost + true.duct_cost + 1e-6
            old = np.where(existing.any(axis=0), 0.0, cheapest).sum() + relaxed.duct_cost[use].sum()
            tighter += relaxed_cost > old + 1e-6
    assert tighter > 50


def test_a_coalition_without_admitted_members_is_bounded_unrelaxed():
    """The relaxation is per coalition: members none of whom is admitted to an existing duct
    keep their manholes and trench (the existing ducts do not change their plans)."""
    from dataclasses import replace

    from connectivity.design import random_problem, relaxed_for_bounds

    p = random_problem(7, n_operators=3, terminals=(2, 4))
    p = replace(p, manhole_cost=(45_000.0, 120_000.0))
    existing = np.zeros((p.n_operators, p.n_edges), dtype=bool)
    existing[0, :5] = True
    p = replace(p, existing=existing)
    others = [o for k, o in enumerate(p.operators) if k != 0]
    alone = relaxed_for_bounds(p, others)
    assert alone.existing is None and alone.manhole_cost == p.manhole_cost and np.array_equal(alone.trench, p.trench)
    relaxed = relaxed_for_bounds(p, [p.operators[0]])
    assert relaxed.manhole_cost == (0.0, 0.0) and not np.array_equal(relaxed.trench, p.trench)
