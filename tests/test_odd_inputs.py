"""Valid but unusual inputs give a sensible plan (or the documented error), never a crash or a
figure that does not add up.

Each test writes a small road GeoJSON, a sites CSV and a scenario into ``tmp_path`` and runs
the whole pipeline; :func:`check_plan` asserts the invariants every plan keeps (finite figures,
the BoQ summing to the total, every sharing method summing to the total, savings >= 0, the
lower bound below the total, every connected site on its operator's ducts).
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from pyproj import Transformer

from connectivity import load_scenario, run
from connectivity.costs import load_cost_model
from connectivity.errors import InfeasibleError

X0, Y0 = 490_000.0, 2_070_000.0   # UTM 47N, Chiang Mai
TO_WGS = Transformer.from_crs("EPSG:32647", "EPSG:4326", always_xy=True)


def lonlat(x: float, y: float) -> list[float]:
    lon, lat = TO_WGS.transform(X0 + x, Y0 + y)
    return [round(lon, 9), round(lat, 9)]


def grid(n: int, step: float = 100.0) -> list[list[tuple[float, float]]]:
    """Road lines of an ``n`` x ``n`` street grid (local metres)."""
    lines = []
    for j in range(n):
        lines.append([(0.0, j * step), ((n - 1) * step, j * step)])
        lines.append([(j * step, 0.0), (j * step, (n - 1) * step)])
    return lines


def write_scenario(folder, lines, sites, *, options: str = "", extra: str = "", light: bool = True, bridges=()):
    """Roads (local metres -> lon/lat GeoJSON; the lines numbered in ``bridges`` are bridges), sites
    ``(site_id, operator, x, y)`` and the scenario TOML."""
    features = [{"type": "Feature", "properties": {"highway": "residential", "name": f"r{k}",
                                                   "bridge": "yes" if k in bridges else None},
                 "geometry": {"type": "LineString", "coordinates": [lonlat(*p) for p in line]}}
                for k, line in enumerate(lines)]
    (folder / "roads.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    rows = ["site_id,operator,kind,lon,lat"] + [f"{sid},{op},site,{lonlat(x, y)[0]},{lonlat(x, y)[1]}"
                                                for sid, op, x, y in sites]
    (folder / "sites.csv").write_text("\n".join(rows) + "\n")
    design = '[design]\nrounds = 1\norders = 1\n' if light else ""
    path = folder / "scenario.toml"
    path.write_text(f'name = "odd"\nprovince = "Chiang Mai"\n\n[inputs]\nroads = "roads.geojson"\nsites = "sites.csv"\n\n'
                    f'[options]\ncrs = "EPSG:32647"\n{options}\n{design}\n{extra}')
    return path


def check_plan(plan) -> None:
    """The invariants of every plan's figures."""
    s = plan.summary
    text = json.dumps(s)
    assert "NaN" not in text and "Infinity" not in text
    total = s["total_cost"]
    tol = max(1.0, 1e-6 * total)
    boq = plan.boq[plan.boq["category"] != "phase"]
    assert abs(boq["cost_thb"].sum() - total) <= tol
    for method, shares in s["allocation"].items():
        assert abs(sum(shares.values()) - total) <= tol, method
        assert min(shares.values()) >= -tol, method
    assert s["savings"] >= 0 and s["separate_total_cost"] >= total - tol
    assert s["lower_bound"] <= total + tol
    assert all(math.isfinite(v) for v in (total, s["separate_total_cost"], s["lower_bound"]))
    sites = plan.sites[plan.sites["connected"]]
    nodes = plan.network.nodes.geometry
    for op, group in sites.groupby("operator"):
        # each connected site's location (its site node: co-located sites share one) is on its operator's ducts
        mine = plan.ducts[[op in str(o).split(",") for o in plan.ducts["operators"]]]
        assert len(mine), op
        for node in group["node_id"].astype(int).unique():
            assert float(mine.distance(nodes.loc[node]).min()) < 0.01, (op, node)


def test_operators_with_no_partner_anywhere_is_an_error(tmp_path):
    """Many road components, each holding one site of each of several operators: no operator
    has two locations in one component, so nothing can be connected -> the documented error
    (not an empty plan of cost 0)."""
    lines, sites = [], []
    for k in range(12):
        x, y = (k % 4) * 500.0, (k // 4) * 500.0
        lines.append([(x, y), (x + 200.0, y)])
        sites += [(f"T{k}", "TOT", x + 20, y + 10), (f"C{k}", "CAT", x + 180, y - 10)]
    path = write_scenario(tmp_path, lines, sites)
    with pytest.raises(InfeasibleError, match="none of the 24 site"):
        run(load_scenario(path))


def test_sites_of_other_operators_do_not_make_a_site_reachable(tmp_path):
    """One component where TOT has two sites (planned) and many where TOT and CAT have one
    each: only TOT's pair is connected, the rest is reported unreachable."""
    lines = [[(0.0, 0.0), (300.0, 0.0)]]
    sites = [("A", "TOT", 10, 10), ("B", "TOT", 290, 10)]
    for k in range(1, 6):
        lines.append([(k * 1000.0, 0.0), (k * 1000.0 + 200, 0.0)])
        sites += [(f"T{k}", "TOT", k * 1000.0 + 20, 10), (f"C{k}", "CAT", k * 1000.0 + 180, -10)]
    plan = run(load_scenario(write_scenario(tmp_path, lines, sites)))
    check_plan(plan)
    status = plan.sites.set_index("site_id")["status"]
    assert status[["A", "B"]].eq("connected").all()
    assert status.drop(["A", "B"]).eq("unreachable").all()
    assert plan.summary["sites_connected"] == 2


FIVE_OPERATORS = "".join(
    f'[[operators]]\nname = "{n}"\nkind = "{k}"\nducts = {d}\nduct_diameter_mm = {mm}\nprovinces = []\nsites = []\nhub = []\n\n'
    for n, k, d, mm in [("NT", "telecom", 2, 100), ("AIS", "telecom", 1, 50), ("TRUE", "telecom", 1, 50),
                        ("PEA", "power", 4, 125), ("EGAT", "power", 3, 150)])
SIX = [("A", "TOT", 20, 10), ("B", "TOT", 280, 290), ("C", "CAT", 120, -10), ("D", "CAT", 200, 190),
       ("E", "PEA", 10, 290), ("F", "PEA", 290, 10)]


def _hubs(**points) -> str:
    return "[hubs]\n" + "".join(f"{op} = {lonlat(x, y)}\n" for op, (x, y) in points.items())


#: name -> (road lines, sites, [options] lines, extra scenario text, operators file or None)
CASES = {
    # an operator with one site and no hub is reported; with a hub it is planned
    "one site, no hub": (grid(4), [("A", "TOT", 50, 20), ("B", "CAT", 10, 120), ("C", "CAT", 250, 280)], "", "", None),
    "one site and a hub": (grid(4), [("A", "TOT", 50, 20), ("B", "CAT", 10, 120), ("C", "CAT", 250, 280)], "",
                           _hubs(TOT=(290, 290), PEA=(150, 150)), None),
    "sites on road nodes": (grid(4), [("A", "TOT", 0, 0), ("B", "TOT", 300, 300), ("C", "CAT", 100, 200),
                                      ("D", "CAT", 300, 0), ("E", "PEA", 0, 300), ("F", "PEA", 200, 100),
                                      ("G", "PEA", 100, 100)], "", "", None),
    "sites mid-edge": (grid(4), [("A", "TOT", 50, 0), ("B", "TOT", 300, 250), ("C", "CAT", 100, 150),
                                 ("D", "CAT", 250, 200), ("E", "PEA", 0, 50), ("F", "PEA", 150, 100),
                                 ("G", "PEA", 150, 300)], "", "", None),
    "three operators on the road at one point": (grid(4), [("A", "TOT", 150, 100), ("B", "CAT", 150, 100),
                                                           ("C", "PEA", 150, 100), ("D", "TOT", 0, 300),
                                                           ("E", "CAT", 300, 300), ("F", "PEA", 300, 0)], "", "", None),
    "duplicate and overlapping roads": (grid(4) + grid(4) + [[(50.0, 0.0), (250.0, 0.0)], [(300.0, 300.0), (0.0, 300.0)]],
                                        SIX, "", "", None),
    "edges shorter than 1 cm": ([[(0.0, 0.0), (100.0, 0.0)], [(100.0, 0.0), (100.004, 0.0)],
                                 [(100.004, 0.0), (100.008, 0.003)], [(100.008, 0.003), (200.0, 0.0)],
                                 [(100.004, 0.0), (100.004, 80.0)], [(200.0, 0.0), (200.005, 0.0), (200.009, 0.0)],
                                 [(200.009, 0.0), (300.0, 0.0)]],
                                [("A", "TOT", 0, 10), ("B", "TOT", 300, 10), ("C", "CAT", 100.004, 80),
                                 ("D", "CAT", 200.003, 0), ("E", "PEA", 100.002, 0), ("F", "PEA", 250, -10)],
                                "node_tolerance_m = 0.001\n", "", None),
    "15 km straight road": ([[(0.0, 0.0), (15_000.0, 0.0)]],
                            [("A", "TOT", 0, 10), ("B", "TOT", 15_000, 10), ("C", "TOT", 7_500, 0),
                             ("D", "PEA", 7_500, 0), ("E", "PEA", 15_005, 0)], "", "", None),
    "a closed ring road": ([[(0.0, 0.0), (200.0, 0.0), (200.0, 200.0), (0.0, 200.0), (0.0, 0.0)]],
                           [("A", "TOT", 0, 0), ("B", "TOT", 100, 210), ("C", "CAT", 210, 50), ("D", "CAT", 50, -10)],
                           "", "", None),
    "a single operator": (grid(4), [("A", "PEA", 20, 10), ("B", "PEA", 280, 290), ("C", "PEA", 120, -10)], "", "", None),
    "five operators of both kinds": (grid(4), [(f"{op}{j}", op, x + i, y) for i, op in enumerate(["NT", "AIS", "TRUE", "PEA", "EGAT"])
                                               for j, (x, y) in enumerate([(20, 10), (280, 290), (150, 130)][:3])
                                               ] + [("NT9", "NT", 10, 290), ("EGAT9", "EGAT", 290, 10)],
                                     "", "", FIVE_OPERATORS),
    "sites farther than max_site_distance_m": (grid(4), [("A", "TOT", 20, 10), ("B", "TOT", 280, 290), ("C", "TOT", 2000, 2000),
                                                         ("D", "CAT", 120, -400), ("E", "CAT", 200, 190), ("F", "CAT", 150, 800)],
                                               "max_site_distance_m = 100\n", "", None),
    "phase budgets smaller than any segment": (grid(4), SIX, "", '[[phases]]\nname = "P1"\nbudget_thb = 10\n\n'
                                               '[[phases]]\nname = "P2"\nbudget_thb = 20\n\n[[phases]]\nname = "Rest"\n', None),
    "site_merge_m = 0 with sites 5 mm apart": (grid(4), [("A", "TOT", 20, 10), ("B", "CAT", 20.005, 10), ("C", "TOT", 280, 290),
                                                         ("D", "CAT", 280.005, 290)], "site_merge_m = 0\n", "", None),
}


def _write_case(folder, name):
    lines, sites, options, extra, operators = CASES[name]
    if operators:
        (folder / "ops.toml").write_text(operators)
    path = write_scenario(folder, lines, sites, options=options, extra=extra)
    if operators:
        path.write_text(path.read_text().replace('sites = "sites.csv"\n', 'sites = "sites.csv"\noperators = "ops.toml"\n'))
    return path


@pytest.mark.parametrize("name", sorted(CASES))
def test_odd_but_valid_input_gives_a_plan_that_adds_up(tmp_path, name):
    plan = run(load_scenario(_write_case(tmp_path, name)))
    check_plan(plan)
    s = plan.summary
    assert s["sites_connected"] >= 2 and s["total_cost"] > 0 and s["trench_length_m"] > 0
    assert s["sites_connected"] + len(s["sites_not_connected"]) == s["sites_total"] == len(plan.sites)
    # a site is connected exactly when its operator has another connected location
    connected = plan.sites[plan.sites["connected"]]
    assert (connected.groupby("operator")["node_id"].nunique() >= 2).all()
    # the plan's segments have a length (no zero-length lead-in or road piece)
    assert (plan.ducts["length_m"] > 0).all() and np.isfinite(plan.ducts["length_m"]).all()
    if "phases" in s:   # the phases and what they leave unbuilt add up to the plan
        built = sum(p["cost_thb"] for p in s["phases"]) + s["phases_unbuilt"]["cost_thb"]
        assert built == pytest.approx(s["total_cost"], abs=1.0)
        for p in s["phases"]:
            assert sum(p["allocation_thb"].values()) == pytest.approx(p["cost_thb"], abs=1.0)
            assert p["budget_thb"] is None or p["cost_thb"] <= p["budget_thb"]


@pytest.mark.slow   # two whole plans with their maps
def test_odd_input_twice_gives_the_same_files(tmp_path):
    """Duplicate roads, edges shorter than 1 cm and three operators on the road at one point
    (ties everywhere) still give byte-identical files from two runs."""
    from connectivity.pipeline import write_outputs

    lines = CASES["duplicate and overlapping roads"][0] + CASES["edges shorter than 1 cm"][0]
    sites = CASES["three operators on the road at one point"][1]
    path = write_scenario(tmp_path, lines, sites, options="node_tolerance_m = 0.001\n")
    outs = []
    for k in range(2):
        out = tmp_path / f"out{k}"
        write_outputs(run(load_scenario(path)), out)
        outs.append(out)
    names = sorted(p.name for p in outs[0].iterdir() if p.name != "timings.json")
    assert names == sorted(p.name for p in outs[1].iterdir() if p.name != "timings.json")
    assert "ducts.geojson" in names
    for name in names:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    ducts = json.loads((outs[0] / "ducts.geojson").read_text())
    assert "OpenStreetMap contributors" in ducts.get("attribution", "")


@pytest.mark.xfail(strict=True, reason="known, left alone: junction chambers are placed on the group's trench network, so "
                   "where two operators' trees of one group share a few metres (a site's lead-in meets the other's "
                   "road beside a crossing), the shared bank splits twice and the joint plan pays two chambers "
                   "neither operator pays alone; one group cannot lay two banks side by side in one street")
def test_trees_that_only_touch_do_not_make_the_joint_plan_dearer(tmp_path):
    lines = [[(0.0, 0.0), (200.0, 200.0), (200.0, 0.0), (0.0, 200.0), (0.0, 0.0)]]
    sites = [("A", "TOT", 0, 10), ("B", "TOT", 200, 190), ("C", "CAT", 100, 110), ("D", "CAT", 210, 0)]
    plan = run(load_scenario(write_scenario(tmp_path, lines, sites)))
    assert plan.summary["savings"] >= 0


def test_a_plan_does_not_climb_onto_a_bridge_from_the_street_beneath(tmp_path):
    """A bridge crosses over the street of site A and lands beside site B: the only way from A
    to B is the long detour by the side street (the street passes under the bridge, with no
    junction there, as OSM maps it). The plan takes the detour and prices no bore."""
    lines = [[(-1000.0, 0.0), (200.0, 0.0)], [(-1000.0, 300.0), (200.0, 300.0)],
             [(-1000.0, 0.0), (-1000.0, 300.0)], [(100.0, -300.0), (100.0, 300.0)]]
    sites = [("A", "TOT", 50, 0), ("B", "TOT", 150, 300)]
    plan = run(load_scenario(write_scenario(tmp_path, lines, sites, bridges=(3,))))
    check_plan(plan)
    assert plan.sites["status"].eq("connected").all()
    assert not plan.boq["item"].str.startswith("trench hdd").any()
    assert plan.ducts.length.sum() == pytest.approx(1050.0 + 300.0 + 1150.0, abs=1.0)


def test_a_site_on_a_bridge_does_not_add_a_bore(tmp_path):
    """A site standing on a bridge splits its edge; the two halves share the bridge's one bore."""
    lines = [[(0.0, 0.0), (100.0, 0.0)], [(100.0, 0.0), (200.0, 0.0)]]
    stand_alone = []
    for k, cat_x in enumerate((150.0, 50.0)):   # CAT's site beside the bridge, then on it
        folder = tmp_path / f"run{k}"
        folder.mkdir()
        sites = [("A", "TOT", 0, 0), ("B", "TOT", 200, 0), ("C", "CAT", cat_x, 0), ("D", "CAT", 200, 0)]
        plan = run(load_scenario(write_scenario(folder, lines, sites, bridges=(0,))))
        check_plan(plan)
        stand_alone.append(plan.summary["stand_alone_cost"]["TOT"])
        # the joint plan crosses the whole bridge (100 m): its bill prices one bore
        hdd = plan.boq[plan.boq["item"].str.startswith("trench hdd")]
        model = load_cost_model()
        assert hdd["quantity"].sum() == pytest.approx(100.0)
        assert hdd["cost_thb"].sum() == pytest.approx(100.0 * model.hdd_per_m + model.hdd_mobilisation)
    assert stand_alone[1] == pytest.approx(stand_alone[0])


def test_thai_operator_names_get_whole_shapefile_fields():
    """DBF field names hold 10 bytes: a Thai name (3 bytes a letter) is cut at a letter's end,
    not mid-letter, and names sharing a prefix stay apart."""
    from connectivity.export import load_schema, shapefile_names

    cols = ["ducts_ทีโอที", "ducts_ทีโอทีสอง", "ducts_กส", "ducts_TELECOM1", "ducts_TELECOM2", "trench_type"]
    names = shapefile_names(cols, load_schema()["trench"])
    assert len({v.casefold() for v in names.values()}) == len(cols)
    for c, v in names.items():
        raw = v.encode("utf-8")
        assert 0 < len(raw) <= 10 and raw.decode("utf-8") == v, (c, v)
    assert names["ducts_กส"] == "d_กส"   # 8 bytes: kept whole


@pytest.mark.slow   # a plan and a shapefile export
def test_thai_operator_exports_to_shapefile(tmp_path):
    import geopandas as gpd

    from connectivity.export import export
    from connectivity.pipeline import write_outputs

    ops = "".join(f'[[operators]]\nname = "{n}"\nkind = "{k}"\nducts = 1\nduct_diameter_mm = 100\n\n'
                  for n, k in [("ทีโอที", "telecom"), ("ทีโอทีสอง", "telecom"), ("PEA", "power")])
    (tmp_path / "ops.toml").write_text(ops, encoding="utf-8")
    sites = [("A", "ทีโอที", 20, 10), ("B", "ทีโอที", 280, 290), ("C", "ทีโอทีสอง", 120, -10),
             ("D", "ทีโอทีสอง", 280, 280), ("E", "PEA", 10, 290), ("F", "PEA", 290, 10)]
    path = write_scenario(tmp_path, grid(4), sites)
    path.write_text(path.read_text().replace('sites = "sites.csv"\n', 'sites = "sites.csv"\noperators = "ops.toml"\n'))
    write_outputs(run(load_scenario(path)), tmp_path / "plan")
    export(tmp_path / "plan", fmt="shp", out=tmp_path / "shp")
    layers = sorted((tmp_path / "shp").rglob("*.shp"))
    assert layers
    for shp in layers:
        fields = [c for c in gpd.read_file(shp).columns if c != "geometry"]
        assert len(set(fields)) == len(fields), shp
        for f in fields:
            assert "\ufffd" not in f and len(f.encode("utf-8")) <= 10, (shp, f)
        mapping = shp.with_suffix(".txt").read_text(encoding="utf-8")
        for f in fields:
            assert f"-> {f}\n" in mapping + "\n", (shp, f)   # the sidecar names the real field


@pytest.mark.parametrize("offset_m, warned", [(50_000.0, True), (100.0, False)])
def test_poles_far_from_every_road_are_reported(tmp_path, offset_m, warned):
    """Poles that all lie far from the roads (another town's file, a wrong CRS) match no street:
    the plan says so in its warnings instead of counting 0 of 0 poles in silence."""
    poles = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": f"P{k}", "owner": "PEA"},
         "geometry": {"type": "Point", "coordinates": lonlat(offset_m + 40.0 * k, offset_m)}} for k in range(5)]}
    (tmp_path / "poles.geojson").write_text(json.dumps(poles))
    path = write_scenario(tmp_path, grid(3), [("A", "TOT", 0, 0), ("B", "TOT", 200, 200)])
    path.write_text(path.read_text().replace('sites = "sites.csv"', 'sites = "sites.csv"\npoles = "poles.geojson"'))
    plan = run(load_scenario(path))
    check_plan(plan)
    far = [w for w in plan.summary["warnings"] if "poles.geojson: none of the 5 poles lies within 1,000 m of the roads" in w]
    assert len(far) == (1 if warned else 0), plan.summary["warnings"]


def test_a_misspelt_province_is_in_the_plan_warnings(tmp_path):
    path = write_scenario(tmp_path, grid(3), [("A", "TOT", 0, 0), ("B", "TOT", 200, 200)])
    path.write_text(path.read_text().replace('province = "Chiang Mai"', 'province = "Bangkock"'))
    plan = run(load_scenario(path))
    check_plan(plan)
    assert any("province 'Bangkock' is taken as a province of its own, not 'Bangkok'" in w
               for w in plan.summary["warnings"]), plan.summary["warnings"]


def test_sites_at_their_operators_only_location_are_one_location_not_unreachable(tmp_path, caplog):
    # TOT's two sites stand where its hub is (one location): nothing to join; CAT's are planned.
    # A PEA site alone on a road piece of its own, away from PEA's hub, is unreachable.
    lines = grid(4) + [[(2000.0, 0.0), (2200.0, 0.0)]]
    sites = [("A", "TOT", 150, 101), ("B", "TOT", 150, 101.5), ("C", "CAT", 0, 10), ("D", "CAT", 300, 290),
             ("E", "PEA", 2100, 5)]
    path = write_scenario(tmp_path, lines, sites, extra=_hubs(TOT=(150, 101), PEA=(0, 290)))
    plan = run(load_scenario(path))
    check_plan(plan)
    status = plan.sites.set_index("site_id")["status"]
    assert status[["A", "B", "TOT-hub"]].eq("one_location").all()
    assert status[["C", "D"]].eq("connected").all()
    assert status[["E", "PEA-hub"]].eq("unreachable").all()
    assert {d["site_id"]: d["status"] for d in plan.summary["sites_not_connected"]}["A"] == "one_location"
    text = caplog.text
    assert "3 site(s) stand at the only location of their operator" in text and "A, B, TOT-hub" in text
    assert "2 site(s) share no road component" in text


def test_the_warning_names_only_the_sites_left_unconnected(caplog):
    """A site at its operator's only location that the plan still joins (corridor mode: through
    the operator's corridor streets) is named in no 'not connected' warning."""
    import geopandas as gpd
    import pandas as pd

    from connectivity.pipeline import _warn_alone

    attached = gpd.GeoDataFrame({"site_id": ["A", "B", "C"], "operator": ["TOT", "CAT", "CAT"],
                                 "node_id": pd.array([1, 2, 3], dtype="Int64"),
                                 "status": ["attached"] * 3}, geometry=gpd.points_from_xy([0, 1, 2], [0, 0, 0]))
    with caplog.at_level("WARNING"):
        _warn_alone(attached, ["B"])
    assert [r.getMessage() for r in caplog.records] == [
        "1 site(s) share no road component with a site of their operator at another location (an operator's "
        "ducts only join its own sites), not connected: B"]


def test_a_surface_the_cost_model_does_not_price_is_a_summary_warning(tmp_path):
    path = write_scenario(tmp_path, grid(4), SIX)
    roads = json.loads((tmp_path / "roads.geojson").read_text())
    for f in roads["features"][:3]:
        f["properties"]["surface"] = "wood"
    (tmp_path / "roads.geojson").write_text(json.dumps(roads))
    plan = run(load_scenario(path))
    check_plan(plan)
    named = [w for w in plan.summary["warnings"] if "surface the [surface] table does not price" in w]
    assert len(named) == 1 and "'wood' (" in named[0] and "default.toml" in named[0]


def test_roads_file_beside_an_osm_file_is_named_as_not_used(tmp_path, caplog):
    """A scenario giving both ``inputs.osm`` (an existing file) and ``inputs.roads`` takes the roads
    from the OSM file; the unused road lines are named in a warning, not dropped silently."""
    from dataclasses import replace

    from connectivity.config import example_scenario
    from connectivity.pipeline import load_layers

    path = write_scenario(tmp_path, grid(3), [("S1", "TOT", 0.0, 0.0), ("S2", "TOT", 200.0, 200.0)])
    osm = load_scenario(example_scenario("chiang_mai_nimman")).inputs.osm
    scenario = load_scenario(path)
    with caplog.at_level("WARNING"):
        layers = load_layers(replace(scenario, inputs=replace(scenario.inputs, osm=osm)))
    assert len(layers.roads) > 100   # the example's streets, not the 6 grid lines
    assert any("roads.geojson not used" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level("WARNING"):
        assert len(load_layers(scenario).roads) == 6
    assert not any("not used" in r.getMessage() for r in caplog.records)


def test_a_crs_whose_metres_are_not_ground_metres_and_a_wide_node_tolerance_are_warned(tmp_path):
    """Web Mercator's metres are 1 / cos(lat) ground metres (5.6 % more at Chiang Mai): every length
    and cost would be as far off, so the plan says so; so does a node tolerance that can swallow
    streets. A local UTM CRS and the default tolerance say nothing."""
    path = write_scenario(tmp_path, grid(3), [("a", "TOT", 0.0, 0.0), ("b", "TOT", 200.0, 200.0)])
    quiet = run(load_scenario(path)).summary["warnings"]
    assert not [w for w in quiet if "options.crs" in w or "node_tolerance_m" in w]
    path.write_text(path.read_text().replace('crs = "EPSG:32647"', 'crs = "EPSG:3857"\nnode_tolerance_m = 50.0'))
    warned = run(load_scenario(path)).summary["warnings"]
    stretch = [w for w in warned if w.startswith("options.crs = 'EPSG:3857' measures lengths at the roads")]
    assert len(stretch) == 1 and "5.6 % longer than on the ground" in stretch[0]
    assert any(w.startswith("options.node_tolerance_m = 50 m joins road ends") for w in warned)
