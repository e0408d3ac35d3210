"""Write the bad-input corpus of tests/test_robustness.py into this folder (deterministic).

Run ``python tests/bad_inputs/make_corpus.py`` after changing it; the files are committed.
Every file is small; each holds one problem (see CASES in tests/test_robustness.py).
"""
from __future__ import annotations

import io
import json
import zipfile
import zlib
import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent

# The tiny fixture's street grid (tests/fixtures/tiny.osm) as GeoJSON road lines.
XS, YS = (98.9600, 98.9610, 98.9620), (18.7900, 18.7910, 18.7920)
GRID = [[[x, y] for x in XS] for y in YS] + [[[x, y] for y in YS] for x in XS]
SCENARIO_HEAD = 'operators = "../fixtures/operators.toml"\n'


def fc(features: list[dict]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": features}, indent=1) + "\n"


def line(coords, **props) -> dict:
    return {"type": "Feature", "properties": {"highway": "residential", **props},
            "geometry": {"type": "LineString", "coordinates": coords}}


def png_bytes() -> bytes:
    """A valid 1 x 1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("tiny.osm", date_time=(2024, 1, 1, 0, 0, 0))
        z.writestr(info, (HERE.parent / "fixtures" / "tiny.osm").read_text())
    return buf.getvalue()


def _costs_with(section: str, key: str, line: str, *, comments: bool = True) -> str:
    """The default cost model with the line of ``key`` in ``section`` replaced by ``line``
    (without its comment lines when not ``comments``: a corpus file stays under 10 kB)."""
    default = HERE.parent.parent / "connectivity" / "data" / "costs" / "default.toml"
    if default.is_file():
        text = default.read_text(encoding="utf-8")
    else:  # before the cost model is merged: keep the committed copy
        text = (HERE / "costs_negative.toml").read_text(encoding="utf-8")
    out, current = [], ""
    for ln in text.splitlines():
        if ln.startswith("["):
            current = ln.strip()
        if current == section and ln.startswith(f"{key} ="):
            ln = line
        if comments or not ln.lstrip().startswith("#"):
            out.append(ln)
    return "\n".join(out) + "\n"


def _negative_costs() -> str:
    return _costs_with("[open_cut]", "default", "default = -2800.0    # any other class (negative: the bad input)",
                       comments=False)


def scenario(inputs: str = 'osm = "../fixtures/tiny.osm"\n', options: str = "", top: str = "") -> str:
    return f'{top}name = "bad"\n\n[inputs]\n{inputs}{SCENARIO_HEAD}\n[options]\n{options}'


FILES: dict[str, str | bytes] = {
    # ---- a good base for the roads and sites cases
    "good_roads.geojson": fc([line(c) for c in GRID]),
    "roads_scenario.toml": scenario('roads = "good_roads.geojson"\n'),
    # ---- scenario TOML
    "malformed.toml": 'name = "bad"\n[inputs\nosm = "../fixtures/tiny.osm"\n',
    "unknown_key.toml": scenario(top='colour = "red"\n'),
    "unknown_option.toml": scenario(options="max_site_dist = 100.0\n"),
    "unknown_input.toml": scenario('osm = "../fixtures/tiny.osm"\nstreets = "x.geojson"\n'),
    "absurd_distance.toml": scenario(options="max_site_distance_m = 1e12\n"),
    "negative_distance.toml": scenario(options="max_site_distance_m = -50.0\n"),
    "string_distance.toml": scenario(options='max_site_distance_m = "far"\n'),
    "geographic_crs.toml": scenario(options='crs = "EPSG:4326"\n'),
    "unknown_crs.toml": scenario(options='crs = "EPSG:999999"\n'),
    "no_roads_input.toml": scenario('sites = "../fixtures/sites.csv"\n'),
    "bad_bbox.toml": scenario('osm = "../fixtures/tiny.osm"\nbbox = [98.97, 18.79, 98.96, 18.80]\n'),
    "hub_unknown_operator.toml": scenario() + '\n[hubs]\nACME = [98.961, 18.791]\n',
    "hubs_not_table.toml": "hubs = 5\n" + scenario(),
    "hub_out_of_range.toml": scenario() + "\n[hubs]\nTOT = [999.0, 999.0]\n",
    "operators_province_string.toml": '[[operators]]\nname = "TOT"\nkind = "telecom"\nprovinces = "Chiang Mai"\n',
    "scenario_operators_province_string.toml": scenario().replace("../fixtures/operators.toml", "operators_province_string.toml"),
    "missing_sites_file.toml": scenario('osm = "../fixtures/tiny.osm"\nsites = "no_such_sites.csv"\n'),
    "inputs_crs_unknown.toml": scenario('osm = "../fixtures/tiny.osm"\nsites = "../fixtures/sites.csv"\ncrs = "EPSG:999999"\n'),
    "path_nul.toml": scenario('osm = "../fixtures/ti\\u0000ny.osm"\n'),  # a TOML escape: a NUL in the path
    "path_unknown_user.toml": scenario('osm = "~no_such_user_0/tiny.osm"\n'),
    "hub_booleans.toml": scenario() + "\n[hubs]\nTOT = [true, false]\n",
    "phase_end_table.toml": scenario() + '\n[[phases]]\nend = { year = 2027 }\n',
    "operators_not_tables.toml": "operators = [1, 2]\n",
    "scenario_operators_not_tables.toml": scenario().replace("../fixtures/operators.toml", "operators_not_tables.toml"),
    "png.toml": png_bytes(),
    "utf16.toml": scenario().encode("utf-16"),  # UTF-16 with its byte order mark (a UTF-8 BOM is read cleanly)
    # ---- operators TOML
    "operators_unknown_kind.toml": '[[operators]]\nname = "TOT"\nkind = "water"\n',
    "operators_duplicate.toml": '[[operators]]\nname = "TOT"\nkind = "telecom"\n\n[[operators]]\nname = "TOT"\nkind = "power"\n',
    "operators_absurd_ducts.toml": '[[operators]]\nname = "TOT"\nkind = "telecom"\nducts = 100000\n',
    "operators_unknown_key.toml": '[[operators]]\nname = "TOT"\nkind = "telecom"\ncolour = "blue"\n',
    "operators_case.toml": '[[operators]]\nname = "TOT"\nkind = "telecom"\n\n[[operators]]\nname = "tot"\nkind = "telecom"\n',
    "scenario_operators_case.toml": scenario().replace("../fixtures/operators.toml", "operators_case.toml"),
    "scenario_operators_unknown_kind.toml": scenario().replace("../fixtures/operators.toml", "operators_unknown_kind.toml"),
    "scenario_operators_duplicate.toml": scenario().replace("../fixtures/operators.toml", "operators_duplicate.toml"),
    "scenario_operators_absurd.toml": scenario().replace("../fixtures/operators.toml", "operators_absurd_ducts.toml"),
    "scenario_operators_unknown_key.toml": scenario().replace("../fixtures/operators.toml", "operators_unknown_key.toml"),
    # ---- cost model (read once the cost model lands on main)
    # the default cost model with one negative price (taken from data/costs/default.toml when present)
    "costs_negative.toml": _negative_costs(),
    "costs_missing.toml": '[currency]\ncode = "THB"\nusd_to_thb = 35.0\nsource = "test"\ndate = "2025-01-01"\n',
    "scenario_costs_negative.toml": scenario('osm = "../fixtures/tiny.osm"\ncost_model = "costs_negative.toml"\n'),
    "scenario_costs_missing.toml": scenario('osm = "../fixtures/tiny.osm"\ncost_model = "costs_missing.toml"\n'),
    "costs_absurd_spacing.toml": _costs_with("[manhole]", "spacing_m", "spacing_m = 0.05   # a chamber every 5 cm (the bad input)",
                                            comments=False),
    "costs_overflow.toml": _costs_with("[open_cut]", "default", "default = 1e308   # any other class (the bad input)",
                                      comments=False),
    "costs_lanes_zero.toml": _costs_with("[lanes]", "reference_lanes", "reference_lanes = 0.0   # (the bad input)", comments=False),
    "costs_date_number.toml": _costs_with("[currency]", "date", "date = 2025   # a number (the bad input)", comments=False),
    "scenario_costs_lanes_zero.toml": scenario('osm = "../fixtures/tiny.osm"\ncost_model = "costs_lanes_zero.toml"\n'),
    "scenario_costs_date_number.toml": scenario('osm = "../fixtures/tiny.osm"\ncost_model = "costs_date_number.toml"\n'),
    "scenario_costs_absurd_spacing.toml": scenario('osm = "../fixtures/tiny.osm"\ncost_model = "costs_absurd_spacing.toml"\n'),
    "scenario_costs_overflow.toml": scenario('osm = "../fixtures/tiny.osm"\ncost_model = "costs_overflow.toml"\n'),
    # ---- OSM files
    "zip.osm": zip_bytes(),
    "png.osm": png_bytes(),
    "truncated.osm": '<?xml version="1.0"?>\n<osm version="0.6">\n  <node id="1" lat="18.79" lon="98.96"/>\n  <way id="1">\n    <nd ref="1"/>\n',
    "no_roads.osm": '<?xml version="1.0"?>\n<osm version="0.6">\n  <node id="1" lat="18.79" lon="98.96"><tag k="amenity" v="school"/></node>\n</osm>\n',
    "empty.osm": "",
    # two streets in Chiang Mai and one stray way at (1, 0): it once moved the automatic UTM zone of the whole area
    "roads_stray_way.osm": ('<?xml version="1.0"?>\n<osm version="0.6">\n'
                            + "".join(f'  <node id="{i}" lat="{y}" lon="{x}"/>\n' for i, (x, y) in
                                      enumerate([(98.96, 18.79), (98.961, 18.79), (98.961, 18.791), (1.0, 0.0), (1.0, 0.001)], 1))
                            + '  <way id="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/></way>\n'
                            '  <way id="99"><nd ref="4"/><nd ref="5"/><tag k="highway" v="residential"/></way>\n</osm>\n'),
    "wrong_utm_zone.toml": scenario(options='crs = "EPSG:32601"\n'),   # the UTM zone of Samoa for Chiang Mai
    "hub_far_from_zone.toml": scenario() + "\n[hubs]\nTOT = [1.0, 0.0]\n",
    "nan_coordinate.osm": ('<?xml version="1.0"?>\n<osm version="0.6">\n  <node id="1" lat="18.79" lon="98.96"/>\n'
                           '  <node id="2" lat="nan" lon="98.961"/>\n  <way id="1"><nd ref="1"/><nd ref="2"/>'
                           '<tag k="highway" v="residential"/></way>\n</osm>\n'),
    # a node at lat 95 (a corrupt file): was reported as a node "missing from the file", the way skipped
    "osm_lat_out_of_range.osm": ('<?xml version="1.0"?>\n<osm version="0.6">\n  <node id="1" lat="18.79" lon="98.96"/>\n'
                                 '  <node id="2" lat="95.0" lon="98.961"/>\n  <way id="7"><nd ref="1"/><nd ref="2"/>'
                                 '<tag k="highway" v="residential"/></way>\n</osm>\n'),
    # ---- road line files
    "roads_truncated.geojson": fc([line(c) for c in GRID])[:200],
    "roads_empty.geojson": fc([]),
    "roads_points.geojson": fc([{"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [98.96, 18.79]}}]),
    "roads_null_geometry.geojson": fc([line(c) for c in GRID[:2]] + [{"type": "Feature", "properties": {}, "geometry": None}]),
    "roads_one_point_line.geojson": fc([line(c) for c in GRID[:2]] + [line([[98.96, 18.79]])]),
    "roads_swapped_latlon.geojson": fc([line([[y, x] for x, y in c]) for c in GRID]),
    "roads_in_metres.geojson": fc([line([[x * 1000, y * 1000] for x, y in c]) for c in GRID]),
    # degrees in a file whose (pre-RFC 7946) crs member says UTM: the roads landed near the equator, and the
    # error blamed the sites file ("none of the sites can be connected")
    "roads_degrees_in_utm.geojson": json.dumps({"type": "FeatureCollection", "crs": {"type": "name", "properties": {
        "name": "urn:ogc:def:crs:EPSG::32647"}}, "features": [line(c) for c in GRID]}, indent=1) + "\n",
    "roads_far_point.geojson": fc([line(c) for c in GRID] + [line([[98.96, 18.79], [-81.0, 0.0]])]),  # lon typo: the antipode of the UTM zone
    "roads_nan.geojson": fc([line(c) for c in GRID[:2]] + [line([[98.96, 18.79], [float("nan"), 18.79]])]),
    "roads_png.geojson": png_bytes(),
    "roads_not_json.geojson": "highway,name\nresidential,Soi 1\n",
    "roads_not_sqlite.gpkg": b"SQLite format 3\x00" + bytes(240),  # a GeoPackage's magic, then nothing: GDAL warns, then fails
    # ---- site files (for tests/fixtures/tiny.toml)
    "sites_duplicate_ids.csv": "site_id,operator,kind,lon,lat\nS1,TOT,office,98.9615,18.7904\nS2,CAT,school,98.9605,18.7915\nS1,PEA,hospital,98.9615,18.7918\n",
    # UTF-16, ';' as delimiter, `Site_ID` header: read as any CSV, then the duplicate is found
    "sites_utf16_semicolon_duplicate.csv": "Site_ID;Operator;Kind;Lon;Lat\nS1;TOT;office;98.9615;18.7904\n"
                                           "S1;CAT;school;98.9605;18.7915\n".encode("utf-16"),
    "sites_unknown_operator.csv": "site_id,operator,kind,lon,lat\nS1,TOT,office,98.9615,18.7904\nS2,ACME,school,98.9605,18.7915\n",
    "sites_empty_operator.csv": "site_id,operator,kind,lon,lat\nS1,TOT,office,98.9615,18.7904\nS2,,school,98.9605,18.7915\n",
    "sites_operator_number.geojson": fc([{"type": "Feature", "properties": {"site_id": "S1", "operator": 5},
                                          "geometry": {"type": "Point", "coordinates": [98.9615, 18.7904]}}]),
    "sites_far_from_zone.csv": "site_id,operator,kind,lon,lat\nS1,TOT,office,98.9615,18.7904\nS2,TOT,school,98.9605,18.7915\n"
                               "S3,TOT,school,1.0,0.0\n",
    "sites_no_coordinates.csv": "site_id,operator,kind\nS1,TOT,office\n",
    "sites_non_numeric.csv": "site_id,operator,kind,lon,lat\nS1,TOT,office,98.9615,north\n",
    "sites_swapped_latlon.csv": "site_id,operator,kind,lon,lat\nS1,TOT,office,18.7904,98.9615\nS2,CAT,school,18.7915,98.9605\n",
    "sites_absurd_coordinates.csv": "site_id,operator,kind,lon,lat\nS1,TOT,office,1e308,18.7904\n",
    "sites_missing_operator.csv": "site_id,kind,lon,lat\nS1,office,98.9615,18.7904\n",
    "sites_header_only.csv": "site_id,operator,kind,lon,lat\n",
    "sites_empty.csv": "",
    "sites_empty_id.csv": "site_id,operator,kind,lon,lat\nS1,TOT,office,98.9615,18.7904\n,CAT,school,98.9605,18.7915\n",
    "sites_xy_without_crs.csv": "site_id,operator,kind,x,y\nS1,TOT,office,500000,2077000\n",
    "sites_xy_degrees.csv": "site_id,operator,kind,x,y,crs\nS1,TOT,office,98.9615,18.7904,EPSG:32647\n"
                            "S2,TOT,school,98.9605,18.7915,EPSG:32647\n",
    "sites_not_text.csv": b"\xff\xfe\x00\x01\x89PNG\x00\x00\xde\xad\xbe\xef" * 8,
    "sites_ragged.csv": 'site_id,operator,kind,lon,lat\nS1,TOT,office,98.9615,18.7904\nS2,"CAT,school,98.9605,18.7915\n',
    "sites_polygons.geojson": fc([{"type": "Feature", "properties": {"site_id": "S1", "operator": "TOT"},
                                   "geometry": {"type": "Polygon", "coordinates": [[[98.961, 18.79], [98.962, 18.79],
                                                                                     [98.962, 18.791], [98.961, 18.79]]]}}]),
    "sites_infinite.geojson": fc([{"type": "Feature", "properties": {"site_id": f"S{i}", "operator": "TOT"},
                                   "geometry": {"type": "Point", "coordinates": xy}}
                                  for i, xy in enumerate([[98.9615, 18.7904], [98.9605, float("inf")]], start=1)]),
    "sites_bowtie.geojson": fc([{"type": "Feature", "properties": {"site_id": "S1", "operator": "TOT"},
                                 "geometry": {"type": "Polygon", "coordinates": [[[98.961, 18.79], [98.962, 18.791],
                                                                                   [98.962, 18.79], [98.961, 18.791],
                                                                                   [98.961, 18.79]]]}}]),
    "sites_outside_road_area.csv": "site_id,operator,kind,lon,lat\nS1,TOT,office,99.10,18.90\nS2,CAT,school,99.11,18.91\n",
    "roads_two_islands.geojson": fc([line(c) for c in GRID] + [line([[98.9700, 18.7900], [98.9720, 18.7900]])]),
    "two_islands.toml": scenario('roads = "roads_two_islands.geojson"\nsites = "sites_two_islands.csv"\n'),
    "sites_two_islands.csv": "site_id,operator,kind,lon,lat\nS1,TOT,office,98.9605,18.7901\nS2,TOT,school,98.9710,18.7901\n",
    # ---- Steiner instance files (`connectivity steiner`)
    "steiner_disconnected.stp": "SECTION Graph\nNodes 4\nEdges 2\nE 1 2 1\nE 3 4 1\nEND\n\n"
                                "SECTION Terminals\nTerminals 2\nT 1\nT 4\nEND\n\nEOF\n",
    "steiner_overflow.stp": "SECTION Graph\nNodes 3\nEdges 2\nE 1 2 1e308\nE 2 3 1e308\nEND\n\n"
                            "SECTION Terminals\nTerminals 2\nT 1\nT 3\nEND\n\nEOF\n",
    "steiner_int64_nodes.stp": "SECTION Graph\nNodes 99999999999999999999999\nEdges 1\nE 1 2 1\nEND\n\n"
                               "SECTION Terminals\nTerminals 2\nT 1\nT 2\nEND\n\nEOF\n",
    "steiner_huge_nodes.gr": "SECTION Graph\nNodes 5000000000\nEdges 1\nE 1 2 1\nEND\n\n"
                             "SECTION Terminals\nTerminals 2\nT 1\nT 2\nEND\n\nEOF\n",
    "buildings_lines.geojson": fc([line(c, building="yes") for c in GRID[:2]]),   # a road file given as --buildings
    "sites_xy_two_crs.csv": "site_id,operator,kind,x,y,crs\nS1,TOT,office,496000,2077800,EPSG:32647\n"
                            "S2,TOT,school,-135000,2084000,EPSG:32648\n",   # the same street in two UTM zones
    "sites_xy_nowhere.csv": "site_id,operator,kind,x,y,crs\nS1,TOT,office,5e12,2077000,EPSG:32647\n",
    # ---- partner records of corridor mode
    "poles_xy_nowhere.csv": "id,owner,cables,x,y\nP1,PEA,TOT:1,5e12,2077000\n",
    "corridor_poles_nowhere.toml": scenario(top='province = "Chiang Mai"\n') + '\n[corridors]\nbbox = [98.959, 18.789, 98.963, 18.793]\n'
                                   'streets = "all"\n\n[corridors.poles]\nfile = "poles_xy_nowhere.csv"\ncrs = "EPSG:32647"\n',
    "ducts_free_huge.geojson": fc([{"type": "Feature", "properties": {"owner": "TOT", "free": 1e300},
                                    "geometry": {"type": "LineString", "coordinates": [[98.96, 18.79], [98.961, 18.79]]}}]),
    "corridor_free_huge.toml": scenario(top='province = "Chiang Mai"\n') + '\n[corridors]\nbbox = [98.959, 18.789, 98.963, 18.793]\n'
                               'streets = "all"\n\n[corridors.existing_ducts]\nfile = "ducts_free_huge.geojson"\n',
    # ---- areas files (`connectivity plan-areas`)
    "areas_long_name.geojson": fc([{"type": "Feature", "properties": {"name": "Tambon " + "x" * 250},
                                    "geometry": {"type": "Polygon", "coordinates": [[[98.959, 18.789], [98.963, 18.789],
                                                                                     [98.963, 18.793], [98.959, 18.789]]]}}]),
    "sites_unreachable.csv": "site_id,operator,kind,lon,lat\nS1,TOT,office,98.9615,18.7904\n",
}


GOOD_SITES = fc([{"type": "Feature", "properties": {"site_id": "S1", "operator": "TOT", "kind": "hub", "status": "connected",
                                                     "connected": True}, "geometry": {"type": "Point", "coordinates": [98.96, 18.79]}}])
GOOD_DUCTS = fc([{"type": "Feature", "properties": {"segment_id": 1, "length_m": 105.3, "operators": "TOT"},
                  "geometry": {"type": "LineString", "coordinates": [[98.96, 18.79], [98.961, 18.79]]}}])
# Plan folders for `connectivity export` (each a folder of files).
PLANS: dict[str, dict[str, str | bytes]] = {
    "plan_png_ducts": {"ducts.geojson": png_bytes(), "sites.geojson": GOOD_SITES},
    "plan_missing_sites": {"ducts.geojson": GOOD_DUCTS},
    "plan_swapped_latlon": {"ducts.geojson": GOOD_DUCTS.replace("98.96", "X").replace("18.79", "98.96").replace("X", "18.79"),
                            "sites.geojson": GOOD_SITES},
    "plan_points_as_ducts": {"ducts.geojson": fc([{"type": "Feature", "properties": {"segment_id": 1, "length_m": 1.0, "operators": "TOT"},
                                                   "geometry": {"type": "Point", "coordinates": [98.96, 18.79]}}]),
                             "sites.geojson": GOOD_SITES},
    "plan_text_segment_id": {"ducts.geojson": GOOD_DUCTS.replace('"segment_id": 1', '"segment_id": "one"'),
                             "sites.geojson": GOOD_SITES},
    "plan_good": {"ducts.geojson": GOOD_DUCTS, "sites.geojson": GOOD_SITES},  # for bad arguments
    "plan_bad_summary": {"ducts.geojson": GOOD_DUCTS, "sites.geojson": GOOD_SITES, "summary.json": "{\"scenario\": "},
    "plan_summary_list": {"ducts.geojson": GOOD_DUCTS, "sites.geojson": GOOD_SITES, "summary.json": "[1, 2]\n"},
    "plan_summary_empty": {"ducts.geojson": GOOD_DUCTS, "sites.geojson": GOOD_SITES, "summary.json": "{}\n"},
    "plan_summary_text_figure": {"ducts.geojson": GOOD_DUCTS, "sites.geojson": GOOD_SITES,
                                 "summary.json": '{"scenario": "bad", "total_cost": 1000.0, "trench_length_m": "far"}\n'},
    "plan_summary_text_share": {"ducts.geojson": GOOD_DUCTS, "sites.geojson": GOOD_SITES,
                                "summary.json": '{"scenario": "bad", "total_cost": 1000.0, "allocation": {"shapley": {"TOT": "x"}}}\n'},
    "plan_summary_range_list": {"ducts.geojson": GOOD_DUCTS, "sites.geojson": GOOD_SITES,
                                "summary.json": '{"scenario": "bad", "total_cost": 1000.0, "cost_range": {"total": [1, 2]}}\n'},
    "plan_summary_rent_number": {"ducts.geojson": GOOD_DUCTS, "sites.geojson": GOOD_SITES,
                                 "summary.json": '{"scenario": "bad", "total_cost": 1000.0, "rent_vs_build": {"TOT": 5}}\n'},
    "plan_summary_coverage_text": {"ducts.geojson": GOOD_DUCTS, "sites.geojson": GOOD_SITES,
                                   "summary.json": '{"scenario": "bad", "total_cost": 1000.0, "coverage": {"buildings_passed_pct": "12%"}}\n'},
}


def main() -> None:
    (HERE / "folder.osm").mkdir(exist_ok=True)  # a folder named like a file
    (HERE / "folder.osm" / ".keep").write_text("")
    for folder, files in PLANS.items():
        (HERE / folder).mkdir(exist_ok=True)
        for name, content in files.items():
            path = HERE / folder / name
            path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content, encoding="utf-8")
    for name, content in FILES.items():
        path = HERE / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    print(f"wrote {len(FILES)} files to {HERE}")


if __name__ == "__main__":
    main()
