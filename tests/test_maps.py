"""Tests of connectivity.maps that need no browser (page content, encoding, saving)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from connectivity import maps
from connectivity.coverage import analyse
from connectivity.errors import CRSError, InputDataError
from maps_fixtures import OPERATORS, grid_plan

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def plan():
    return grid_plan(40)


@pytest.fixture(scope="module")
def cost_html(plan):
    m = maps.cost_map(plan["ducts"], plan["manholes"], plan["sites"], operators=list(OPERATORS))
    return m.get_root().render()


@pytest.fixture(scope="module")
def coverage_html(plan):
    cov = analyse(plan["ducts"], plan["buildings"], plan["sites"])
    m = maps.coverage_map(cov.hexagons, cov.buildings, plan["ducts"], plan["sites"])
    return m.get_root().render()


def _external_refs(page: str) -> list[str]:
    """src/href attributes and CSS url()s that point off the page."""
    refs = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)\s*=\s*["\']([^"\']+)', page)
    refs += re.findall(r"url\((?!data:|#)([^)]+)\)", page)
    return refs


def _embedded(page: str, key: str) -> dict:
    m = re.search(r'<script type="application/json" id="connectivity-data-%s">(.*?)</script>' % key, page)
    assert m, f"no {key} data in page"
    return json.loads(m.group(1))


def _decode(d: dict) -> list:
    """Python port of the page's decoder for line datasets: list of [(lon, lat), ...]."""
    c, x, y, k = d["c"], d["o"][0], d["o"][1], 0
    out = []
    for count in d["cc"]:
        part = []
        for _ in range(count):
            x += c[k]
            y += c[k + 1]
            k += 2
            part.append((x / 1e6, y / 1e6))
        out.append(part)
    return out


@pytest.mark.parametrize("page_fixture", ["cost_html", "coverage_html"])
def test_page_is_self_contained(page_fixture, request):
    page = request.getfixturevalue(page_fixture)
    assert _external_refs(page) == []
    assert "cdn." not in page and "code.jquery.com" not in page
    # Leaflet and jQuery inlined byte for byte (nothing eaten by Jinja)
    import xstatic.pkg.jquery as xj
    import xstatic.pkg.leaflet as xl

    assert (Path(xl.BASE_DIR) / "leaflet.js").read_text() in page
    assert (Path(xj.BASE_DIR) / "jquery.min.js").read_text() in page
    assert "L.Icon.Default.imagePath" in page
    assert maps._js(maps.OSM_ATTRIBUTION) in page  # added to the attribution control
    assert "window.__mapReady = true" in page


def test_cost_map_layers_and_data(plan, cost_html):
    ducts = plan["ducts"]
    data = _embedded(cost_html, "ducts")
    assert data["n"] == len(ducts)
    assert data["cols"]["segment_id"]["v"] == ducts["segment_id"].tolist()
    ops_table = data["cols"]["operators"]["t"]
    assert [ops_table[i] for i in data["cols"]["operators"]["v"]] == ducts["operators"].tolist()
    for op in OPERATORS:
        assert f'"key":"ducts:{op}"' in cost_html
        assert f"{op} ducts" in cost_html
    assert '"key":"ducts:other"' not in cost_html  # every segment carries a listed operator
    for key in ("manholes", "sites:connected", "sites:not_connected"):
        assert f'"key":"{key}"' in cost_html
    assert "L.control.layers" in cost_html and "L.control.scale" in cost_html
    assert "Duct cost per metre" in cost_html
    assert "fitBounds" in cost_html and '"preferCanvas": true' in cost_html


def test_coordinates_round_trip_to_six_decimals(plan, cost_html):
    data = _embedded(cost_html, "ducts")
    parts = _decode(data)
    expected = plan["ducts"].geometry.simplify(1.0).to_crs(4326)
    assert len(parts) == len(expected)
    for part, geom in zip(parts, expected):
        np.testing.assert_allclose(np.array(part), shapely.get_coordinates(geom), atol=0.6e-6)


def test_unlisted_operators_go_to_other_layer(plan):
    ducts = plan["ducts"].copy()
    ducts.loc[0, "operators"] = "NT"
    ducts.loc[1, "operators"] = ""
    page = maps.cost_map(ducts, plan["manholes"], plan["sites"], operators={"TOT": "#ff0000", "CAT": None}).get_root().render()
    assert '"filter":{"col":"operators","none":["TOT","CAT"]}' in page
    assert "Other ducts" in page and "PEA ducts" not in page
    assert "#ff0000" in page


def test_phased_plan_gets_a_phase_layer_and_legend(plan):
    from connectivity import phasing

    unphased = plan["ducts"].drop(columns="phase", errors="ignore")
    assert '"key":"ducts:phase"' not in maps.cost_map(unphased, plan["manholes"], plan["sites"],
                                                      operators=list(OPERATORS)).get_root().render()
    ducts = plan["ducts"].assign(phase=[1 if i % 3 else 2 for i in range(len(plan["ducts"]))])
    page = maps.cost_map(ducts, plan["manholes"], plan["sites"], operators=list(OPERATORS)).get_root().render()
    assert '"key":"ducts:phase"' in page and "Ducts by phase" in page
    colours = _embedded(page, "ducts")["cols"]["phase_colour"]
    assert [colours["t"][i] for i in colours["v"]] == maps.phase_colours(ducts["phase"].tolist())
    assert "Phase 1" in page and "Phase 2" in page


def test_coverage_map_layers(plan, coverage_html):
    for key in ("hexagons", "buildings:passed", "buildings:not_passed", "ducts", "sites:connected"):
        assert f'"key":"{key}"' in coverage_html
    assert "Buildings passed per hexagon" in coverage_html
    hexes = _embedded(coverage_html, "hexagons")
    assert hexes["kind"] == "polygon" and hexes["n"] > 0
    b = _embedded(coverage_html, "buildings")
    assert b["n"] == len(plan["buildings"])


def test_user_text_is_escaped_and_not_run_through_jinja(plan):
    sites = plan["sites"].copy()
    sites["name"] = "{{ broken }} {# x #} </script><b>"
    ducts = plan["ducts"].copy()
    ducts["trench_type"] = "{% if %}"
    m = maps.cost_map(ducts, plan["manholes"], sites, operators=list(OPERATORS), title="<i>T</i> {{x}}")
    page = m.get_root().render()
    assert "</script><b>" not in page
    assert "{{ broken }}" in page and "{% if %}" in page  # kept verbatim inside JSON strings
    assert "\\u0026lt;i\\u0026gt;T" in page and "<i>T" not in page


def test_tiles_are_optional(plan):
    off = maps.cost_map(plan["ducts"], plan["manholes"], plan["sites"], operators=["TOT"]).get_root().render()
    on = maps.cost_map(plan["ducts"], plan["manholes"], plan["sites"], operators=["TOT"], tiles=True).get_root().render()
    assert "tile.openstreetmap.org" not in off and "L.tileLayer" not in off
    assert "tile.openstreetmap.org" in on


def test_folium_class_defaults_are_untouched(plan):
    import folium

    maps.cost_map(plan["ducts"], plan["manholes"], plan["sites"], operators=["TOT"])
    assert any("leaflet" in url for _, url in folium.Map.default_js)
    plain = folium.Map().get_root().render()
    assert "cdn.jsdelivr.net/npm/leaflet" in plain


def test_save_map_is_atomic_and_replaces(tmp_path, plan):
    m = maps.cost_map(plan["ducts"], plan["manholes"], plan["sites"], operators=list(OPERATORS))
    target = tmp_path / "cost_map.html"
    target.write_text("old")
    out = maps.save_map(m, target)
    assert out == target
    text = target.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "old" != text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cost_map.html"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_save_map_leaves_no_temp_file_on_error(tmp_path, plan):
    class Broken:
        def get_root(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        maps.save_map(Broken(), tmp_path / "x.html")
    assert list(tmp_path.iterdir()) == []


def test_geographic_input_is_accepted(plan):
    wgs = {k: v.to_crs(4326) for k, v in plan.items()}
    page = maps.cost_map(wgs["ducts"], wgs["manholes"], wgs["sites"], operators=list(OPERATORS)).get_root().render()
    assert _embedded(page, "ducts")["n"] == len(plan["ducts"])


def test_errors(plan):
    with pytest.raises(CRSError, match="ducts"):
        maps.cost_map(plan["ducts"].set_crs(None, allow_override=True), plan["manholes"], plan["sites"],
                      operators=["TOT"])
    with pytest.raises(InputDataError, match="operators"):
        maps.cost_map(plan["ducts"].drop(columns="operators"), plan["manholes"], plan["sites"], operators=["TOT"])
    with pytest.raises(InputDataError, match="reason"):
        maps.cost_map(plan["ducts"], plan["manholes"].drop(columns="reason"), plan["sites"], operators=["TOT"])
    with pytest.raises(InputDataError, match="passed"):
        cov = analyse(plan["ducts"], plan["buildings"], plan["sites"])
        maps.coverage_map(cov.hexagons, plan["buildings"], plan["ducts"], plan["sites"])


def test_empty_layers_render(plan):
    empty = plan["manholes"].iloc[:0]
    no_sites = plan["sites"].iloc[:0]
    page = maps.cost_map(plan["ducts"], empty, no_sites, operators=list(OPERATORS)).get_root().render()
    assert _embedded(page, "manholes")["n"] == 0
    cov = analyse(plan["ducts"], gpd.GeoDataFrame(geometry=[], crs=plan["ducts"].crs), plan["sites"])
    page = maps.coverage_map(cov.hexagons, cov.buildings, plan["ducts"], plan["sites"]).get_root().render()
    assert _embedded(page, "buildings")["n"] == 0


def test_importing_maps_does_not_import_folium():
    code = "import sys, connectivity.maps; print('folium' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    assert out.stdout.strip() == "False"


def test_cost_map_without_costs_or_manholes(plan):
    """The pipeline before costs and manholes exist: one colour, tooltips without the missing fields."""
    ducts = plan["ducts"][["segment_id", "length_m", "operators", "geometry"]]
    page = maps.cost_map(ducts, None, plan["sites"], operators=list(OPERATORS)).get_root().render()
    data = _embedded(page, "ducts")
    assert set(data["cols"]["colour"]["t"][i] for i in data["cols"]["colour"]["v"]) == {maps.UNKNOWN_COST_COLOUR}
    assert "trench_type" not in data["cols"] and all(v is None for v in data["cols"]["cost_thb"]["v"])
    assert "no costs given" in page
    assert _embedded(page, "manholes")["n"] == 0


def test_site_colours_follow_operators_in_both_maps(plan):
    colours = {"TOT": "#123456", "CAT": "#abcdef", "PEA": None}
    cov = analyse(plan["ducts"], plan["buildings"], plan["sites"])
    for m in (maps.cost_map(plan["ducts"], plan["manholes"], plan["sites"], operators=colours),
              maps.coverage_map(cov.hexagons, cov.buildings, plan["ducts"], plan["sites"], operators=colours)):
        sites = _embedded(m.get_root().render(), "sites")
        ops = [sites["cols"]["operator"]["t"][i] for i in sites["cols"]["operator"]["v"]]
        col = [sites["cols"]["colour"]["t"][i] for i in sites["cols"]["colour"]["v"]]
        got = dict(zip(ops, col))
        assert got["TOT"] == "#123456" and got["CAT"] == "#abcdef"
        assert got["PEA"] in maps.DEFAULT_OPERATOR_COLOURS


def _decode_polygons(d: dict) -> list:
    """Python port of the page's polygon decoder: per feature a list of polygons, each a list of rings."""
    c, x, y, k = d["c"], d["o"][0], d["o"][1], 0
    ring_counts = iter(d["cc"])
    rings_per_poly = iter(d["rc"]) if d["rc"] else None
    out = []
    for i in range(d["n"]):
        polys = []
        for _ in range(d["pc"][i] if d["pc"] else 1):
            rings = []
            for _ in range(next(rings_per_poly) if rings_per_poly else 1):
                ring = []
                for _ in range(next(ring_counts)):
                    x += c[k]
                    y += c[k + 1]
                    k += 2
                    ring.append((x / 1e6, y / 1e6))
                rings.append(ring)
            polys.append(rings)
        out.append(polys)
    assert k == len(c)
    return out


def test_multipart_geometries_round_trip(plan):
    x0, y0 = plan["ducts"].total_bounds[:2]
    holed = shapely.Polygon(shapely.box(x0, y0, x0 + 30, y0 + 30).exterior.coords,
                            [shapely.box(x0 + 10, y0 + 10, x0 + 20, y0 + 20).exterior.coords[::-1]])
    multi = shapely.MultiPolygon([shapely.box(x0 + 50, y0, x0 + 60, y0 + 10), shapely.box(x0 + 70, y0, x0 + 80, y0 + 10)])
    simple = shapely.box(x0 + 100, y0, x0 + 110, y0 + 10)
    buildings = gpd.GeoDataFrame({"passed": [True, False, True]}, geometry=[holed, multi, simple], crs=plan["ducts"].crs)
    ducts = plan["ducts"].iloc[:2].copy()
    ducts.loc[ducts.index[0], "geometry"] = shapely.MultiLineString(
        [[(x0, y0), (x0 + 50, y0)], [(x0, y0 + 40), (x0 + 50, y0 + 40)]])
    cov = analyse(ducts, buildings, plan["sites"])
    page = maps.coverage_map(cov.hexagons, cov.buildings, ducts, plan["sites"]).get_root().render()

    decoded = _decode_polygons(_embedded(page, "buildings"))
    expected = buildings.to_crs(4326).geometry
    assert [len(f) for f in decoded] == [1, 2, 1]
    assert [len(p) for p in decoded[0]] == [2]  # exterior and hole
    for feature, geom in zip(decoded, expected):
        parts = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]
        for rings, part in zip(feature, parts):
            got = shapely.Polygon(rings[0], rings[1:])
            assert got.symmetric_difference(part).area < part.length * 1e-6  # 6-decimal rounding
            assert shapely.Polygon(rings[0]).exterior.is_ccw  # holes stay open under 'nonzero'
            assert all(not shapely.LinearRing(h).is_ccw for h in rings[1:])

    lines = _embedded(page, "ducts")
    assert lines["pc"] == [2, 1] and len(_decode(lines)) == 3


def test_phase_colours_and_legend():
    c = maps.phase_colours([1, 2, None, 0, 9])
    assert c[:2] == list(maps.PHASE_COLOURS[:2])
    assert c[2] == c[3] == maps.UNBUILT_COLOUR
    assert c[4] == maps.PHASE_COLOURS[0]   # colours cycle after eight phases
    from connectivity.phasing import PhaseSpec
    assert maps.phase_legend(["Quick win", PhaseSpec("Rest", None)]) == [
        ("1. Quick win", maps.PHASE_COLOURS[0]), ("2. Rest", maps.PHASE_COLOURS[1]), ("Unbuilt", maps.UNBUILT_COLOUR)]


def test_page_assets_come_from_package_files():
    page = maps._page_assets()
    assert maps._static("maps.js").strip() in page and maps._static("maps.css").strip() in page
    assert "window.__connectivity" in maps._static("maps.js")


def _services(ducts):
    """Three reconnected buildings at the ends of the first segments (corridor service connections)."""
    return gpd.GeoDataFrame(
        {"building_id": ["way/1", "way/2", "way/3"], "edge_id": [1, 2, 3], "length_m": [10.0, 12.5, 30.0],
         "power": ["PEA", "", "PEA"], "telecom": ["TOT,CAT", "TOT", ""], "cost_thb": [48000.0, 20500.0, 60000.0],
         "phase": [1, 2, 1]},
        geometry=[shapely.Point(ducts.geometry.iloc[i].coords[0]) for i in range(3)], crs=ducts.crs)


def test_cost_map_buildings_reconnected_layer_listed_and_off_by_default(plan):
    without = maps.cost_map(plan["ducts"], plan["manholes"], plan["sites"], operators=list(OPERATORS)).get_root().render()
    assert '"key":"services"' not in without and "Buildings reconnected" not in without
    m = maps.cost_map(plan["ducts"], plan["manholes"], plan["sites"], operators=list(OPERATORS),
                      services=_services(plan["ducts"]))
    page = m.get_root().render()
    data = _embedded(page, "services")
    assert data["n"] == 3
    ids = data["cols"]["building_id"]
    assert [ids["t"][i] for i in ids["v"]] == ["way/1", "way/2", "way/3"]
    assert data["cols"]["phase"]["v"] == [1, 2, 1]
    layer = [c for c in m._children.values() if getattr(c, "spec", {}).get("key") == "services"]
    assert len(layer) == 1 and layer[0].show is False and layer[0].control is True  # in the layer control, off
    name = layer[0].get_name()
    assert f"{name}.addTo(" not in page  # not on the map when the page opens
    assert "Buildings reconnected" in page
    with pytest.raises(InputDataError, match="services lacks column"):
        maps.cost_map(plan["ducts"], plan["manholes"], plan["sites"], operators=list(OPERATORS),
                      services=_services(plan["ducts"]).drop(columns="telecom"))


def test_saved_maps_get_stable_ids_without_patching_libraries(plan, tmp_path):
    """Two maps built alike save to the same bytes; branca's id source is left alone."""
    import os

    import branca.element

    paths = []
    for i in range(2):
        m = maps.cost_map(plan["ducts"], plan["manholes"], plan["sites"], operators=list(OPERATORS))
        paths.append(maps.save_map(m, tmp_path / f"m{i}.html"))
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert branca.element.urandom is os.urandom
    text = paths[0].read_text(encoding="utf-8")
    name = re.search(r"var (map_[0-9a-f]{32}) = L\.map", text).group(1)
    assert f"{name}.fitBounds(" in text and f"window.__connectivity.finish({name}," in text


def test_road_layer_encoded_once_equals_the_frame(plan):
    """The pipeline encodes the roads once (road_data) for both cost maps: same page as from the frame."""
    roads = plan["ducts"][["geometry"]].assign(highway="residential", name=[f"Soi {i}" for i in range(len(plan["ducts"]))])
    pages = [maps.cost_map(plan["ducts"], plan["manholes"], plan["sites"], operators=list(OPERATORS),
                           roads=r).get_root().render() for r in (roads, maps.road_data(roads))]
    strip = lambda page: re.sub(r"[0-9a-f]{32}", "x", page)   # folium's random element ids   # noqa: E731
    assert strip(pages[0]) == strip(pages[1])
    data = _embedded(pages[1], "roads")
    assert len(_decode(data)) == len(roads) and data["cols"]["name"]["t"][:2] == ["Soi 0", "Soi 1"]
