"""Open the maps in headless Chromium: offline, drawn, toggling layers, tooltips.

Needs Debian's chromium at /usr/bin/chromium (never ``playwright install``). The
tests are skipped when it is missing, except in CI (``CI=true``) where they fail.
Screenshots go to ``test-artifacts/`` at the repository root.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from connectivity import maps
from connectivity.coverage import analyse
from maps_fixtures import OPERATORS, grid_plan

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]

# Canvas rendering has no DOM paths, so features are counted through Leaflet's own
# layers: window.__connectivity.count(key) / .drawn(dataset, id_column) walk map.eachLayer.
JS_SEGMENT_PIXEL = """([key, segmentId]) => {
  const C = window.__connectivity, fi = C.find('ducts', 'segment_id', segmentId);
  let inLayer = false;
  C.layers[key].eachLayer(l => { if ((l.options.fis || [l.options.fi]).indexOf(fi) >= 0) inLayer = true; });
  if (fi < 0 || !inLayer || !C.map.hasLayer(C.layers[key])) return null;
  const p = C.map.latLngToContainerPoint(L.LineUtil.polylineCenter(C.data.ducts.g[fi], C.map.options.crs));
  const r = C.map.getContainer().getBoundingClientRect();
  return [p.x + r.left, p.y + r.top];
}"""


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing in CI")
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class OpenedMap:
    def __init__(self, page, blocked, errors):
        self.page, self.blocked, self.errors = page, blocked, errors

    def drawn(self, ds: str, col: str) -> int:
        return self.page.evaluate("([ds, col]) => window.__connectivity.drawn(ds, col)", [ds, col])

    def layer_count(self, key: str) -> int:
        return self.page.evaluate("(key) => window.__connectivity.count(key)", key)

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


@pytest.fixture
def open_map(browser):
    pages = []

    def _open(path: Path) -> OpenedMap:
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        pages.append(page)
        blocked, errors = [], []

        def route(r):
            if r.request.url.startswith("file:"):
                r.continue_()
            else:
                blocked.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(path.resolve().as_uri())
        page.wait_for_function("window.__mapReady === true", timeout=20_000)
        return OpenedMap(page, blocked, errors)

    yield _open
    for page in pages:
        page.close()


@pytest.fixture(scope="module")
def plan():
    return grid_plan(40)


@pytest.fixture(scope="module")
def saved_maps(plan, tmp_path_factory):
    folder = tmp_path_factory.mktemp("maps")
    cov = analyse(plan["ducts"], plan["buildings"], plan["sites"])
    cost = maps.save_map(
        maps.cost_map(plan["ducts"], plan["manholes"], plan["sites"], operators=list(OPERATORS),
                      title="Synthetic plan <test>"),
        folder / "cost_map.html",
    )
    coverage = maps.save_map(
        maps.coverage_map(cov.hexagons, cov.buildings, plan["ducts"], plan["sites"]),
        folder / "coverage_map.html",
    )
    return {"cost": cost, "coverage": coverage, "coverage_result": cov}


def _check_common(opened: OpenedMap) -> None:
    page = opened.page
    assert opened.blocked == []
    assert opened.errors == []
    assert page.evaluate("typeof window.L") == "object"
    assert page.locator(".leaflet-container").count() == 1
    assert "© OpenStreetMap contributors" in page.locator(".leaflet-control-attribution").inner_text()
    assert page.locator(".leaflet-control-scale").count() == 1
    assert page.locator(".leaflet-control-layers").count() == 1


def _hover_pixel(opened: OpenedMap, xy, expected: str) -> str:
    """Settle the mouse on ``xy``; return the text of the tooltip containing ``expected``."""
    tooltip = opened.page.locator(".leaflet-tooltip", has_text=expected)
    # Leaflet's canvas renderer drops mouse moves closer than 32 ms apart, so
    # settle on the point with pauses rather than one fast move.
    for dx in (0, 1, 0, -1, 0):
        opened.page.mouse.move(xy[0] + dx, xy[1])
        opened.page.wait_for_timeout(60)
        if tooltip.count():
            break
    opened.page.wait_for_timeout(250)  # a closed tooltip fades out for 200 ms before leaving the DOM
    shown = opened.page.locator(".leaflet-tooltip").all_inner_texts()
    assert tooltip.count() == 1 and len(shown) == 1, f"wanted a tooltip with {expected!r}, shown: {shown}"
    return tooltip.inner_text()


def _hover_segment(opened: OpenedMap, layer_key: str, segment_id: int) -> str:
    """Move the mouse onto the middle of a segment; return the text of the tooltip shown."""
    xy = opened.page.evaluate(JS_SEGMENT_PIXEL, [layer_key, segment_id])
    assert xy is not None, f"segment {segment_id} not drawn in layer {layer_key}"
    return _hover_pixel(opened, xy, f"Segment {segment_id}\n")


def _pixel_of(opened: OpenedMap, lat: float, lon: float):
    return opened.page.evaluate(
        """([lat, lon]) => { const m = window.__connectivity.map, p = m.latLngToContainerPoint([lat, lon]),
           r = m.getContainer().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; }""",
        [lat, lon],
    )


def _toggle(opened: OpenedMap, label: str) -> None:
    page = opened.page
    page.locator(".leaflet-control-layers").hover()
    exact = re.compile(r"(^|\s)" + re.escape(label) + r"\s*$")
    page.locator(".leaflet-control-layers-overlays label", has_text=exact).click()


def test_cost_map_in_browser(open_map, saved_maps, plan):
    opened = open_map(saved_maps["cost"])
    _check_common(opened)
    page = opened.page
    ducts = plan["ducts"]
    assert opened.drawn("ducts", "segment_id") == len(ducts)
    assert opened.drawn("manholes", "manhole_id") == len(plan["manholes"])
    assert opened.drawn("sites", "site_id") == len(plan["sites"])
    assert page.locator(".connectivity-title").inner_text() == "Synthetic plan <test>"
    assert "Duct cost per metre" in page.locator(".connectivity-legend").inner_text()
    opened.screenshot("cost_map_synthetic")

    # each operator layer holds exactly the segments carrying its ducts
    for op in OPERATORS:
        carrying = int(ducts["operators"].str.split(",").map(lambda ops, op=op: op in ops).sum())
        assert opened.layer_count(f"ducts:{op}") == carrying

    # toggling an operator layer off removes its features from the map, and back on restores them
    tot = opened.layer_count("ducts:TOT")
    cat = opened.layer_count("ducts:CAT")
    _toggle(opened, "TOT ducts")
    assert opened.layer_count("ducts:TOT") == 0
    assert page.evaluate("window.__connectivity.map.hasLayer(window.__connectivity.layers['ducts:TOT'])") is False
    assert opened.layer_count("ducts:CAT") == cat
    opened.screenshot("cost_map_synthetic_tot_off")
    _toggle(opened, "TOT ducts")
    assert opened.layer_count("ducts:TOT") == tot

    # hovering a segment shows its properties
    row = ducts[ducts["operators"].str.contains("TOT")].iloc[3]
    page.mouse.move(1, 1)
    text = _hover_segment(opened, "ducts:TOT", int(row["segment_id"]))
    assert f"Segment {int(row['segment_id'])}" in text
    assert f"Length: {row['length_m']:,.1f} m" in text
    assert f"Trench: {row['trench_type']}" in text
    assert f"Operators: {row['operators']}" in text
    assert f"Ducts: {row['ducts']}" in text
    assert f"Cost: {round(row['cost_thb']):,} THB" in text
    opened.screenshot("cost_map_synthetic_tooltip")

    # moving to other segments (same or other merged layer) updates the tooltip
    for segment_id in ducts.loc[ducts["operators"].str.contains("TOT"), "segment_id"].iloc[[5, 9, 3]]:
        text = _hover_segment(opened, "ducts:TOT", int(segment_id))
        row = ducts.set_index("segment_id").loc[segment_id]
        assert f"Ducts: {row['ducts']}" in text and f"Operators: {row['operators']}" in text

    # manholes away from sites have their own tooltips
    site_xy = {(round(p.x), round(p.y)) for p in plan["sites"].geometry}
    free = plan["manholes"][[(round(p.x), round(p.y)) not in site_xy for p in plan["manholes"].geometry]]
    mh = free.iloc[len(free) // 2]
    pt = free.geometry.to_crs(4326).iloc[len(free) // 2]
    text = _hover_pixel(opened, _pixel_of(opened, pt.y, pt.x), f"Manhole {mh['manhole_id']}\n")
    assert f"Reason: {mh['reason']}" in text and f"Group: {mh['group']}" in text

    # site tooltips show user text as text (escaped, not HTML)
    site = plan["sites"].iloc[0]
    pt = plan["sites"].geometry.to_crs(4326).iloc[0]
    text = _hover_pixel(opened, _pixel_of(opened, pt.y, pt.x), f"Site {site['site_id']}\n")
    assert f"Name: {site['name']}" in text  # "Site <0> & co"
    assert f"Operator: {site['operator']}" in text
    assert ("Connected: yes" if site["connected"] else "Connected: no") in text


def test_coverage_map_in_browser(open_map, saved_maps, plan):
    opened = open_map(saved_maps["coverage"])
    _check_common(opened)
    cov = saved_maps["coverage_result"]
    assert opened.drawn("ducts", "segment_id") == len(plan["ducts"])
    assert opened.drawn("hexagons", "h3") == len(cov.hexagons)
    n_passed = int(cov.buildings["passed"].sum())
    assert opened.layer_count("buildings:passed") == n_passed
    assert opened.layer_count("buildings:not_passed") == len(cov.buildings) - n_passed
    assert "Buildings passed per hexagon" in opened.page.locator(".connectivity-legend").inner_text()
    opened.screenshot("coverage_map_synthetic")

    _toggle(opened, "Buildings passed")
    assert opened.layer_count("buildings:passed") == 0
    assert opened.layer_count("buildings:not_passed") == len(cov.buildings) - n_passed

    row = plan["ducts"].iloc[7]
    text = _hover_segment(opened, "ducts", int(row["segment_id"]))
    assert f"Segment {int(row['segment_id'])}" in text
    assert f"Operators: {row['operators']}" in text
    opened.screenshot("coverage_map_synthetic_tooltip")


def test_tile_layer_is_the_only_network_request(open_map, plan, tmp_path):
    """With tiles=True the page asks for tiles (aborted here) and still draws everything."""
    path = maps.save_map(
        maps.cost_map(plan["ducts"], plan["manholes"], plan["sites"], operators=list(OPERATORS), tiles=True),
        tmp_path / "tiles.html",
    )
    opened = open_map(path)
    assert opened.blocked and all("tile.openstreetmap.org" in url for url in opened.blocked)
    assert opened.drawn("ducts", "segment_id") == len(plan["ducts"])
    assert "© OpenStreetMap contributors" in opened.page.locator(".leaflet-control-attribution").inner_text()


# --------------------------------------------------------------------------- example scenarios


@pytest.fixture(scope="module", params=["chiang_mai_nimman", "phuket_backbone"])
def scenario_maps(request, shared_data, tmp_path_factory):
    """Run an example scenario through the pipeline; the maps it wrote, else maps built from its plan."""
    import geopandas as gpd

    from conftest import SCENARIOS
    from connectivity.config import load_scenario
    from connectivity.pipeline import run, write_outputs

    scenario = load_scenario(SCENARIOS / f"{request.param}.toml")
    result = run(scenario)
    out = tmp_path_factory.mktemp(request.param)
    write_outputs(result, out)
    ducts_file = gpd.read_file(out / "ducts.geojson")
    operators = [op.name for op in scenario.operators if op.serves(scenario.province)]
    cost_path, coverage_path = out / "cost_map.html", out / "coverage_map.html"
    if not cost_path.exists():  # the pipeline does not write the maps (yet): build them from its plan
        manholes = getattr(result, "manholes", None)
        maps.save_map(maps.cost_map(result.ducts, manholes, result.sites, operators=operators,
                                    title=scenario.name), cost_path)
    if not coverage_path.exists():
        buildings = result.buildings if result.buildings is not None else gpd.GeoDataFrame(geometry=[], crs=result.ducts.crs)
        cov = analyse(result.ducts, buildings, result.sites)
        maps.save_map(maps.coverage_map(cov.hexagons, cov.buildings, result.ducts, result.sites,
                                        operators=operators, title=scenario.name), coverage_path)
    return {"name": request.param, "cost": cost_path, "coverage": coverage_path, "ducts": ducts_file,
            "operators": operators}


def test_scenario_cost_map(open_map, scenario_maps):
    opened = open_map(scenario_maps["cost"])
    _check_common(opened)
    ducts = scenario_maps["ducts"]
    assert len(ducts) > 0
    assert opened.drawn("ducts", "segment_id") == len(ducts)
    opened.screenshot(f"cost_map_{scenario_maps['name']}")

    # the operator with most segments: toggle its layer off and on
    carrying = {op: int(ducts["operators"].str.split(",").map(lambda ops, op=op: op in ops).sum())
                for op in scenario_maps["operators"]}
    op = max(carrying, key=carrying.get)
    assert opened.layer_count(f"ducts:{op}") == carrying[op] > 0
    _toggle(opened, f"{op} ducts")
    assert opened.layer_count(f"ducts:{op}") == 0
    opened.screenshot(f"cost_map_{scenario_maps['name']}_{op}_off")
    _toggle(opened, f"{op} ducts")
    assert opened.layer_count(f"ducts:{op}") == carrying[op]

    # hover the longest segment of that operator, with the point layers (manholes, sites) hidden
    # so that no marker lies over the middle of the segment
    mine = ducts[ducts["operators"].str.split(",").map(lambda ops: op in ops)]
    for label in ("Manholes", "Sites connected", "Sites not connected"):
        if opened.page.locator(".leaflet-control-layers-overlays label",
                               has_text=re.compile(r"(^|\s)" + re.escape(label) + r"\s*$")).count():
            _toggle(opened, label)
    row = mine.loc[mine["length_m"].idxmax()]
    opened.page.mouse.move(1, 1)
    text = _hover_segment(opened, f"ducts:{op}", int(row["segment_id"]))
    assert f"Operators: {row['operators']}" in text
    assert f"Length: {row['length_m']:,.1f} m" in text
    opened.screenshot(f"cost_map_{scenario_maps['name']}_tooltip")


def test_scenario_coverage_map(open_map, scenario_maps):
    opened = open_map(scenario_maps["coverage"])
    _check_common(opened)
    ducts = scenario_maps["ducts"]
    assert opened.drawn("ducts", "segment_id") == len(ducts)
    assert opened.layer_count("hexagons") > 0
    opened.screenshot(f"coverage_map_{scenario_maps['name']}")
    _toggle(opened, "Duct network")
    assert opened.layer_count("ducts") == 0
    _toggle(opened, "Duct network")
    row = ducts.loc[ducts["length_m"].idxmax()]
    opened.page.mouse.move(1, 1)
    text = _hover_segment(opened, "ducts", int(row["segment_id"]))
    assert f"Operators: {row['operators']}" in text


def test_default_marker_icon_is_inlined(open_map, plan, tmp_path):
    """A folium.Marker added by a user draws Leaflet's default icon from a data URI, offline."""
    import folium

    m = maps.cost_map(plan["ducts"], plan["manholes"], plan["sites"], operators=list(OPERATORS))
    lat, lon = plan["sites"].geometry.to_crs(4326).iloc[0].coords[0][::-1]
    folium.Marker([lat, lon], tooltip="a marker").add_to(m)
    opened = open_map(maps.save_map(m, tmp_path / "marker.html"))
    assert opened.blocked == [] and opened.errors == []
    icon = opened.page.locator("img.leaflet-marker-icon")
    assert icon.count() == 1
    assert icon.get_attribute("src").startswith("data:image/png;base64,")
    assert opened.page.evaluate("document.querySelector('img.leaflet-marker-icon').naturalWidth") == 25


def test_multipart_features_are_drawn(open_map, plan, tmp_path):
    import geopandas as gpd
    import shapely

    x0, y0 = plan["ducts"].total_bounds[:2]
    holed = shapely.Polygon(shapely.box(x0, y0, x0 + 30, y0 + 30).exterior.coords,
                            [shapely.box(x0 + 10, y0 + 10, x0 + 20, y0 + 20).exterior.coords])
    multi = shapely.MultiPolygon([shapely.box(x0 + 50, y0, x0 + 60, y0 + 10),
                                  shapely.box(x0 + 70, y0, x0 + 80, y0 + 10)])
    buildings = gpd.GeoDataFrame(geometry=[holed, multi, shapely.box(x0 + 300, y0 + 300, x0 + 310, y0 + 310)],
                                 crs=plan["ducts"].crs)
    ducts = plan["ducts"].iloc[:3].copy()
    ducts.loc[ducts.index[0], "geometry"] = shapely.MultiLineString(
        [[(x0, y0 - 5), (x0 + 80, y0 - 5)], [(x0, y0 + 40), (x0 + 50, y0 + 40)]])
    cov = analyse(ducts, buildings, plan["sites"])
    assert cov.buildings["passed"].tolist() == [True, True, False]
    path = maps.save_map(maps.coverage_map(cov.hexagons, cov.buildings, ducts, plan["sites"]), tmp_path / "multi.html")
    opened = open_map(path)
    assert opened.errors == [] and opened.blocked == []
    assert opened.drawn("ducts", "segment_id") == 3
    assert opened.layer_count("buildings:passed") == 2
    assert opened.layer_count("buildings:not_passed") == 1
    # the second part of the multi-line segment answers to the mouse with the segment's tooltip
    pt = gpd.GeoSeries([shapely.Point(x0 + 25, y0 + 40)], crs=ducts.crs).to_crs(4326).iloc[0]
    text = _hover_pixel(opened, _pixel_of(opened, pt.y, pt.x), f"Segment {int(ducts['segment_id'].iloc[0])}\n")
    assert f"Operators: {ducts['operators'].iloc[0]}" in text


# --------------------------------------------------------------------------- report and compare map


@pytest.fixture(scope="module")
def tiny_plans(tmp_path_factory):
    """The tiny scenario planned twice (POI sites; the sites file), written with write_outputs."""
    from conftest import FIXTURES
    from connectivity.config import load_scenario
    from connectivity.pipeline import run, write_outputs

    out = tmp_path_factory.mktemp("tiny_plans")
    dirs = []
    for name, kw in (("poi", {}), ("file", {"sites": FIXTURES / "sites.csv"})):
        write_outputs(run(load_scenario(FIXTURES / "tiny.toml", **kw)), out / name)
        dirs.append(out / name)
    return dirs


def test_report_opens_offline_with_every_section(browser, tiny_plans):
    import json

    from connectivity.report import SECTIONS

    folder = tiny_plans[0]
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    requests, errors = [], []

    def route(r):
        requests.append(r.request.url)
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto((folder / "report.html").resolve().as_uri())
        page.wait_for_load_state("load")
        assert errors == []
        assert [u for u in requests if not u.startswith("file:")] == []   # no request leaves the file
        assert requests == [(folder / "report.html").resolve().as_uri()]   # the page itself only
        assert page.evaluate("Array.from(document.querySelectorAll('section')).map(s => s.id)") == [
            sid for sid, _ in SECTIONS]
        for sid, title in SECTIONS:
            assert page.locator(f"section#{sid} h2").inner_text() == title
            assert page.locator(f"section#{sid}").is_visible()
        # every image loaded (data URIs), the tornado drawn at its size
        images = page.evaluate("Array.from(document.images).map(i => [i.id, i.complete, i.naturalWidth])")
        assert images and all(done and width > 0 for _, done, width in images)
        assert page.evaluate("document.getElementById('tornado-chart').naturalWidth") == 800
        # figures as in summary.json
        shown = page.locator("td[data-key='total_cost']").first.inner_text()
        assert shown == f"{summary['total_cost']:,.0f} THB"
        for op, r in summary["rent_vs_build"].items():
            cell = page.locator(f"td[data-key='rent_vs_build.{op}.npv_build']")
            assert float(cell.get_attribute("data-value")) == r["npv_build"]
        # links to the maps beside it, which exist
        hrefs = page.evaluate("Array.from(document.querySelectorAll('#maps a')).map(a => a.getAttribute('href'))")
        assert hrefs == ["map.html", "cost_map.html", "coverage_map.html"]
        assert all((folder / h).is_file() for h in hrefs)
        assert "© OpenStreetMap contributors" in page.locator("footer").inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report_tiny.png"), full_page=True)
        page.emulate_media(media="print")   # the print layout hides the navigation
        assert not page.locator("nav").is_visible()
        assert page.locator("section#ranges").is_visible()
    finally:
        page.close()


def test_compare_map_draws_every_plan(open_map, tiny_plans, tmp_path):
    import geopandas as gpd

    from connectivity.report import compare

    written = compare([str(d) for d in tiny_plans], str(tmp_path / "cmp"))
    assert str(tmp_path / "cmp" / "compare_map.html") in written
    opened = open_map(tmp_path / "cmp" / "compare_map.html")
    _check_common(opened)
    for i, folder in enumerate(tiny_plans):
        n = len(gpd.read_file(folder / "ducts.geojson"))
        assert n > 0
        assert opened.drawn(f"plan{i}", "segment_id") == n
        assert opened.layer_count(f"plan:{i}") == n
    labels = opened.page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    assert [t.replace("■", "").strip() for t in labels] == ["tiny", "tiny (file)"]
    opened.screenshot("compare_map_tiny")
    _toggle(opened, "tiny")
    assert opened.layer_count("plan:0") == 0 and opened.layer_count("plan:1") > 0


def test_aerial_layers_listed_off_by_default_and_drawn_when_toggled(open_map, plan, tmp_path):
    import geopandas as gpd
    import shapely

    ducts = plan["ducts"]
    lines = [ducts.geometry.iloc[i] for i in range(3)]
    aerial = gpd.GeoDataFrame(
        {"feature": ["span", "span", "pole", "pole", "pole"], "id": ["S1", "S2", "P1", "P2", "P3"],
         "owner": ["PEA"] * 5, "kind": ["line", "line", "pole", "pole", "pole"],
         "length_m": [100.0, 100.0, None, None, None], "removed": [True, False, True, True, False],
         "reason": ["", "not along an undergrounded street", "", "", "carries a line still aerial (S2)"]},
        geometry=[lines[0], lines[1]] + [shapely.Point(line.coords[0]) for line in lines], crs=ducts.crs)
    page = maps.save_map(maps.cost_map(ducts, plan["manholes"], plan["sites"], operators=list(OPERATORS),
                                       aerial=aerial), tmp_path / "aerial.html")
    opened = open_map(page)
    _check_common(opened)
    labels = opened.page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    for label in ("Poles removed", "Poles staying", "Spans removed", "Spans staying"):
        assert any(label in text for text in labels), labels
    on_map = "(key) => window.__connectivity.map.hasLayer(window.__connectivity.layers[key])"
    assert not opened.page.evaluate(on_map, "aerial:poles:removed")
    assert not opened.page.evaluate(on_map, "aerial:spans:staying")
    _toggle(opened, "Poles removed")
    _toggle(opened, "Spans staying")
    assert opened.page.evaluate(on_map, "aerial:poles:removed")
    assert opened.layer_count("aerial:poles:removed") == 2
    assert opened.layer_count("aerial:spans:staying") == 1
    assert opened.errors == []


def test_buildings_reconnected_layer_listed_off_by_default_and_drawn_when_toggled(open_map, plan, tmp_path):
    from test_maps import _services

    page = maps.save_map(maps.cost_map(plan["ducts"], plan["manholes"], plan["sites"], operators=list(OPERATORS),
                                       services=_services(plan["ducts"])), tmp_path / "services.html")
    opened = open_map(page)
    _check_common(opened)
    labels = opened.page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    assert any("Buildings reconnected" in text for text in labels), labels
    on_map = "(key) => window.__connectivity.map.hasLayer(window.__connectivity.layers[key])"
    assert not opened.page.evaluate(on_map, "services")
    assert opened.layer_count("services") == 0
    _toggle(opened, "Buildings reconnected")
    assert opened.page.evaluate(on_map, "services")
    assert opened.layer_count("services") == 3
    assert opened.errors == []
