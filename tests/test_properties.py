"""Property-based tests (hypothesis) over random small road grids and site sets.

The stages run as in ``pipeline.run`` (noding, site attachment, the design stage with
several operators over several road components). Invariants: every site with a partner of
its operator in its road component is connected, and only those; each operator's ducts are
a forest joining its sites whose leaves are its sites; the figures add up; exports read back.
"""
from __future__ import annotations

import json

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectivity import network, pipeline, plan
from connectivity.config import parse_scenario
from connectivity.export import export, read_plan
from connectivity.output import write_geojson

CRS = "EPSG:32647"
X0, Y0 = 500_000.0, 2_077_000.0
OPERATORS = ("TOT", "CAT", "PEA")


@st.composite
def road_grids(draw):
    """Road lines of a random grid (some streets cut in pieces, some removed) in UTM 47N."""
    nx_, ny_ = draw(st.integers(2, 5)), draw(st.integers(2, 5))
    dx, dy = draw(st.floats(40, 200)), draw(st.floats(40, 200))
    lines = []
    for j in range(ny_):  # east-west streets, each possibly broken into blocks with gaps
        for i in range(nx_ - 1):
            if draw(st.booleans()) or draw(st.booleans()):
                lines.append([(X0 + i * dx, Y0 + j * dy), (X0 + (i + 1) * dx, Y0 + j * dy)])
    for i in range(nx_):
        for j in range(ny_ - 1):
            if draw(st.booleans()) or draw(st.booleans()):
                lines.append([(X0 + i * dx, Y0 + j * dy), (X0 + i * dx, Y0 + (j + 1) * dy)])
    if not lines:
        lines.append([(X0, Y0), (X0 + dx, Y0)])
    if draw(st.booleans()):  # a diagonal crossing the grid (must be noded)
        lines.append([(X0, Y0), (X0 + (nx_ - 1) * dx, Y0 + (ny_ - 1) * dy)])
    roads = gpd.GeoDataFrame({"highway": ["residential"] * len(lines), "name": [f"r{k}" for k in range(len(lines))]},
                             geometry=[shapely.LineString(c) for c in lines], crs=CRS)
    return roads, (nx_ - 1) * dx, (ny_ - 1) * dy


@st.composite
def scenarios(draw):
    roads, w, h = draw(road_grids())
    n = draw(st.integers(0, 9))
    pts = draw(st.lists(st.tuples(st.floats(-0.3, 1.3), st.floats(-0.3, 1.3)), min_size=n, max_size=n))
    ops = draw(st.lists(st.sampled_from(OPERATORS), min_size=n, max_size=n))
    sites = gpd.GeoDataFrame({"site_id": [f"S{k}" for k in range(n)], "operator": ops, "kind": ["site"] * n,
                              "name": [""] * n},
                             geometry=[shapely.Point(X0 + a * w, Y0 + b * h) for a, b in pts], crs=CRS)
    return roads, sites, draw(st.floats(5.0, 150.0))


# light effort: the invariants do not depend on it
SCENARIO = parse_scenario({"name": "properties", "province": "Chiang Mai", "inputs": {"bbox": [98.9, 18.7, 99.0, 18.8]},
                           "design": {"rounds": 1, "orders": 1, "shapley": False}}, None)


def make_plan(roads, sites, max_distance_m):
    """The stages of pipeline.run after loading: network, sites, design."""
    net = network.roads_network(roads, crs=CRS, tolerance_m=1.0)
    net_sites, attached = network.attach_sites(net, sites, max_distance_m=max_distance_m)
    reachable = plan.reachable_terminals(net_sites, attached)
    if not reachable.any():
        return net_sites, None, plan.connected_sites(attached, reachable), None
    res = pipeline.design_stage(SCENARIO, net_sites, attached, reachable)
    reachable = reachable & ~attached["site_id"].astype(str).isin(res.dropped)
    return net_sites, res.ducts, plan.connected_sites(attached, reachable), res


SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(scenarios())
def test_plan_connects_what_it_says(case):
    roads, sites, max_d = case
    net, ducts, final, res = make_plan(roads, sites, max_d)
    comp = net.nodes["component"].to_numpy()
    # status, connected and node_id agree
    assert (final["connected"] == (final["status"] == "connected")).all()
    assert final.loc[final["status"] == "too_far", "node_id"].isna().all()
    assert final.loc[final["status"] != "too_far", "node_id"].notna().all()
    assert (final.loc[final["status"] != "too_far", "lead_in_m"] <= max_d + 1e-6).all()
    attached = final[final["node_id"].notna()]
    site_comp = comp[attached["node_id"].to_numpy(np.int64)]
    for (_, s), c in zip(attached.iterrows(), site_comp):
        partners = attached[(site_comp == c) & (attached["operator"] == s["operator"]).to_numpy()
                            & (attached["node_id"] != s["node_id"]).to_numpy()]
        # connected exactly when a site of its operator at another location (node) shares its road
        # component; sites at one location (co-located, or both on the road at one point) have
        # nothing to join (plan.reachable_terminals)
        assert s["connected"] == (len(partners) > 0), s["site_id"]
    if ducts is None:
        assert not final["connected"].any()
        return
    edges = net.edges.loc[ducts["edge_id"]]
    conn = attached[attached["connected"]]
    for op in OPERATORS:
        mine = edges[np.array([op in str(o).split(",") for o in ducts["operators"]], dtype=bool)]
        H = nx.Graph(list(zip(mine["u"], mine["v"])))
        assert nx.is_forest(H) if len(H) else True, op
        op_sites = conn[conn["operator"] == op]
        for c in set(comp[op_sites["node_id"].to_numpy(np.int64)]):
            nodes = op_sites.loc[comp[op_sites["node_id"].to_numpy(np.int64)] == c, "node_id"].astype(int).tolist()
            if len(set(nodes)) > 1:
                assert all(x in H and nx.has_path(H, nodes[0], x) for x in nodes[1:]), op
        # leaves of the operator's ducts are its sites (no dangling trench)
        mine_nodes = set(op_sites["node_id"].astype(int))
        assert all(n in mine_nodes for n in H if H.degree(n) == 1), op


@SETTINGS
@given(scenarios())
def test_figures_add_up(case):
    roads, sites, max_d = case
    net, ducts, final, res = make_plan(roads, sites, max_d)
    per_op = final.groupby("operator")["connected"].agg(["size", "sum"])
    assert int(per_op["size"].sum()) == len(final) == len(sites)
    assert int(per_op["sum"].sum()) == int(final["connected"].sum())
    assert set(final["site_id"]) == set(sites["site_id"])
    if ducts is None:
        return
    # segment lengths are the network edges' lengths and their geometries' lengths
    assert np.allclose(ducts["length_m"].to_numpy(), net.edges.loc[ducts["edge_id"], "length_m"].to_numpy())
    assert np.allclose(ducts["length_m"].to_numpy(), ducts.geometry.length.to_numpy(), atol=1e-6)
    total = res.summary["total_cost"]
    assert float(res.boq["cost_thb"].sum()) == pytest.approx(total, rel=1e-9, abs=0.01)   # the BoQ adds up
    assert res.summary["lower_bound"] <= total + 0.01
    assert sum(res.summary["allocation"]["equal"].values()) == pytest.approx(total, abs=0.05)
    assert len(set(ducts["edge_id"])) == len(ducts)
    assert ducts["segment_id"].tolist() == list(range(1, len(ducts) + 1))
    # segment endpoints are network nodes
    xy = shapely.get_coordinates(net.nodes.geometry.values)
    nodes = {(round(x, 3), round(y, 3)) for x, y in xy}
    for g in ducts.geometry:
        for p in (g.coords[0], g.coords[-1]):
            assert (round(p[0], 3), round(p[1], 3)) in nodes


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(scenarios())
def test_exported_ducts_add_up(tmp_path_factory, case):
    roads, sites, max_d = case
    net, ducts, final, res = make_plan(roads, sites, max_d)
    if ducts is None:
        return
    d = tmp_path_factory.mktemp("plan")
    write_geojson(ducts, d / "ducts.geojson")
    write_geojson(final, d / "sites.geojson")
    folder = read_plan(d)
    trench, duct_runs = folder.layers["trench"], folder.layers["ducts"]
    assert len(duct_runs) == int(trench["n_operators"].sum())
    assert duct_runs["length_m"].sum() == pytest.approx(
        sum(l * n for l, n in zip(trench["length_m"], trench["n_operators"])), rel=1e-9, abs=1e-6)
    assert (trench["shared"] == (trench["n_operators"] > 1)).all()
    exports = tmp_path_factory.mktemp("exports")   # never into the plan folder (the export refuses it)
    for op in folder.operators:
        out = export(d, exports / f"{op}.geojson", fmt="geojson", operator=op)[0]
        feats = json.loads(out.read_text())["features"]
        mine = [f for f in feats if f["properties"]["layer"] == "ducts"]
        assert len(mine) == int((duct_runs["operator"] == op).sum())
        assert sum(f["properties"]["length_m"] for f in mine) == pytest.approx(
            float(duct_runs.loc[duct_runs["operator"] == op, "length_m"].sum()))
        assert {f["properties"]["site_id"] for f in feats if f["properties"]["layer"] == "sites"} == \
            set(final.loc[final["operator"] == op, "site_id"])


lonlat = st.tuples(st.floats(97.0, 106.0, allow_nan=False), st.floats(5.0, 21.0, allow_nan=False))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(points=st.lists(lonlat, min_size=1, max_size=6, unique=True),
       boxes=st.lists(st.tuples(lonlat, st.floats(1e-5, 0.01), st.booleans()), min_size=1, max_size=4),
       fmt=st.sampled_from(["geojson", "gpkg", "csv", "shp"]))
def test_export_geometry_round_trip(tmp_path_factory, points, boxes, fmt):
    """Any coordinates come back within 1e-7 degrees; polygons wound counter-clockwise (RFC 7946)."""
    import pandas as pd
    import pyogrio

    d = tmp_path_factory.mktemp("plan")
    a, b = points[0], (points[0][0] + 0.001, points[0][1])
    ducts = gpd.GeoDataFrame({"segment_id": [1], "length_m": [105.0], "operators": ["TOT"]},
                             geometry=[shapely.LineString([a, b])], crs="EPSG:4326")
    sites = gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(len(points))], "operator": "TOT", "kind": "x",
                              "status": "connected", "connected": True},
                             geometry=[shapely.Point(p) for p in points], crs="EPSG:4326")
    polys = [shapely.box(x, y, x + w, y + w, ccw=ccw) for (x, y), w, ccw in boxes]
    cover = gpd.GeoDataFrame({"h3": [f"h{i}" for i in range(len(polys))]}, geometry=polys, crs="EPSG:4326")
    # write the plan files with full precision (as another tool might) rather than write_geojson's 7 decimals
    for name, frame in (("ducts", ducts), ("sites", sites), ("coverage", cover)):
        (d / f"{name}.geojson").write_text(frame.to_json())
    out = tmp_path_factory.mktemp("export") / ("out" if fmt in ("csv", "shp") else f"out.{fmt}")  # not in the plan folder
    export(d, out, fmt=fmt, operator="TOT")
    if fmt == "geojson":
        feats = json.loads(out.read_text())["features"]
        got = {f["properties"]["layer"]: [] for f in feats}
        for f in feats:
            got[f["properties"]["layer"]].append(shapely.geometry.shape(f["geometry"]))
        got_sites = got["sites"]
        got_cover = None
    elif fmt == "gpkg":
        got_sites = list(pyogrio.read_dataframe(out, layer="sites").geometry)
        got_cover = list(pyogrio.read_dataframe(out, layer="coverage").geometry)
    elif fmt == "csv":
        got_sites = list(shapely.from_wkt(pd.read_csv(out / "sites.csv")["wkt"]))
        got_cover = list(shapely.from_wkt(pd.read_csv(out / "coverage.csv")["wkt"]))
    else:
        got_sites = list(pyogrio.read_dataframe(out / "sites.shp").geometry)
        got_cover = list(pyogrio.read_dataframe(out / "coverage.shp").geometry)
    for p, g in zip(points, got_sites):
        assert abs(g.x - p[0]) <= 1e-7 and abs(g.y - p[1]) <= 1e-7
    if got_cover is not None:
        for src, g in zip(polys, got_cover):
            assert shapely.equals_exact(shapely.normalize(src), shapely.normalize(g), tolerance=1e-7)
            if fmt != "shp":  # Shapefile rings follow the Shapefile rule (exterior clockwise)
                assert g.exterior.is_ccw


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(scenarios())
def test_plan_folder_figures_add_up(tmp_path_factory, case):
    """The whole pipeline on files: summary.json agrees with the layers; once the design stage
    writes them, the BoQ sums to the total cost, every allocation method shares out exactly the
    total, and an operator without ducts pays nothing."""
    import pandas as pd

    from connectivity.config import load_scenario
    from connectivity.errors import InfeasibleError, InputDataError
    from connectivity.pipeline import run, write_outputs
    from tests.conftest import FIXTURES

    roads, sites, max_d = case
    d = tmp_path_factory.mktemp("scenario")
    (d / "roads.geojson").write_text(roads.to_crs("EPSG:4326").to_json())
    ll = sites.to_crs("EPSG:4326")
    pd.DataFrame({"site_id": ll["site_id"], "operator": ll["operator"], "kind": ll["kind"],
                  "lon": ll.geometry.x if len(ll) else [], "lat": ll.geometry.y if len(ll) else []}
                 ).to_csv(d / "sites.csv", index=False)
    (d / "s.toml").write_text('name = "random"\n[inputs]\nroads = "roads.geojson"\n'
                              + ('sites = "sites.csv"\n' if len(sites) else "")
                              + f'operators = "{FIXTURES / "operators.toml"}"\n'
                              f'[options]\ncrs = "{CRS}"\nmax_site_distance_m = {max_d}\n')
    if not len(sites):   # nothing to plan: one line naming what gave no site
        with pytest.raises(InputDataError, match="no sites to connect"):
            run(load_scenario(d / "s.toml"))
        return
    try:
        result = run(load_scenario(d / "s.toml"))
    except InfeasibleError as exc:
        assert len(sites) and "none of the" in str(exc)
        return
    out = d / "plan"
    write_outputs(result, out)
    summary = json.loads((out / "summary.json").read_text())
    ducts = json.loads((out / "ducts.geojson").read_text())["features"]
    site_feats = json.loads((out / "sites.geojson").read_text())["features"]
    assert summary["sites_total"] == len(site_feats) == len(sites)
    assert summary["sites_connected"] == sum(f["properties"]["connected"] for f in site_feats)
    assert summary["trench_length_m"] == pytest.approx(sum(f["properties"]["length_m"] for f in ducts), abs=0.02)
    assert {s["site_id"] for s in summary["sites_not_connected"]} == \
        {f["properties"]["site_id"] for f in site_feats if not f["properties"]["connected"]}
    total = summary.get("total_cost")
    if (out / "boq.csv").is_file() and total is not None:
        boq = pd.read_csv(out / "boq.csv")
        assert boq["cost_thb"].sum() == pytest.approx(total, abs=0.05)
    if (out / "allocation.csv").is_file() and total is not None:
        alloc = pd.read_csv(out / "allocation.csv").set_index("operator")
        shares = alloc.drop(index="total", errors="ignore")
        with_ducts = {o for f in ducts for o in str(f["properties"]["operators"]).split(",") if o}
        from connectivity.allocate import METHODS

        for method in [m for m in shares.columns if m in METHODS]:   # not the rent-versus-build columns
            assert shares[method].sum() == pytest.approx(total, abs=0.05), method
            for op in set(shares.index) - with_ducts:
                assert shares.at[op, method] == pytest.approx(0.0, abs=0.01), (method, op)


def test_lead_in_starts_at_its_node_when_the_foot_is_a_road_end():
    """Found by test_figures_add_up: a site whose foot falls within 1 cm of a road end joins that
    node, and its lead-in must start exactly there (it started at the foot, 1 mm away)."""
    lines = [((500040, 2077000), (500080, 2077000)), ((500080, 2077000), (500080, 2077040))]
    roads = gpd.GeoDataFrame({"highway": ["residential"] * 2}, geometry=[shapely.LineString(c) for c in lines], crs=CRS)
    sites = gpd.GeoDataFrame({"site_id": ["S0", "S1"], "operator": "TOT", "kind": "site", "name": ""},
                             geometry=[shapely.Point(500030, 2077000.004), shapely.Point(500100, 2077000.001)], crs=CRS)
    net, ducts, final, tree = make_plan(roads, sites, 40.0)
    lead = net.edges[net.edges["kind"] == "lead_in"]
    for u, g in zip(lead["u"], lead.geometry):
        assert g.coords[0] == net.nodes.geometry.loc[u].coords[0]


def test_co_located_sites_alone_in_their_component_are_not_connected():
    """Two sites of one operator at one location (one site node) have nothing to join, even when
    another operator's site shares their road component (found by the property test above)."""
    import shapely

    roads = gpd.GeoDataFrame({"highway": ["residential"] * 3, "name": ["r0", "r1", "r2"]}, geometry=[
        shapely.LineString([(500000, 2077040), (500040, 2077040)]), shapely.LineString([(500000, 2077000), (500000, 2077040)]),
        shapely.LineString([(500040, 2077000), (500040, 2077040)])], crs=CRS)
    sites = gpd.GeoDataFrame({"site_id": ["S0", "S1", "S2"], "operator": ["TOT", "TOT", "CAT"], "kind": ["site"] * 3,
                              "name": [""] * 3}, geometry=[shapely.Point(500000, 2077000), shapely.Point(500000, 2077000),
                                                           shapely.Point(500000, 2077040)], crs=CRS)
    net, ducts, final, res = make_plan(roads, sites, 5.0)
    assert final.set_index("site_id")["connected"].to_dict() == {"S0": False, "S1": False, "S2": False}
    assert final["node_id"].iloc[0] == final["node_id"].iloc[1]
