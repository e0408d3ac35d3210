"""Exports of a plan folder: GeoJSON (RFC 7946), GeoPackage, CSV, Shapefile.

Two plan folders: the tiny scenario planned for real, and a hand-written one with every
optional layer and table (manholes, coverage hexagons, duct counts, costs, BoQ, allocation)
as the design and coverage stages will write them.
"""
from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from connectivity.cli import main
from connectivity.config import load_scenario
from connectivity.export import AERIAL_LAYERS, CONTEXT_LAYERS, export, load_schema, read_plan, shapefile_names
from connectivity.pipeline import run, write_outputs
from tests.conftest import FIXTURES, REPO

ATTRIBUTION = "© OpenStreetMap contributors"
@pytest.mark.parametrize("table", ["boq.csv", "allocation.csv"])
def test_a_table_cut_short_is_one_error(full_plan, tmp_path, capsys, table):
    """A plan table cut mid-row (a copy that stopped) was exported with a last row of empty cells."""
    d = tmp_path / "plan"
    d.mkdir()
    for f in full_plan.iterdir():
        (d / f.name).write_bytes(f.read_bytes())
    data = (d / table).read_bytes()
    assert data.endswith(b"\n") and data.count(b"\n") >= 2
    (d / table).write_bytes(data[:-4])
    assert main(["export", str(d), "--format", "csv", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{table}: cut short" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


FORMATS = ("geojson", "gpkg", "csv", "shp")


@pytest.fixture(scope="module")
def tiny_plan(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny_plan")
    write_outputs(run(load_scenario(FIXTURES / "tiny.toml")), out)
    return out


def _fc(features):
    return json.dumps({"type": "FeatureCollection", "attribution": ATTRIBUTION, "features": [
        {"type": "Feature", "properties": p, "geometry": g} for p, g in features]})


def _line(*xy):
    return {"type": "LineString", "coordinates": [list(c) for c in xy]}


def _point(x, y):
    return {"type": "Point", "coordinates": [x, y]}


@pytest.fixture(scope="module")
def full_plan(tmp_path_factory):
    """A plan folder with every optional layer and table; the hexagon is wound clockwise."""
    d = tmp_path_factory.mktemp("full_plan")
    a, b, c, e = (98.96, 18.79), (98.961, 18.79), (98.962, 18.79), (98.961, 18.791)
    seg = [
        ({"segment_id": 1, "edge_id": 10, "length_m": 105.3, "operators": "CAT,TOT", "n_ducts": 3,
          "ducts": "CAT:1,TOT:2", "ducts_CAT": 1, "ducts_TOT": 2, "trench_type": "open_cut",
          "cost_thb": 250000.5, "phase": 1, "kind": "road", "highway": "residential", "name": "Soi 1"}, _line(a, b)),
        ({"segment_id": 2, "edge_id": 11, "length_m": 105.3, "operators": "TOT", "n_ducts": 2,
          "ducts": "TOT:2", "ducts_CAT": 0, "ducts_TOT": 2, "trench_type": "hdd",
          "cost_thb": 300000.0, "phase": 2, "kind": "road", "highway": "primary", "name": None}, _line(b, c)),
        ({"segment_id": 3, "edge_id": 12, "length_m": 110.6, "operators": "CAT,PEA", "n_ducts": 4,
          "ducts": "CAT:1,PEA:3", "ducts_CAT": 1, "ducts_TOT": 0, "ducts_PEA": 3, "trench_type": "open_cut",
          "cost_thb": 400000.0, "phase": 1, "kind": "lead_in", "highway": "lead_in", "name": "ซอย ๒"}, _line(b, e)),
    ]
    (d / "ducts.geojson").write_text(_fc(seg))
    sites = [
        ({"site_id": "T1", "operator": "TOT", "kind": "hub", "name": "Exchange", "node_id": 0, "lead_in_m": 0.0,
          "status": "connected", "connected": True}, _point(*a)),
        ({"site_id": "T2", "operator": "TOT", "kind": "school", "name": "", "node_id": 2, "lead_in_m": 3.5,
          "status": "connected", "connected": True}, _point(*c)),
        ({"site_id": "C1", "operator": "CAT", "kind": "school", "name": "โรงเรียน", "node_id": 3, "lead_in_m": 1.25,
          "status": "connected", "connected": True}, _point(*e)),
        ({"site_id": "P1", "operator": "PEA", "kind": "hospital", "name": None, "node_id": None, "lead_in_m": None,
          "status": "too_far", "connected": False}, _point(98.99, 18.82)),
    ]
    (d / "sites.geojson").write_text(_fc(sites))
    manholes = [({"manhole_id": f"M{i}", "reason": r, "group": g}, _point(*xy))
                for i, (r, g, xy) in enumerate([("site", "telecom", a), ("junction", "telecom", b),
                                                ("spacing", "power", e), ("site", "power", (98.97, 18.8))])]
    (d / "manholes.geojson").write_text(_fc(manholes))
    ring = [[98.96, 18.79], [98.96, 18.792], [98.962, 18.792], [98.962, 18.79], [98.96, 18.79]]  # clockwise
    (d / "coverage.geojson").write_text(_fc([({"h3": "89658d1b6b7ffff", "buildings": 12, "passed": 7},
                                              {"type": "Polygon", "coordinates": [ring]})]))
    services = [({"building_id": "way/1", "edge_id": 10, "length_m": 10.0, "power": "PEA", "telecom": "CAT,TOT",
                  "cost_thb": 48000.0}, _point(98.9605, 18.7901)),
                ({"building_id": "way/2", "edge_id": 11, "length_m": 12.5, "power": "", "telecom": "TOT",
                  "cost_thb": 20500.25}, _point(98.9615, 18.7899)),
                ({"building_id": "way/3", "edge_id": 12, "length_m": 10.0, "power": "PEA", "telecom": "",
                  "cost_thb": 30000.0}, _point(98.9611, 18.7905))]
    (d / "services.geojson").write_text(_fc(services))
    aerial = [({"feature": "span", "id": "way/9#1", "owner": "PEA", "kind": "power_line", "length_m": 105.3,
                "removed": True, "reason": None}, _line(a, b)),
              ({"feature": "span", "id": "way/9#2", "owner": "PEA", "kind": "power_line", "length_m": 105.3,
                "removed": False, "reason": "not along an undergrounded street"}, _line(b, c)),
              ({"feature": "pole", "id": "P-1", "owner": "PEA", "kind": "pole", "length_m": None,
                "removed": True, "reason": None}, _point(*a)),
              ({"feature": "pole", "id": "P-2", "owner": "PEA", "kind": "pole", "length_m": None,
                "removed": False, "reason": "carries a line still aerial (way/9#2)"}, _point(*b))]
    (d / "aerial.geojson").write_text(_fc(aerial))
    (d / "boq.csv").write_text("item,unit,quantity,cost_thb\ntrench open cut,m,215.9,650000.5\nmanhole,each,4,80000\n")
    (d / "allocation.csv").write_text("operator,method,share_thb\nCAT,shapley,300000\nTOT,shapley,650000.5\n")
    (d / "summary.json").write_text(json.dumps({"scenario": "full", "total_cost": 730000.5, "attribution": ATTRIBUTION}))
    return d


# --------------------------------------------------------------------------- reading back
def read_back(path, fmt):
    """Every layer of an export as {layer: GeoDataFrame/DataFrame} (WGS84), as a partner would read it."""
    if fmt == "geojson":
        data = json.loads(path.read_text())
        layers = {}
        for f in data["features"]:
            layers.setdefault(f["properties"]["layer"], []).append(f)
        import geopandas as gpd
        return {k: gpd.GeoDataFrame([{kk: vv for kk, vv in f["properties"].items() if kk != "layer"} for f in fs],
                                    geometry=[shapely.geometry.shape(f["geometry"]) for f in fs], crs=4326)
                for k, fs in layers.items()}
    if fmt == "gpkg":
        return {name: pyogrio.read_dataframe(path, layer=name, read_geometry=gt is not None)
                for name, gt in pyogrio.list_layers(path)}
    out = {}
    for f in sorted(path.glob("*.csv" if fmt == "csv" else "*.shp")):
        out[f.stem] = pd.read_csv(f, keep_default_na=True) if fmt == "csv" else pyogrio.read_dataframe(f)
    return out


def same_values(a, b):
    if pd.isna(a) and pd.isna(b):
        return True
    if isinstance(a, (bool, np.bool_)) or isinstance(b, (bool, np.bool_)):
        return bool(a) == bool(b)
    if isinstance(a, (int, float, np.number)) and isinstance(b, (int, float, np.number)):
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-9)
    if isinstance(a, str) != isinstance(b, str):  # CSV is untyped: "4" may read back as 4.0
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-9)
        except (TypeError, ValueError):
            pass
    return str(a) == str(b)


def check_round_trip(source, back, *, shp=False, layer="?", text=False):
    """Same rows, geometries within 1e-7 degrees, same attributes (by schema name)."""
    assert len(source) == len(back), layer
    if "wkt" in back.columns:
        geoms = shapely.from_wkt(back["wkt"].to_numpy())
        back = back.drop(columns=[c for c in ("wkt", "lon", "lat") if c in back.columns])
    else:
        geoms = np.asarray(back.geometry.values)
    src_geoms = shapely.orient_polygons(np.asarray(source.geometry.values))  # exports wind exteriors CCW
    for g0, g1 in zip(src_geoms, geoms):
        assert g0.geom_type == g1.geom_type or shp
        c0, c1 = shapely.get_coordinates(g0), shapely.get_coordinates(g1)
        if shp and g0.geom_type == "Polygon":  # shapefile rings are clockwise: compare as sets
            assert shapely.equals_exact(shapely.normalize(g0), shapely.normalize(g1), tolerance=1e-7)
            continue
        assert c0.shape == c1.shape and np.abs(c0 - c1).max(initial=0) <= 1e-7 + 1e-12, layer
    names = shapefile_names([c for c in source.columns if c != source.geometry.name], load_schema()[layer]) \
        if shp else {c: c for c in source.columns}
    for col in source.columns:
        if col == source.geometry.name:
            continue
        got = back[names[col]].tolist()
        for a, b in zip(source[col].tolist(), got):
            if shp and str(source[col].dtype) == "boolean" and pd.isna(a):
                continue
            if (shp or text) and isinstance(a, str) and a == "" and pd.isna(b):
                continue  # DBF and CSV cannot tell an empty string from no value
            assert same_values(a, b), (layer, col, a, b)


# --------------------------------------------------------------------------- tests
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("plan_name", ["tiny_plan", "full_plan"])
def test_round_trip_per_operator(fmt, plan_name, request, tmp_path):
    plan_dir = request.getfixturevalue(plan_name)
    plan = read_plan(plan_dir)
    from connectivity.export import operator_view
    for op in plan.operators:
        out = tmp_path / f"{op}.{fmt}"
        written = export(plan_dir, out, fmt=fmt, operator=op)
        assert written and all(p.exists() for p in written)
        back = read_back(out, fmt)
        view = operator_view(plan, op)
        for layer, frame in view.items():
            if fmt == "geojson" and len(frame) == 0:
                assert layer not in back
                continue
            check_round_trip(frame, back[layer], shp=fmt == "shp", layer=layer, text=fmt == "csv")
        for layer in CONTEXT_LAYERS:  # GeoJSON: the aerial layers only
            if layer in plan.layers and (fmt != "geojson" or layer in AERIAL_LAYERS):
                check_round_trip(plan.layers[layer], back[layer], shp=fmt == "shp", layer=layer,
                                 text=fmt == "csv")
        if fmt != "geojson":
            for name, table in plan.tables.items():
                got = back[name] if fmt != "shp" else pd.read_csv(out / f"{name}.csv")
                for col in table.columns:
                    for a, b in zip(table[col].tolist(), got[col].tolist()):
                        assert same_values(a, b), (name, col, a, b)


def test_operator_view_filters(full_plan, tmp_path):
    out = tmp_path / "tot.geojson"
    export(full_plan, out, fmt="geojson", operator="TOT")
    layers = read_back(out, "geojson")
    assert set(layers["ducts"]["operator"]) == {"TOT"}
    assert layers["ducts"]["segment_id"].tolist() == [1, 2]
    assert layers["ducts"]["n_ducts"].tolist() == [2, 2]
    assert layers["ducts"]["duct_m"].tolist() == pytest.approx([210.6, 210.6])
    assert layers["ducts"]["shared_with"].tolist() == ["CAT", ""]
    assert layers["trench"]["shared"].tolist() == [True, False]
    assert set(layers["sites"]["site_id"]) == {"T1", "T2"}
    # manholes on TOT's trench (M0 at a, M1 at b), not the power manhole on the CAT/PEA lead-in
    assert sorted(layers["manholes"]["manhole_id"]) == ["M0", "M1"]
    pea = read_back(export(full_plan, tmp_path / "pea.geojson", fmt="geojson", operator="PEA")[0], "geojson")
    assert pea["sites"]["status"].tolist() == ["too_far"] and pea["sites"]["connected"].tolist() == [False]


def test_services_per_operator_and_aerial_split(full_plan, tmp_path):
    """Services go to the operators giving them; aerial.geojson becomes spans and poles, whole for everyone."""
    got = {}
    for op in ("CAT", "PEA", "TOT"):
        layers = read_back(export(full_plan, tmp_path / f"{op}.geojson", fmt="geojson", operator=op)[0], "geojson")
        got[op] = sorted(layers["services"]["building_id"])
        assert layers["aerial_spans"]["id"].tolist() == ["way/9#1", "way/9#2"]
        assert layers["aerial_poles"]["removed"].tolist() == [True, False]
        assert "length_m" not in layers["aerial_poles"].columns
    assert got == {"CAT": ["way/1"], "PEA": ["way/1", "way/3"], "TOT": ["way/1", "way/2"]}
    shp = tmp_path / "shp"
    export(full_plan, shp, fmt="shp", operator="TOT")
    back = pyogrio.read_dataframe(shp / "aerial_poles.shp")
    assert back["reason"].tolist()[1] == "carries a line still aerial (way/9#2)" and back.geom_type.tolist() == ["Point"] * 2


def test_aerial_file_with_a_bad_feature_is_one_error(full_plan, tmp_path, capsys):
    d = tmp_path / "plan"
    d.mkdir()
    for f in full_plan.iterdir():
        (d / f.name).write_bytes(f.read_bytes())
    data = json.loads((d / "aerial.geojson").read_text())
    data["features"][2]["geometry"] = _line((98.96, 18.79), (98.961, 18.79))  # a pole drawn as a line
    (d / "aerial.geojson").write_text(json.dumps(data))
    assert main(["export", str(d), "--format", "gpkg", "--out", str(tmp_path / "x.gpkg")]) == 2
    err = capsys.readouterr().err.strip()
    assert "aerial.geojson: feature 3: a pole must be a Point" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x.gpkg").exists()


def test_geojson_is_rfc7946(full_plan, tiny_plan, tmp_path):
    for plan_dir in (full_plan, tiny_plan):
        for path in export(plan_dir, tmp_path / plan_dir.name, fmt="geojson"):
            text = path.read_text()
            data = json.loads(text)
            assert "crs" not in data and data["attribution"] == ATTRIBUTION
            for f in data["features"]:
                coords = shapely.get_coordinates(shapely.geometry.shape(f["geometry"]))
                assert (np.abs(coords[:, 0]) <= 180).all() and (np.abs(coords[:, 1]) <= 90).all()
                for x in coords.ravel():
                    assert round(x, 7) == x
                g = shapely.geometry.shape(f["geometry"])
                if g.geom_type == "Polygon":
                    assert g.exterior.is_ccw
    # the full plan's clockwise hexagon is not in a per-operator GeoJSON; GPKG/CSV keep it CCW
    back = read_back(export(full_plan, tmp_path / "all.gpkg", fmt="gpkg")[0], "gpkg")
    assert back["coverage"].geometry.iloc[0].exterior.is_ccw


def test_all_operators_layout(full_plan, tmp_path):
    files = export(full_plan, tmp_path / "gj", fmt="geojson")
    assert sorted(p.name for p in files) == ["CAT.geojson", "PEA.geojson", "TOT.geojson"]
    export(full_plan, tmp_path / "csv", fmt="csv")
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == ["CAT", "PEA", "TOT"]
    assert {p.name for p in (tmp_path / "csv" / "TOT").iterdir()} == {
        "ducts.csv", "trench.csv", "manholes.csv", "sites.csv", "services.csv", "aerial_spans.csv",
        "aerial_poles.csv", "coverage.csv", "boq.csv", "allocation.csv", "metadata.txt"}
    export(full_plan, tmp_path / "shp", fmt="shp")
    names = {p.name for p in (tmp_path / "shp" / "CAT").iterdir()}
    assert {"ducts.shp", "ducts.dbf", "ducts.prj", "ducts.txt", "coverage.shp", "boq.csv"} <= names
    assert not [n for n in names if n.startswith(".")]  # no temporary files left
    gpkg = export(full_plan, tmp_path / "plan.gpkg", fmt="gpkg")[0]
    layers = dict(pyogrio.list_layers(gpkg))
    assert {"trench", "ducts", "manholes", "sites", "coverage", "boq", "allocation", "metadata",
            "TOT_ducts", "CAT_sites", "PEA_trench", "services", "TOT_services", "aerial_spans",
            "aerial_poles"} <= set(layers)
    assert layers["boq"] is None and layers["trench"] == "LineString"
    assert layers["aerial_spans"] == "LineString" and layers["aerial_poles"] == "Point"


def test_attribution_in_every_export(full_plan, tmp_path):
    gj = export(full_plan, tmp_path / "t.geojson", fmt="geojson", operator="TOT")[0]
    assert json.loads(gj.read_text())["attribution"] == ATTRIBUTION
    gpkg = export(full_plan, tmp_path / "t.gpkg", fmt="gpkg", operator="TOT")[0]
    meta = pyogrio.read_dataframe(gpkg, layer="metadata", read_geometry=False)
    assert dict(zip(meta["key"], meta["value"]))["attribution"] == ATTRIBUTION
    assert pyogrio.read_info(gpkg, layer="ducts")["layer_metadata"]["attribution"] == ATTRIBUTION
    assert pyogrio.read_info(gpkg, layer="metadata")["dataset_metadata"]["attribution"] == ATTRIBUTION
    export(full_plan, tmp_path / "csv", fmt="csv", operator="TOT")
    assert ATTRIBUTION in (tmp_path / "csv" / "metadata.txt").read_text()
    export(full_plan, tmp_path / "shp", fmt="shp", operator="TOT")
    for shp in (tmp_path / "shp").glob("*.shp"):
        assert ATTRIBUTION in shp.with_suffix(".txt").read_text()


# --------------------------------------------------------------------------- schema
GPKG_TYPES = {"integer": {"OFTInteger", "OFTInteger64"}, "real": {"OFTReal"}, "string": {"OFTString"},
              "boolean": {"OFTInteger"}}


def _json_type_ok(value, spec):
    if value is None:
        return spec.nullable or spec.type in ("string",)
    return {"integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "real": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "string": lambda v: isinstance(v, str),
            "boolean": lambda v: isinstance(v, bool)}[spec.type](value)


def _check_fields(layer, fields, type_of):
    """Every written field documented with the right type; every required field present."""
    spec = load_schema()[layer]
    for f in spec.fields:
        if f.required and not f.name.endswith("*"):
            assert f.name in fields, (layer, f.name)
    for name in fields:
        f = spec.field_for(name)
        if f is None:
            assert spec.passthrough, f"{layer}.{name} is written but not in data/schema/plan_schema.toml"
            continue
        assert type_of(name, f), (layer, name, f.type)


@pytest.mark.parametrize("plan_name", ["tiny_plan", "full_plan"])
def test_exports_match_schema(plan_name, request, tmp_path):
    plan_dir = request.getfixturevalue(plan_name)
    schema = load_schema()
    ops = read_plan(plan_dir).operators
    # GeoJSON: JSON types of every feature's properties
    for path in export(plan_dir, tmp_path / "gj", fmt="geojson"):
        per_layer = {}
        for f in json.loads(path.read_text())["features"]:
            per_layer.setdefault(f["properties"]["layer"], []).append(f["properties"])
        for layer, props in per_layer.items():
            fields = {k for p in props for k in p if k != "layer"}
            _check_fields(layer, fields, lambda n, spec: all(_json_type_ok(p.get(n), spec) for p in props))
    # GeoPackage: declared OGR field types
    gpkg = export(plan_dir, tmp_path / "all.gpkg", fmt="gpkg")[0]
    for layer, _ in pyogrio.list_layers(gpkg):
        info = pyogrio.read_info(gpkg, layer=layer)
        base = layer.split("_", 1)[1] if layer.split("_", 1)[0] in ops else layer
        types = dict(zip(info["fields"], zip(info["ogr_types"], info["ogr_subtypes"])))

        def ok(name, spec, types=types):
            t, sub = types[name]
            return t in GPKG_TYPES[spec.type] and ((sub == "OFSTBoolean") == (spec.type == "boolean"))
        _check_fields(base, list(info["fields"]), ok)
    # Shapefile: names are the documented shp names, at most 10 characters, types right
    export(plan_dir, tmp_path / "shp", fmt="shp", operator=ops[0])
    for shp in (tmp_path / "shp").glob("*.shp"):
        info = pyogrio.read_info(shp)
        spec = schema[shp.stem]
        assert all(len(n) <= 10 for n in info["fields"])
        mapping = dict(re.findall(r"^  (\S+) -> (\S+)$", shp.with_suffix(".txt").read_text(), re.M))
        assert sorted(mapping.values()) == sorted(info["fields"])
        types = dict(zip(info["fields"], info["ogr_types"]))
        shp_types = {"integer": {"OFTInteger", "OFTInteger64", "OFTReal"}, "real": {"OFTReal"},
                     "string": {"OFTString"}, "boolean": {"OFTInteger"}}
        _check_fields(shp.stem, list(mapping), lambda n, f: types[mapping[n]] in shp_types[f.type])
        for n, s in mapping.items():
            f = spec.field_for(n)
            if f is not None and f.shp and not f.name.endswith("*"):
                assert s == f.shp
    # CSV: documented columns plus the geometry columns
    export(plan_dir, tmp_path / "csv", fmt="csv", operator=ops[0])
    for csv in (tmp_path / "csv").glob("*.csv"):
        if csv.stem in ("boq", "allocation"):
            continue
        df = pd.read_csv(csv)
        cols = [c for c in df.columns if c not in ("wkt", "lon", "lat")]
        assert "wkt" in df.columns

        def parses(name, spec, df=df):
            v = df[name].dropna()
            if spec.type in ("integer", "real"):
                return pd.api.types.is_numeric_dtype(v) or len(v) == 0
            if spec.type == "boolean":
                return set(v.astype(str)) <= {"True", "False"}
            return True
        _check_fields(csv.stem, cols, parses)


def test_schema_documents_every_field():
    for name, spec in load_schema().items():
        for f in spec.fields:
            assert f.type in ("string", "integer", "real", "boolean"), (name, f.name)
            assert f.description and f.shp and len(f.shp.replace("*", "")) <= 10
        assert len({f.shp for f in spec.fields}) == len(spec.fields)
    assert (REPO / "connectivity" / "data" / "schema" / "README.md").is_file()


def test_long_operator_names_get_unique_shapefile_fields():
    spec = load_schema()["trench"]
    names = shapefile_names(["ducts_TELECOM1", "ducts_TELECOM2", "n_operators", "trench_type"], spec)
    assert names["n_operators"] == "n_ops" and names["trench_type"] == "trench_typ"
    assert len(set(names.values())) == 4 and all(len(v) <= 10 for v in names.values())


# --------------------------------------------------------------------------- errors
def run_cli(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "connectivity.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=120, cwd=cwd)


@pytest.mark.parametrize("setup,words", [
    (lambda d: d / "nope", ["nope", "not a plan folder"]),
    (lambda d: (d / "file.txt").write_text("x") and d / "file.txt", ["file.txt", "not a directory"]),
    (lambda d: d, ["ducts.geojson is missing"]),
])
def test_bad_plan_dir(tmp_path, setup, words):
    plan_dir = setup(tmp_path)
    out = tmp_path / "out.gpkg"
    r = run_cli("export", plan_dir, "--format", "gpkg", "--out", out)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("connectivity: error:"), r.stderr
    assert all(w in lines[0] for w in words), lines[0]
    assert not out.exists()


def test_a_huge_segment_id_is_one_error_line(full_plan, tmp_path):
    """`segment_id` 1e30: pandas' RuntimeWarning (two lines, with a source line) came before the error."""
    d = tmp_path / "plan"
    d.mkdir()
    for f in full_plan.iterdir():
        (d / f.name).write_bytes(f.read_bytes())
    ducts = json.loads((d / "ducts.geojson").read_text())
    ducts["features"][0]["properties"]["segment_id"] = 1e30
    (d / "ducts.geojson").write_text(json.dumps(ducts))
    r = run_cli("export", d, "--format", "csv", "--out", tmp_path / "out")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert "ducts.geojson: field `segment_id` must be integer" in lines[0]


@pytest.mark.parametrize("name", ["summary.json", "ducts.geojson"])
def test_json_nested_too_deeply_is_one_error_line(tiny_plan, tmp_path, capsys, name):
    """JSON nested deeper than the parser goes (a summary of `[` x 100000, a property of ducts.geojson):
    exit 1 with a RecursionError, now exit 2 naming the file."""
    d = tmp_path / "plan"
    d.mkdir()
    for f in tiny_plan.iterdir():
        if f.is_file():
            (d / f.name).write_bytes(f.read_bytes())
    deep = "[" * 100_000 + "]" * 100_000
    if name == "summary.json":
        (d / name).write_text(deep)
    else:
        (d / name).write_text((d / name).read_text().replace('"properties":{', '"properties":{"deep":' + deep + ",", 1))
    assert main(["export", str(d), "--format", "csv", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0] == f"connectivity: error: {d / name}: not valid " \
        f"{'JSON' if name == 'summary.json' else 'GeoJSON'} (arrays or objects nested too deeply)", err
    assert not (tmp_path / "out").exists()


def test_national_folder_of_plan_areas_is_named_as_such(tiny_plan, tmp_path, capsys):
    """The national folder of `plan-areas` given to export or compare: one line pointing at its area
    folders. Export said 'ducts.geojson is missing; make one with `connectivity plan`'; compare
    wrote a column of empty figures (exit 0)."""
    from connectivity.cli import main

    national = tmp_path / "national"
    national.mkdir()
    per_area = [{"area": f"Area {k}", "folder": f"Area_{k}", "status": "ok"} for k in range(5)]
    (national / "summary.json").write_text(json.dumps({"scenario": "tiny", "areas": 5, "per_area": per_area,
                                                       "total": {"trench_km": 1.0}}))
    assert main(["export", str(national), "--format", "gpkg", "--out", str(tmp_path / "x.gpkg")]) == 2
    assert main(["compare", str(national), str(tiny_plan), "--out", str(tmp_path / "cmp")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line == f"connectivity: error: {national}: the national folder of `connectivity "
                                 "plan-areas`, not a plan folder; give one of its area folders "
                                 "(Area_0, Area_1, Area_2 and 2 more)" for line in err), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["national"]


def test_malformed_plan_file_and_unknown_operator(full_plan, tmp_path, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in full_plan.iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    (bad / "manholes.geojson").write_text('{"type": "FeatureCollection", "features": [')
    out = tmp_path / "o"
    assert main(["export", str(bad), "--format", "csv", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "manholes.geojson" in err and "not valid GeoJSON" in err and len(err.splitlines()) == 1
    assert not out.exists()
    assert main(["export", str(full_plan), "--operator", "ACME", "--format", "geojson", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "unknown operator 'ACME'" in err and "CAT, PEA, TOT" in err
    assert not out.exists()


def test_export_cli_end_to_end(tiny_plan, tmp_path):
    r = run_cli("export", tiny_plan, "--operator", "CAT", "--format", "geojson", "--out", tmp_path / "cat.geojson")
    assert r.returncode == 0, r.stderr
    data = json.loads((tmp_path / "cat.geojson").read_text())
    assert {f["properties"]["layer"] for f in data["features"]} == {
        "ducts", "trench", "manholes", "sites", "aerial_spans", "aerial_poles"}  # CAT has a duct network in the tiny plan; the tiny plan has poles and lines
    assert r.stdout.strip() == f"1 file(s) written -> {tmp_path / 'cat.geojson'}"


@pytest.mark.parametrize("fmt", FORMATS)
def test_plan_without_ducts(tmp_path, fmt):
    """A plan that connects nothing (one lone site) still exports: empty layers, the site."""
    d = tmp_path / "plan"
    d.mkdir()
    (d / "ducts.geojson").write_text(_fc([]))
    (d / "sites.geojson").write_text(_fc([({"site_id": "S0", "operator": "TOT", "kind": "hub", "status": "unreachable",
                                            "connected": False}, _point(98.96, 18.79))]))
    out = tmp_path / f"out.{fmt}"
    export(d, out, fmt=fmt, operator="TOT")
    back = read_back(out, fmt)
    assert len(back["sites"]) == 1
    assert fmt == "geojson" or (len(back["ducts"]) == 0 and len(back["trench"]) == 0)


def test_chiang_mai_exports(shared_data, tmp_path):
    """The real Chiang Mai plan: every operator's GeoJSON and the whole-plan GeoPackage read back complete."""
    from tests.conftest import SCENARIOS

    plan_dir = tmp_path / "plan"
    write_outputs(run(load_scenario(SCENARIOS / "chiang_mai_nimman.toml")), plan_dir)
    plan = read_plan(plan_dir)
    assert {"TOT", "CAT", "PEA"} <= set(plan.operators)
    files = export(plan_dir, tmp_path / "gj", fmt="geojson")
    n_sites = 0
    for f in files:
        layers = read_back(f, "geojson")
        n_sites += len(layers["sites"])
        op = f.stem
        if "ducts" in layers:
            assert set(layers["ducts"]["operator"]) == {op}
            assert all(op in t.split(",") for t in layers["trench"]["operators"])
    assert n_sites == len(plan.layers["sites"])
    gpkg = export(plan_dir, tmp_path / "cm.gpkg", fmt="gpkg")[0]
    back = read_back(gpkg, "gpkg")
    check_round_trip(plan.layers["trench"], back["trench"], layer="trench")
    check_round_trip(plan.layers["sites"], back["sites"], layer="sites")
    assert len(back["ducts"]) == int(plan.layers["trench"]["n_operators"].sum())


def test_unknown_fields_are_exported_with_a_warning(full_plan, tmp_path, caplog):
    d = tmp_path / "plan"
    d.mkdir()
    for f in full_plan.iterdir():
        (d / f.name).write_bytes(f.read_bytes())
    data = json.loads((d / "ducts.geojson").read_text())
    for i, feat in enumerate(data["features"]):
        feat["properties"]["crossings"] = i
    (d / "ducts.geojson").write_text(json.dumps(data))
    with caplog.at_level("WARNING"):
        out = export(d, tmp_path / "t.gpkg", fmt="gpkg", operator="TOT")[0]
    assert "crossings" in caplog.text and "not in the export schema" in caplog.text
    back = pyogrio.read_dataframe(out, layer="trench")
    assert back["crossings"].tolist() == [0, 1]


def test_manholes_chosen_by_their_operators_field(full_plan, tmp_path):
    d = tmp_path / "plan"
    d.mkdir()
    for f in full_plan.iterdir():
        (d / f.name).write_bytes(f.read_bytes())
    data = json.loads((d / "manholes.geojson").read_text())
    for feat, ops in zip(data["features"], ["TOT", "CAT,TOT", "PEA", "TOT"]):  # M3 lies off TOT's trench
        feat["properties"].update(operators=ops, node_id=3, edge_id=-1)
    (d / "manholes.geojson").write_text(json.dumps(data))
    layers = read_back(export(d, tmp_path / "tot.geojson", fmt="geojson", operator="TOT")[0], "geojson")
    assert sorted(layers["manholes"]["manhole_id"]) == ["M0", "M1", "M3"]


# ---------------------------------------------------------------- one naming function for files per operator
TRICKY = ["AIS/3BB", "AIS 3BB", "TOT", "tot", "ทีโอที", "กฟภ."]


def _tricky_plan(folder):
    """A hand-made plan folder whose operators collide after sanitising or differ only by case."""
    def feature(geom, **props):
        return {"type": "Feature", "properties": props, "geometry": geom}
    sites, ducts = [], []
    for i, op in enumerate(TRICKY):
        x = 98.96 + 0.001 * i
        sites.append(feature({"type": "Point", "coordinates": [x, 18.79]}, site_id=f"S{i}", operator=op, kind="office",
                             status="connected", connected=True))
        ducts.append(feature({"type": "LineString", "coordinates": [[x, 18.79], [x, 18.791]]}, segment_id=i + 1,
                             length_m=111.2, operators=op))
    folder.mkdir()
    for name, feats in (("sites", sites), ("ducts", ducts)):
        (folder / f"{name}.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": feats}),
                                                encoding="utf-8")
    return folder


def test_operator_file_names_distinct_deterministic_and_thai_kept():
    import unicodedata
    from connectivity.export import operator_file_names
    names = operator_file_names(TRICKY)
    assert len({n.casefold() for n in names.values()}) == len(TRICKY)
    assert names == operator_file_names(list(reversed(TRICKY)))  # order of the operators does not matter
    assert names["ทีโอที"] == unicodedata.normalize("NFC", "ทีโอที")  # vowel marks kept
    assert names["กฟภ."] == "กฟภ."
    assert names["AIS/3BB"].startswith("AIS_3BB-") and names["AIS 3BB"].startswith("AIS_3BB-")
    assert names["TOT"].startswith("TOT-") and names["tot"].startswith("tot-")
    assert all("/" not in n and " " not in n and not n.startswith(".") for n in names.values())
    assert operator_file_names(["../x", "..", ""]) == {"../x": ".._x".replace("..", "_..", 1), "..": "_..", "": "_"}


@pytest.mark.parametrize("fmt", ["geojson", "csv", "shp", "gpkg"])
def test_export_every_operator_gets_its_own_file(fmt, tmp_path):
    from connectivity.export import operator_file_names
    plan = _tricky_plan(tmp_path / "plan")
    out = tmp_path / ("all.gpkg" if fmt == "gpkg" else "out")
    written = export(plan, out, fmt=fmt)
    names = operator_file_names(TRICKY)
    if fmt == "gpkg":
        layers = {n for n, _ in pyogrio.list_layers(written[0])}
        for op in TRICKY:
            got = pyogrio.read_dataframe(written[0], layer=f"{names[op]}_sites")
            assert list(got["operator"]) == [op]
        assert len({n for n in layers if n.endswith("_sites")}) == len(TRICKY) and "sites" in layers
        return
    entries = sorted(p.name for p in out.iterdir())
    assert len(entries) == len(TRICKY)
    for op in TRICKY:
        if fmt == "geojson":
            data = json.loads((out / f"{names[op]}.geojson").read_text(encoding="utf-8"))
            assert data["operator"] == op
        else:
            assert (out / names[op]).is_dir()


# --------------------------------------------------------------------------- a full disk
def _disk_full_after(monkeypatch, n_writes):
    """pyogrio's writer and the text writer fail with a full disk after ``n_writes`` writes; the disk reads full."""
    import collections
    import errno
    import shutil
    from connectivity import export as export_mod

    Usage = collections.namedtuple("Usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: Usage(10 << 20, 10 << 20, 0))
    count = {"n": 0}
    real_frame, real_text = pyogrio.write_dataframe, export_mod.write_text

    def frame(*a, **k):
        count["n"] += 1
        if count["n"] > n_writes:  # what GDAL's GeoPackage driver raised on a full tmpfs
            raise pyogrio.errors.FeatureError("Could not add feature to layer at index 0: sqlite3_exec(INSERT INTO "
                                              "gpkg_contents ...) failed: no such table: gpkg_contents")
        return real_frame(*a, **k)

    def text(*a, **k):
        count["n"] += 1
        if count["n"] > n_writes:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_text(*a, **k)
    monkeypatch.setattr(pyogrio, "write_dataframe", frame)
    monkeypatch.setattr(export_mod, "write_text", text)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("n_writes", [0, 2])
def test_full_disk_is_one_line_and_leaves_nothing(fmt, n_writes, tiny_plan, tmp_path, monkeypatch, capsys):
    """A disk that fills up during an export: exit 2, one line naming --out and the full disk; no file
    (nor hidden temporary) is left, and a folder that already held other files keeps them only."""
    _disk_full_after(monkeypatch, n_writes)
    out = tmp_path / ("plan.gpkg" if fmt == "gpkg" else "exports")
    rc = main(["export", str(tiny_plan), "--format", fmt, "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err == f"connectivity: error: {out}: No space left on device", err
    assert list(tmp_path.iterdir()) == []
    if fmt != "gpkg":  # into a folder of other files
        out.mkdir()
        (out / "notes.txt").write_text("mine")
        assert main(["export", str(tiny_plan), "--format", fmt, "--out", str(out)]) == 2
        assert [p.name for p in out.rglob("*")] == ["notes.txt"]


def test_geojson_geometry_fast_path_writes_what_geos_writes():
    """Points and lines are written from their coordinate arrays; the numbers (and bytes) are
    those of ``shapely.to_geojson`` read back, and other geometries take the GEOS path."""
    import json

    import numpy as np
    import shapely

    from connectivity.output import COORD_DECIMALS, _geometry_dicts

    rng = np.random.default_rng(7)
    pts = [shapely.Point(*xy) for xy in rng.uniform(-180, 180, (20, 2))]
    lines = [shapely.LineString(rng.uniform(-90, 90, (int(n), 2))) for n in rng.integers(2, 9, 20)]
    for geoms in (pts + lines, lines, pts + [shapely.Polygon([(0, 0), (1, 0), (1, 1)])],
                  lines + [shapely.LineString([(0, 0, 1), (1, 1, 2)])], pts + [None]):
        geoms = np.array(geoms, dtype=object)
        rounded = shapely.transform(geoms, lambda c: np.round(c, COORD_DECIMALS))
        expected = [json.loads(shapely.to_geojson(g)) if g is not None else None for g in rounded]
        got = _geometry_dicts(rounded)
        assert got == expected
        assert json.dumps(got) == json.dumps(expected)


def test_compact_json_is_the_json_module_text_but_for_exponents():
    from connectivity.output import compact_json

    data = {"name": "ถนน <Nimman> & co", "n": [1, -2, 3.25, 0.1, 123456789.0625, None, True], "x": {"y": []}}
    assert compact_json(data) == json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    assert compact_json([1.5e-7, float("nan")]) == "[1.5e-7,null]"


@pytest.mark.parametrize("rows", [0, 1, 7, 9, 10])
def test_geojson_layer_is_written_in_parts_as_one_collection(tmp_path, monkeypatch, rows):
    """write_geojson turns a few features at a time into text (a 300k-edge road layer is never
    whole in memory as objects and text); the file is byte for byte the whole collection's
    compact JSON, whatever the number of parts, and a crash midway leaves no file."""
    import geopandas as gpd
    import shapely

    from connectivity import output

    monkeypatch.setattr(output, "WRITE_CHUNK_FEATURES", 3)
    frame = gpd.GeoDataFrame({"segment_id": range(rows), "name": [f"ถนน {i}" for i in range(rows)],
                              "cost": [i / 3 for i in range(rows)]},
                             geometry=[shapely.LineString([(500_000 + 10 * i, 2_000_000), (500_010 + 10 * i, 2_000_050)])
                                       for i in range(rows)], crs="EPSG:32647")
    output.write_geojson(frame, tmp_path / "roads.geojson")
    text = (tmp_path / "roads.geojson").read_text(encoding="utf-8")
    assert text == output.compact_json(output.geojson_dict(frame, name="roads")) + "\n"
    assert len(json.loads(text)["features"]) == rows

    def broken(part):
        raise RuntimeError("disk gone")

    if rows > 3:
        calls = iter(range(100))
        real = output._features
        monkeypatch.setattr(output, "_features", lambda g: real(g) if next(calls) == 0 else broken(g))
        with pytest.raises(RuntimeError):
            output.write_geojson(frame, tmp_path / "other.geojson")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["roads.geojson"]
