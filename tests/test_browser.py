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

# JavaScript helpers evaluated in the page (canvas rendering has no DOM paths,
# so features are counted through Leaflet's own layers).
JS_DRAWN_IDS = """([ds, col]) => {
  const C = window.__connectivity, ids = new Set();
  C.map.eachLayer(l => {
    if (l.options && l.options.ds === ds && l.options.fi !== undefined) ids.add(C.value(C.data[ds], col, l.options.fi));
  });
  return ids.size;
}"""
JS_LAYER_COUNT = """(key) => {
  let n = 0;
  window.__connectivity.map.eachLayer(l => { if (l.options && l.options.lk === key) n++; });
  return n;
}"""
JS_SEGMENT_PIXEL = """([key, segmentId]) => {
  const C = window.__connectivity, d = C.data.ducts;
  let target = null;
  C.layers[key].eachLayer(l => { if (C.value(d, 'segment_id', l.options.fi) === segmentId) target = l; });
  if (!target) return null;
  const p = C.map.latLngToContainerPoint(target.getCenter());
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
        return self.page.evaluate(JS_DRAWN_IDS, [ds, col])

    def layer_count(self, key: str) -> int:
        return self.page.evaluate(JS_LAYER_COUNT, key)

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


def _hover_segment(opened: OpenedMap, layer_key: str, segment_id: int) -> str:
    """Move the mouse onto the middle of a segment; return the text of the tooltip shown."""
    xy = opened.page.evaluate(JS_SEGMENT_PIXEL, [layer_key, segment_id])
    assert xy is not None, f"segment {segment_id} not in layer {layer_key}"
    tooltip = opened.page.locator(".leaflet-tooltip", has_text=f"Segment {segment_id}")
    # Leaflet's canvas renderer drops mouse moves closer than 32 ms apart, so
    # settle on the point with pauses rather than one fast move.
    for dx in (0, 1, 0, -1, 0):
        opened.page.mouse.move(xy[0] + dx, xy[1])
        opened.page.wait_for_timeout(60)
        if tooltip.count():
            break
    tooltip.wait_for(state="visible", timeout=5_000)
    assert opened.page.locator(".leaflet-tooltip").count() == 1
    return tooltip.inner_text()


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
