"""Interactive maps of a duct plan that work offline (single self-contained HTML).

Three maps are built with folium:

- :func:`cost_map`: duct segments coloured by cost per metre (THB/m), one layer per
  operator holding the segments that carry its ducts, manholes, sites connected and
  not connected.
- :func:`coverage_map`: H3 hexagons coloured by the share of buildings passed,
  buildings passed / not passed, the duct network and the sites.
- :func:`compare_map`: several plans' duct networks, one layer and one colour per plan
  (``connectivity compare``).

Offline by construction: Leaflet (JS, CSS and its images as data URIs) and jQuery
are read from the ``xstatic-leaflet`` / ``xstatic-jquery`` packages and inlined;
no CDN link is emitted. Features are not folium objects: each dataset is
embedded once as compact columnar JSON (``<script type="application/json">``;
coordinates simplified with a 1 m tolerance, rounded to 6 decimals and
delta-encoded as integers, strings as lookup tables) and turned into Leaflet
vector layers in the page, all drawn on one canvas. Ducts, manholes and
buildings are merged into multi-part layers of a few hundred features each
(same colour), which hit-test the feature under the mouse for tooltips: a
100,000-segment plan is a few hundred Leaflet layers, not 100,000. Each map
layer is a folium :class:`~folium.map.Layer`, so :class:`folium.LayerControl`
lists it; an operator's layer filters the one ducts dataset in the page.

The page exposes ``window.__connectivity`` (``map``; ``layers`` and ``data`` by
key; ``count(layer_key)`` and ``drawn(dataset, id_column)`` count the features
on the map) and sets ``window.__mapReady = true`` once the layers are drawn, for
tests and benchmarks.

folium is imported only inside the functions so importing this module is cheap.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import itertools
import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from connectivity.errors import CRSError, InputDataError

if TYPE_CHECKING:  # pragma: no cover
    import folium
    import geopandas as gpd

logger = logging.getLogger(__name__)

__all__ = ["cost_map", "coverage_map", "compare_map", "areas_map", "save_map", "OSM_ATTRIBUTION"]

OSM_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)
DEFAULT_OPERATOR_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
    "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#d62728",
)
COST_COLOURS = ("#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027")
COVERAGE_COLOURS = ("#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641")
MANHOLE_COLOURS = {"telecom": "#1f78b4", "power": "#e31a1c"}
UNKNOWN_COST_COLOUR = "#3366cc"
FAILED_AREA_COLOUR = "#bdbdbd"
BUILDING_COLOURS = {True: "#1a9641", False: "#9e9e9e"}
COVERAGE_DUCT_COLOUR = "#08306b"
PHASE_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
UNBUILT_COLOUR = "#9e9e9e"
_N_BINS = 32
# features per merged Leaflet layer (see C.layer in data/static/maps.js); big filled paths are slow to paint
_MERGE_LINES = 256
ROAD_COLOUR = "#b0b0b0"
_MERGE_POINTS = 256
_MERGE_POLYGONS = 64
_SCALE = 1_000_000  # coordinates are stored as integers of 1e-6 degree


# --------------------------------------------------------------------------- assets



def _static(name: str) -> str:
    """Text of a page asset shipped in ``connectivity/data/static/``."""
    return (resources.files("connectivity") / "data" / "static" / name).read_text(encoding="utf-8")


def _data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


@functools.cache
def _page_assets() -> str:
    """Leaflet CSS+JS (images as data URIs), jQuery and the runtime, as raw HTML for <head>."""
    import xstatic.pkg.jquery as xjquery
    import xstatic.pkg.leaflet as xleaflet

    leaflet_dir = Path(xleaflet.BASE_DIR)
    css = (leaflet_dir / "leaflet.css").read_text(encoding="utf-8")
    for image in sorted((leaflet_dir / "images").glob("*.png")):
        css = css.replace(f"url(images/{image.name})", f"url({_data_uri(image, 'image/png')})")
    images = {p.name: _data_uri(p, "image/png") for p in (leaflet_dir / "images").glob("*.png")}
    icon_js = (
        "L.Icon.Default.imagePath = '';"
        f"L.Icon.Default.mergeOptions({json.dumps({'iconUrl': images['marker-icon.png'], 'iconRetinaUrl': images['marker-icon-2x.png'], 'shadowUrl': images['marker-shadow.png']})});"
    )
    leaflet_js = (leaflet_dir / "leaflet.js").read_text(encoding="utf-8")
    jquery_js = (Path(xjquery.BASE_DIR) / "jquery.min.js").read_text(encoding="utf-8")
    for name, text in (("leaflet.js", leaflet_js), ("jquery.min.js", jquery_js)):
        if "</script" in text.lower():  # pragma: no cover - would break inlining
            raise RuntimeError(f"{name} contains '</script' and cannot be inlined")
    return "\n".join(
        [
            f"<style>{css}\n{_static('maps.css')}</style>",
            f"<script>{leaflet_js}\n</script>",
            f"<script>{icon_js}</script>",
            f"<script>{jquery_js}\n</script>",
            f"<script>{_static('maps.js')}</script>",
        ]
    )


def phase_colours(phase: Sequence[int | None]) -> list[str]:
    """Hex colour per segment for a map layer coloured by phase (unbuilt: grey).

    Parameters
    ----------
    phase
        Phase number per segment (1..K); 0, ``None`` or NA = unbuilt.
    """
    out = []
    for p in phase:
        try:
            k = int(p)
        except (TypeError, ValueError):
            k = 0
        out.append(PHASE_COLOURS[(k - 1) % len(PHASE_COLOURS)] if k > 0 else UNBUILT_COLOUR)
    return out


def phase_legend(names: Sequence[Any]) -> list[tuple[str, str]]:
    """``(label, colour)`` per phase (in order, phase 1 first), then ``("Unbuilt", grey)``, for a map legend.

    ``names`` are phase names, or objects with a ``name`` (``phasing.PhaseSpec`` / ``PhaseFigures``).
    """
    rows = []
    for i, p in enumerate(names, start=1):
        name = p if isinstance(p, str) else p.name
        rows.append((f"{i}. {name}", PHASE_COLOURS[(i - 1) % len(PHASE_COLOURS)]))
    return rows + [("Unbuilt", UNBUILT_COLOUR)]


def _js(obj: Any) -> str:
    """JSON for inlining in <script>: compact, NaN as null, no '<', '>' or '&'."""
    text = json.dumps(obj, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@functools.cache
def _folium_classes() -> SimpleNamespace:
    """Element classes, defined lazily so that folium is imported only when a map is built."""
    import folium
    from branca.element import Element

    class RawHTML(Element):
        """Text inserted verbatim (never run through Jinja, which eats '{#' and '{{')."""

        def __init__(self, text: str):
            super().__init__()
            self._name = "RawHTML"
            self.text = text

        def render(self, **kwargs):
            return self.text

    class RawScript(Element):
        """JavaScript appended verbatim to the page's script section; ``code`` may be a function
        called at render time (for code naming other elements, whose names are final only then)."""

        def __init__(self, code: str | Callable[[], str]):
            super().__init__()
            self._name = "RawScript"
            self.code = code

        def render(self, **kwargs):
            code = self.code() if callable(self.code) else self.code
            self.get_root().script.add_child(RawHTML(code), name=self.get_name())

    class PlanData(Element):
        """A dataset embedded as JSON (``<script type="application/json">``) and decoded in the page."""

        def __init__(self, key: str, data: dict):
            super().__init__()
            self._name = "PlanData"
            self.key = key
            self.data = data

        def render(self, **kwargs):
            figure = self.get_root()
            element_id = f"connectivity-data-{self.key}"
            figure.html.add_child(
                RawHTML(f'<script type="application/json" id="{element_id}">{_js(self.data)}</script>'),
                name=self.get_name() + "_json",
            )
            figure.script.add_child(
                RawHTML(
                    f"window.__connectivity.data[{_js(self.key)}] = window.__connectivity.decode("
                    f"JSON.parse(document.getElementById({_js(element_id)}).textContent));"
                ),
                name=self.get_name(),
            )

    class PlanLayer(folium.map.Layer):
        """A Leaflet feature group built in the page from an embedded dataset."""

        def __init__(self, spec: dict, *, name: str, show: bool = True):
            super().__init__(name=name, overlay=True, control=True, show=show)
            self._name = "PlanLayer"
            self.spec = spec

        def render(self, **kwargs):
            code = f"var {self.get_name()} = window.__connectivity.layer({_js(self.spec)});"
            self.get_root().script.add_child(RawHTML(code), name=self.get_name() + "_def")
            super().render(**kwargs)

    return SimpleNamespace(RawHTML=RawHTML, RawScript=RawScript, PlanData=PlanData, PlanLayer=PlanLayer, folium=folium)


# --------------------------------------------------------------------------- data encoding


def _display_geometry(frame: "gpd.GeoDataFrame", what: str, *, simplify_m: float | None) -> "gpd.GeoSeries":
    """Geometry simplified (tolerance in metres) and reprojected to EPSG:4326."""
    if frame.crs is None:
        if len(frame) == 0:
            return frame.geometry
        raise CRSError(f"{what} has no CRS; cannot place it on a map")
    geoms = frame.geometry
    if len(frame) == 0:
        return geoms.to_crs("EPSG:4326")
    if simplify_m and frame.crs.is_geographic:
        return _simplified_in_utm(geoms, frame.estimate_utm_crs(), simplify_m)
    if simplify_m:
        geoms = geoms.simplify(simplify_m, preserve_topology=True)
    return geoms.to_crs("EPSG:4326")


def _simplified_in_utm(geoms: "gpd.GeoSeries", utm: Any, simplify_m: float) -> "gpd.GeoSeries":
    """Geographic ``geoms`` simplified in their UTM zone ``utm`` (tolerance in metres), in EPSG:4326;
    unsimplified where the zone cannot hold them (a hemisphere-wide area folds or overflows there)."""
    wgs = geoms.to_crs("EPSG:4326")
    local = geoms.to_crs(utm)
    if not np.isfinite(local.total_bounds).all():
        return wgs
    simple = local.simplify(simplify_m, preserve_topology=True).to_crs("EPSG:4326")
    return simple if np.allclose(simple.total_bounds, wgs.total_bounds, atol=0.01) else wgs


def _encode_geometry(geoms: "gpd.GeoSeries", kind: str) -> dict:
    """Delta-encoded integer coordinates (1e-6 degree) plus part/ring/coordinate counts."""
    import shapely

    values = geoms.values
    n = len(values)
    out: dict[str, Any] = {"kind": kind, "n": n, "pc": None, "rc": None, "cc": None}
    if kind == "point":
        points = shapely.point_on_surface(values)
        coords = shapely.get_coordinates(points)
    elif kind == "line":
        parts, part_of = shapely.get_parts(values, return_index=True)
        coords, coord_of = shapely.get_coordinates(parts, return_index=True)
        pc = np.bincount(part_of, minlength=n)
        out["pc"] = None if (pc == 1).all() else pc.tolist()
        out["cc"] = np.bincount(coord_of, minlength=len(parts)).tolist()
    elif kind == "polygon":
        # exterior rings counter-clockwise, holes clockwise: holes stay open under the
        # 'nonzero' fill rule that merged layers use (overlapping footprints do not cancel)
        polys, poly_of = shapely.get_parts(shapely.orient_polygons(values), return_index=True)
        rings, ring_of = shapely.get_rings(polys, return_index=True)
        coords, coord_of = shapely.get_coordinates(rings, return_index=True)
        # drop each ring's closing coordinate: Leaflet closes rings itself
        last = np.r_[coord_of[1:] != coord_of[:-1], True][: len(coord_of)]
        coords, coord_of = coords[~last], coord_of[~last]
        pc = np.bincount(poly_of, minlength=n)
        rc = np.bincount(ring_of, minlength=len(polys))
        out["pc"] = None if (pc == 1).all() else pc.tolist()
        out["rc"] = None if (rc == 1).all() else rc.tolist()
        out["cc"] = np.bincount(coord_of, minlength=len(rings)).tolist()
    else:  # pragma: no cover - internal
        raise ValueError(kind)
    q = np.round(np.asarray(coords, dtype=float) * _SCALE).astype(np.int64)
    if len(q) == 0:
        out["o"], out["c"] = [0, 0], []
        return out
    out["o"] = q[0].tolist()
    out["c"] = np.diff(q, axis=0, prepend=q[:1]).ravel().tolist()
    return out


def _cat(values) -> dict:
    """String column as a lookup table plus codes (null for missing)."""
    series = pd.Series(values).astype(object).where(pd.notna(pd.Series(values)), None)
    codes, uniques = pd.factorize(series.map(lambda v: None if v is None else str(v)))
    return {"t": [str(u) for u in uniques], "v": [None if c < 0 else int(c) for c in codes]}


def _num(values, decimals: int) -> dict:
    arr = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    arr = np.round(arr, decimals)
    finite = np.isfinite(arr)
    if decimals <= 0:
        as_list = [int(v) if ok else None for v, ok in zip(arr.tolist(), finite.tolist())]
    else:
        as_list = [v if ok else None for v, ok in zip(arr.tolist(), finite.tolist())]
    return {"t": None, "v": as_list}


def _bool(values) -> dict:
    arr = pd.Series(values).fillna(False).astype(bool).to_numpy()
    return {"t": [False, True], "v": arr.astype(int).tolist()}


def _dataset(frame: "gpd.GeoDataFrame", what: str, kind: str, columns: dict[str, dict], *, simplify_m) -> dict:
    geoms = _display_geometry(frame, what, simplify_m=simplify_m)
    data = _encode_geometry(geoms, kind)
    data["cols"] = columns
    return data


def _keep_drawable(frame: "gpd.GeoDataFrame", what: str) -> "gpd.GeoDataFrame":
    """Rows with a non-empty geometry (others are logged and left off the map)."""
    ok = ~(frame.geometry.isna() | frame.geometry.is_empty)
    if not ok.all():
        logger.warning("%s: %d rows without geometry are not drawn", what, int((~ok).sum()))
        return frame[ok]
    return frame


_DUCT_REQUIRED = ("segment_id", "length_m", "operators")
MANHOLE_COLUMNS = ("manhole_id", "reason", "group")


def _empty_points(crs, columns: Sequence[str]) -> "gpd.GeoDataFrame":
    import geopandas as gpd

    return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in columns}, geometry=[], crs=crs)


def _require(frame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputDataError(f"{what} lacks column(s) {', '.join(missing)}")


def _bounds(*frames: "gpd.GeoDataFrame") -> list | None:
    """[[south, west], [north, east]] in degrees of all non-empty frames."""
    from pyproj import Transformer

    boxes = []
    for frame in frames:
        if len(frame) == 0 or frame.crs is None:
            continue
        box = frame.total_bounds
        if not np.isfinite(box).all():
            continue
        if not frame.crs.equals("EPSG:4326"):
            box = Transformer.from_crs(frame.crs, "EPSG:4326", always_xy=True).transform_bounds(*box, densify_pts=21)
        boxes.append(box)
    if not boxes:
        return None
    b = np.array(boxes)
    return [[float(b[:, 1].min()), float(b[:, 0].min())], [float(b[:, 3].max()), float(b[:, 2].max())]]


def _plan_bounds(ducts: "gpd.GeoDataFrame", sites: "gpd.GeoDataFrame", *others: "gpd.GeoDataFrame",
                 margin: float = 0.1) -> list | None:
    """Bounds of what was planned: the ducts and the connected sites (with ``margin`` of the
    extent on every side), not far-away sites that could not be connected; everything when
    nothing was planned."""
    planned = [ducts]
    if "connected" in sites.columns:
        planned.append(sites[sites["connected"].fillna(False).astype(bool)])
    box = _bounds(*planned) if any(len(f) for f in planned) else _bounds(ducts, sites, *others)
    if not box:
        return box
    (s, w), (n, e) = box
    dy, dx = max(n - s, 1e-4) * margin, max(e - w, 1e-4) * margin
    return [[max(s - dy, -90.0), max(w - dx, -180.0)], [min(n + dy, 90.0), min(e + dx, 180.0)]]


AERIAL_COLOURS = {True: "#2ca02c", False: "#6a3d9a"}


def _aerial_layers(C, m, aerial: "gpd.GeoDataFrame") -> None:
    """Spans and poles of the overhead network, removed (green) and staying (purple), off by default."""
    _require(aerial, ["feature", "id", "removed", "reason"], "aerial")
    aerial = _keep_drawable(aerial, "aerial")
    tooltip = [["Owner", "owner", "", None], ["Kind", "kind", "", None], ["Removed", "removed", "", None],
               ["Why it stays", "reason", "", None]]
    for feature, kind, title in (("span", "line", "Span "), ("pole", "point", "Pole ")):
        part = aerial[aerial["feature"] == feature]
        if len(part) == 0:
            continue
        cols = {c: _cat(part[c].fillna("").astype(str)) for c in ("id", "owner", "kind", "reason")}
        cols["removed"] = _bool(part["removed"])
        cols["colour"] = _cat(part["removed"].astype(bool).map(AERIAL_COLOURS))
        C.PlanData(f"aerial_{feature}s", _dataset(part, f"aerial {feature}s", kind, cols,
                                                  simplify_m=None)).add_to(m)
        style = ({"weight": 3, "opacity": 0.9, "dashArray": "6 4"} if kind == "line"
                 else {"radius": 4, "weight": 1, "opacity": 1, "fillOpacity": 0.9})
        for removed, word in ((True, "removed"), (False, "staying")):
            spec = {"data": f"aerial_{feature}s", "key": f"aerial:{feature}s:{word}", "title": [title, "id"],
                    "tooltip": tooltip, "filter": {"col": "removed", "eq": removed}, "color": "colour",
                    "style": style}
            if kind == "point":
                spec["fill"] = "colour"
            C.PlanLayer(spec, name=_label(f"{feature.capitalize()}s {word}", AERIAL_COLOURS[removed]),
                        show=False).add_to(m)


SERVICE_COLOUR = "#ff7f0e"
SERVICE_COLUMNS = ("building_id", "power", "telecom")
_SERVICE_TOOLTIP = [
    ["Power service", "power", "", None],
    ["Telecom drops", "telecom", "", None],
    ["Length", "length_m", "m", 1],
    ["Cost", "cost_thb", "THB", 0],
    ["Phase", "phase", "", "id"],
]


def _service_layer(C, m, services: "gpd.GeoDataFrame") -> None:
    """Buildings reconnected (corridor service connections, points), off by default."""
    _require(services, SERVICE_COLUMNS, "services")
    services = _keep_drawable(services, "services")
    cols = {c: _cat(services[c].fillna("").astype(str)) for c in SERVICE_COLUMNS}
    for name, decimals in (("length_m", 1), ("cost_thb", 0), ("phase", 0)):
        if name in services.columns:
            cols[name] = _num(services[name], decimals)
    C.PlanData("services", _dataset(services, "services", "point", cols, simplify_m=None)).add_to(m)
    C.PlanLayer({"data": "services", "key": "services", "title": ["Building ", "building_id"],
                 "tooltip": _SERVICE_TOOLTIP, "merge": _MERGE_POINTS,
                 "style": {"radius": 3, "weight": 1, "color": SERVICE_COLOUR, "fillColor": SERVICE_COLOUR,
                           "opacity": 1, "fillOpacity": 0.8}},
                name=_label("Buildings reconnected", SERVICE_COLOUR), show=False).add_to(m)


def _label(text: str, colour: str | None = None) -> str:
    """Layer-control label (HTML); braces as entities since folium runs it through Jinja."""
    label = html.escape(text).replace("{", "&#123;").replace("}", "&#125;")
    if colour:
        return f'<span class="connectivity-sw" style="color:{html.escape(colour)}">&#9632;</span> {label}'
    return label


def _gradient_legend(caption: str, colormap, vmin: float, vmax: float, unit: str, *, extra: str = "") -> str:
    stops = ", ".join(
        f"{colormap.rgb_hex_str(vmin + (vmax - vmin) * t)} {100 * t:.0f}%" for t in np.linspace(0, 1, 9)
    )
    ticks = [vmin, (vmin + vmax) / 2, vmax]
    ticks_html = "".join(f"<span>{v:,.0f}</span>" for v in ticks)
    return (
        f"<div><b>{html.escape(caption)}</b> ({html.escape(unit)})</div>"
        f'<div class="bar" style="background: linear-gradient(to right, {stops});"></div>'
        f'<div class="ticks">{ticks_html}</div>{extra}'
    )


def _binned_colours(values: np.ndarray, colormap, vmin: float, vmax: float, missing: str) -> dict:
    """Colour column: each value mapped to one of ``_N_BINS`` colours of ``colormap``."""
    table = [colormap.rgb_hex_str(vmin + (vmax - vmin) * (i + 0.5) / _N_BINS) for i in range(_N_BINS)]
    table.append(missing)
    span = vmax - vmin if vmax > vmin else 1.0
    idx = np.floor((np.clip(values, vmin, vmax) - vmin) / span * _N_BINS)
    idx = np.clip(np.nan_to_num(idx, nan=_N_BINS), 0, _N_BINS - 1).astype(int)
    idx[~np.isfinite(values)] = _N_BINS
    return {"t": table, "v": idx.tolist()}


def _operator_colours(operators: Sequence[str] | Mapping[str, str | None], extra: Sequence[str] = ()) -> dict[str, str]:
    names = list(operators.keys()) if isinstance(operators, Mapping) else list(operators)
    given = dict(operators) if isinstance(operators, Mapping) else {}
    colours: dict[str, str] = {}
    for i, name in enumerate(list(names) + [e for e in extra if e not in names]):
        colours[str(name)] = given.get(name) or DEFAULT_OPERATOR_COLOURS[i % len(DEFAULT_OPERATOR_COLOURS)]
    return colours


def _duct_columns(ducts: "gpd.GeoDataFrame") -> tuple[dict[str, dict], np.ndarray]:
    """Encoded duct attributes and cost per metre (THB/m, NaN where unknown)."""
    length = pd.to_numeric(ducts["length_m"], errors="coerce").to_numpy(dtype=float)
    if "cost_thb" in ducts.columns:
        cost = pd.to_numeric(ducts["cost_thb"], errors="coerce").to_numpy(dtype=float)
    else:
        cost = np.full(len(ducts), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_m = np.where(length > 0, cost / np.where(length > 0, length, 1.0), np.nan)
    cols = {
        "segment_id": _num(ducts["segment_id"], 0),
        "length_m": _num(length, 1),
        "operators": _cat(ducts["operators"].fillna("")),
        "cost_thb": _num(cost, 0),
        "cost_per_m": _num(per_m, 0),
    }
    for name in ("trench_type", "ducts", "area"):
        if name in ducts.columns:
            cols[name] = _cat(ducts[name].fillna(""))
    for name in ("n_ducts", "phase"):
        if name in ducts.columns:
            cols[name] = _num(ducts[name], 0)
    return cols, per_m


_DUCT_TOOLTIP = [
    ["Length", "length_m", "m", 1],
    ["Trench", "trench_type", "", None],
    ["Operators", "operators", "", None],
    ["Ducts", "ducts", "", None],
    ["Cost", "cost_thb", "THB", 0],
    ["Cost per metre", "cost_per_m", "THB/m", 0],
    ["Phase", "phase", "", "id"],
]
_SITE_TOOLTIP = [
    ["Operator", "operator", "", None],
    ["Kind", "kind", "", None],
    ["Name", "name", "", None],
    ["Connected", "connected", "", None],
]


def _site_layers(C, m, sites, colours: dict[str, str]) -> None:
    sites = _keep_drawable(sites, "sites")
    cols = {c: _cat(sites[c]) if c in sites.columns else {"t": None, "v": [None] * len(sites)}
            for c in ("site_id", "operator", "kind", "name")}
    cols["connected"] = _bool(sites["connected"])
    cols["colour"] = _cat(sites["operator"].astype(str).map(colours).fillna("#555555"))
    data = _dataset(sites, "sites", "point", cols, simplify_m=None)
    C.PlanData("sites", data).add_to(m)
    base = {"data": "sites", "title": ["Site ", "site_id"], "tooltip": _SITE_TOOLTIP}
    C.PlanLayer(
        {**base, "key": "sites:connected", "filter": {"col": "connected", "eq": True},
         "color": "colour", "fill": "colour",
         "style": {"radius": 7, "weight": 2, "opacity": 1, "fillOpacity": 0.9}},
        name=_label("Sites connected"),
    ).add_to(m)
    C.PlanLayer(
        {**base, "key": "sites:not_connected", "filter": {"col": "connected", "eq": False},
         "color": "colour",
         "style": {"radius": 7, "weight": 3, "opacity": 1, "fillColor": "#ffffff", "fillOpacity": 0.9,
                   "dashArray": "3 3"}},
        name=_label("Sites not connected"),
    ).add_to(m)


def _new_map(C, *, tiles: bool, bounds):
    folium = C.folium
    location = [0.0, 0.0] if not bounds else [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2]
    m = folium.Map(tiles=None, prefer_canvas=True, control_scale=True, zoom_start=14, location=location)
    # instance lists, not the class lists shared by every map (STACK.md)
    m.default_js = []
    m.default_css = []
    m.get_root().header.add_child(C.RawHTML(_page_assets()), name="connectivity_assets")
    if bounds:  # before any layer is added, so features are projected once, at the final view
        C.RawScript(lambda: f"{m.get_name()}.fitBounds({_js(bounds)}, {{animate: false, padding: [12, 12]}});").add_to(m)
    if tiles:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", attr=OSM_ATTRIBUTION).add_to(m)
    return m


def _finish(C, m, *, title: str, legend: str) -> None:
    folium = C.folium
    folium.LayerControl(collapsed=True).add_to(m)
    opts = {
        "attribution": OSM_ATTRIBUTION,
        "title": html.escape(title) if title else None,
        "legend": legend,
    }
    C.RawScript(lambda: f"window.__connectivity.finish({m.get_name()}, {_js(opts)});").add_to(m)


@dataclass(frozen=True)
class RoadData:
    """The road layer's data, encoded once (:func:`road_data`) for several maps of one plan."""

    payload: dict
    rows: int


def road_data(roads: "gpd.GeoDataFrame") -> RoadData:
    """Encode road lines (``highway``, ``name``; any CRS) for :func:`cost_map`'s road layer:
    reprojected to EPSG:4326 and simplified with a 1 m tolerance. Encoding the roads of a
    large town takes about a second; a plan's two cost maps share one encoding."""
    roads = _keep_drawable(roads, "roads")
    cols = {"highway": _cat(roads["highway"].fillna("").astype(str)),
            "name": _cat(roads["name"].fillna("").astype(str) if "name" in roads else [""] * len(roads))}
    return RoadData(payload=_dataset(roads, "roads", "line", cols, simplify_m=1.0), rows=len(roads))


def _road_layer(C, m, roads: RoadData) -> None:
    """Roads as thin grey context lines (no tooltip), below everything else."""
    C.PlanData("roads", roads.payload).add_to(m)
    C.PlanLayer({"data": "roads", "key": "roads", "title": ["Road ", "name"], "tooltip": [["Class", "highway", "", None]],
                 "style": {"weight": 1.5, "opacity": 0.8, "color": ROAD_COLOUR}, "merge": _MERGE_LINES},
                name=_label("Roads", ROAD_COLOUR)).add_to(m)


def _duct_layers(C, m, ducts: "gpd.GeoDataFrame", listed: Sequence[str], colours: dict[str, str], *,
                 by_operator: bool = False):
    """Duct segments coloured by cost per metre (``by_operator``: in each layer's operator colour):
    one layer per listed operator (segments carrying its ducts), "Other ducts" for the rest,
    "Ducts by phase" when phased. Returns the colour map, its range (THB/m), the cost per metre
    of every segment, the finite ones and whether phased."""
    import branca.colormap as cm

    cols, per_m = _duct_columns(ducts)
    finite = per_m[np.isfinite(per_m)]
    if len(finite):
        vmin, vmax = (float(v) for v in np.percentile(finite, [2, 98]))
        vmin, vmax = (vmin, vmax) if vmax > vmin else (float(finite.min()), float(finite.max()) + 1.0)
    else:
        vmin, vmax = 0.0, 1.0
    colormap = cm.LinearColormap(list(COST_COLOURS), vmin=vmin, vmax=vmax)
    cols["colour"] = _binned_colours(per_m, colormap, vmin, vmax, UNKNOWN_COST_COLOUR)
    phased = "phase" in ducts.columns and ducts["phase"].notna().any()
    if phased:
        cols["phase_colour"] = _cat(phase_colours(ducts["phase"].tolist()))
    duct_data = _dataset(ducts, "ducts", "line", cols, simplify_m=1.0)
    C.PlanData("ducts", duct_data).add_to(m)
    duct_style = {"weight": 4, "opacity": 0.9, "lineCap": "round"}
    tooltip = ([["Area", "area", "", None]] if "area" in ducts.columns else []) + _DUCT_TOOLTIP
    base = {"data": "ducts", "title": ["Segment ", "segment_id"], "tooltip": tooltip,
            "color": "colour", "style": duct_style, "merge": _MERGE_LINES}
    for op in listed:
        own = {"color": None, "style": {**duct_style, "color": colours[op]}} if by_operator else {}
        C.PlanLayer({**base, "key": f"ducts:{op}", "filter": {"col": "operators", "has": op}, **own},
                    name=_label(f"{op} ducts", colours[op])).add_to(m)
    in_listed = ducts["operators"].fillna("").astype(str).str.split(",").map(lambda ops: bool(set(ops) & set(listed)))
    if not in_listed.all():
        C.PlanLayer({**base, "key": "ducts:other", "filter": {"col": "operators", "none": listed}},
                    name=_label("Other ducts")).add_to(m)
    if phased:
        C.PlanLayer({**base, "key": "ducts:phase", "color": "phase_colour"},
                    name=_label("Ducts by phase", PHASE_COLOURS[0]), show=False).add_to(m)
    return colormap, vmin, vmax, per_m, finite, phased


def cost_map(
    ducts: "gpd.GeoDataFrame",
    manholes: "gpd.GeoDataFrame | None",
    sites: "gpd.GeoDataFrame",
    *,
    operators: Sequence[str] | Mapping[str, str | None],
    title: str = "Shared duct plan: cost per metre",
    tiles: bool = False,
    roads: "gpd.GeoDataFrame | RoadData | None" = None,
    aerial: "gpd.GeoDataFrame | None" = None,
    services: "gpd.GeoDataFrame | None" = None,
) -> "folium.Map":
    """Map of the duct plan coloured by cost per metre, one layer per operator.

    ``roads`` (optional, lines with ``highway`` and ``name``, or their :func:`road_data`)
    are drawn thin and grey underneath, in a "Roads" layer of their own, to show where the
    plan runs.

    Parameters
    ----------
    ducts
        Duct segments (LineString) with ``segment_id``, ``length_m`` (m) and
        ``operators`` (sorted, comma-separated); ``n_ducts``, ``ducts``,
        ``trench_type``, ``cost_thb`` (THB) and ``phase`` are shown when present
        (without ``cost_thb`` segments get one colour). Any CRS (reprojected to
        EPSG:4326, simplified with a 1 m tolerance).
    manholes
        Points with ``manhole_id``, ``reason``, ``group``; ``None`` or an empty
        frame for none.
    sites
        Points with ``site_id``, ``operator``, ``kind``, ``name``, ``connected``.
    operators
        Operator names, each getting a layer of the segments that carry its ducts,
        or a mapping name -> colour (``None`` for a default colour). Segments whose
        operators are all unlisted go to an "Other ducts" layer.
    title
        Shown on the map.
    tiles
        Add an OpenStreetMap tile layer (needs internet when viewed); everything
        is drawn without it.
    aerial
        Spans (lines) and poles (points) with ``feature`` ('span'|'pole'), ``id``,
        ``removed`` and ``reason`` (:func:`connectivity.corridors.aerial_status`): four
        layers (spans/poles removed/staying), off by default; None for none.
    services
        Buildings reconnected (corridor mode, :func:`connectivity.corridors.service_connections`):
        points with ``building_id``, ``power``, ``telecom`` (``length_m``, ``cost_thb``,
        ``phase`` shown when present); one layer "Buildings reconnected", off by default;
        None for none.

    The map opens on the planned network (ducts and connected sites, with a margin).

    Returns
    -------
    folium.Map
        Save it with :func:`save_map`.

    Raises
    ------
    CRSError
        When a non-empty layer has no CRS.
    InputDataError
        When a required column is missing.
    """
    _require(ducts, _DUCT_REQUIRED, "ducts")
    manholes = _empty_points(ducts.crs, MANHOLE_COLUMNS) if manholes is None or (
        len(manholes) == 0 and not set(MANHOLE_COLUMNS) <= set(manholes.columns)) else manholes
    _require(manholes, MANHOLE_COLUMNS, "manholes")
    _require(sites, ["site_id", "operator", "connected"], "sites")
    C = _folium_classes()
    import branca.colormap as cm

    if isinstance(operators, str):
        operators = [operators]
    ducts = _keep_drawable(ducts, "ducts")
    manholes = _keep_drawable(manholes, "manholes")
    listed = [str(o) for o in (operators.keys() if isinstance(operators, Mapping) else operators)]
    colours = _operator_colours(operators, extra=sorted(set(sites["operator"].astype(str)) - set(listed)))
    bounds = _plan_bounds(ducts, _keep_drawable(sites, "sites"), manholes)
    m = _new_map(C, tiles=tiles, bounds=bounds)
    if roads is not None and not isinstance(roads, RoadData):
        roads = road_data(roads)
    if roads is not None and roads.rows:
        _road_layer(C, m, roads)

    colormap, vmin, vmax, per_m, finite, phased = _duct_layers(C, m, ducts, listed, colours)

    # manholes
    mh_cols = {
        "manhole_id": _cat(manholes["manhole_id"]),
        "reason": _cat(manholes["reason"]),
        "group": _cat(manholes["group"]),
        "colour": _cat(manholes["group"].astype(str).map(MANHOLE_COLOURS).fillna("#444444")),
    }
    mh_data = _dataset(manholes, "manholes", "point", mh_cols, simplify_m=None)
    C.PlanData("manholes", mh_data).add_to(m)
    C.PlanLayer(
        {"data": "manholes", "key": "manholes", "title": ["Manhole ", "manhole_id"],
         "tooltip": [["Reason", "reason", "", None], ["Group", "group", "", None]],
         "fill": "colour", "merge": _MERGE_POINTS,
         "style": {"radius": 4, "weight": 1, "color": "#222222", "fillOpacity": 1}},
        name=_label("Manholes"),
    ).add_to(m)
    if aerial is not None and len(aerial):
        _aerial_layers(C, m, aerial)
    if services is not None and len(services):
        _service_layer(C, m, services)
    _site_layers(C, m, sites, colours)

    swatches = "".join(
        f'<div><span class="sw" style="background:{html.escape(c)}"></span>{html.escape(n)} sites</div>'
        for n, c in colours.items()
    )
    manhole_key = "".join(
        f'<div><span class="sw" style="background:{c};border-radius:50%"></span>{g} manhole</div>'
        for g, c in MANHOLE_COLOURS.items()
    )
    if len(finite):
        legend = _gradient_legend("Duct cost per metre", colormap, vmin, vmax, "THB/m", extra=swatches + manhole_key)
    else:
        legend = (f'<div><span class="sw" style="background:{UNKNOWN_COST_COLOUR}"></span>'
                  f"<b>Duct segments</b> (no costs given)</div>{swatches}{manhole_key}")
    if len(finite) < len(per_m) and len(finite):
        legend += f'<div><span class="sw" style="background:{UNKNOWN_COST_COLOUR}"></span>cost unknown</div>'

    if phased:
        n = int(pd.to_numeric(ducts["phase"], errors="coerce").fillna(0).max())
        legend += "<div><b>Phases</b></div>" + "".join(
            f'<div><span class="sw" style="background:{c}"></span>{html.escape(t)}</div>'
            for t, c in phase_legend([f"Phase {k}" for k in range(1, n + 1)]))
    _finish(C, m, title=title, legend=legend)
    logger.info("cost map: %d segments, %d manholes, %d sites", len(ducts), len(manholes), len(sites))
    return m


def coverage_map(
    hexagons: "gpd.GeoDataFrame",
    buildings: "gpd.GeoDataFrame",
    ducts: "gpd.GeoDataFrame",
    sites: "gpd.GeoDataFrame",
    *,
    operators: Sequence[str] | Mapping[str, str | None] | None = None,
    title: str = "Coverage: buildings passed",
    tiles: bool = False,
) -> "folium.Map":
    """Map of what the plan covers: H3 choropleth of buildings passed, buildings, ducts, sites.

    Parameters
    ----------
    hexagons
        ``Coverage.hexagons``: ``h3``, ``buildings_total``, ``buildings_passed``,
        ``passed_pct`` (0-100, NaN without buildings), ``duct_length_m`` (m).
    buildings
        ``Coverage.buildings``: footprints with a boolean ``passed`` column; may be empty.
    ducts
        Duct segments as for :func:`cost_map`.
    sites
        Sites as for :func:`cost_map`.
    operators
        Operator names or name -> colour, as for :func:`cost_map`, so sites keep
        their colours across both maps; default: the sites' operators, sorted.
    title
        Shown on the map.
    tiles
        Add an OpenStreetMap tile layer (needs internet when viewed).

    Returns
    -------
    folium.Map

    Raises
    ------
    CRSError
        When a non-empty layer has no CRS.
    InputDataError
        When a required column is missing.
    """
    _require(hexagons, ["h3", "buildings_total", "buildings_passed", "passed_pct", "duct_length_m"], "hexagons")
    _require(buildings, ["passed"], "buildings")
    _require(ducts, _DUCT_REQUIRED, "ducts")
    _require(sites, ["site_id", "operator", "connected"], "sites")
    C = _folium_classes()
    import branca.colormap as cm

    hexagons = _keep_drawable(hexagons, "hexagons")
    buildings = _keep_drawable(buildings, "buildings")
    ducts = _keep_drawable(ducts, "ducts")
    bounds = _plan_bounds(ducts, _keep_drawable(sites, "sites"), buildings)
    m = _new_map(C, tiles=tiles, bounds=bounds)

    colormap = cm.LinearColormap(list(COVERAGE_COLOURS), vmin=0, vmax=100)
    pct = pd.to_numeric(hexagons["passed_pct"], errors="coerce").to_numpy(dtype=float)
    hex_cols = {
        "h3": _cat(hexagons["h3"]),
        "buildings_total": _num(hexagons["buildings_total"], 0),
        "buildings_passed": _num(hexagons["buildings_passed"], 0),
        "passed_pct": _num(pct, 1),
        "duct_length_m": _num(hexagons["duct_length_m"], 0),
        "colour": _binned_colours(pct, colormap, 0.0, 100.0, "#cccccc"),
    }
    hex_data = _dataset(hexagons, "hexagons", "polygon", hex_cols, simplify_m=None)
    C.PlanData("hexagons", hex_data).add_to(m)
    C.PlanLayer(
        {"data": "hexagons", "key": "hexagons", "title": ["H3 ", "h3"],
         "tooltip": [["Buildings", "buildings_total", "", 0], ["Passed", "buildings_passed", "", 0],
                     ["Passed", "passed_pct", "%", 1], ["Duct length", "duct_length_m", "m", 0]],
         "fill": "colour",
         "style": {"color": "#555555", "weight": 1, "opacity": 0.6, "fillOpacity": 0.55}},
        name=_label("Buildings passed per hexagon (%)"),
    ).add_to(m)

    b_data = _dataset(buildings, "buildings", "polygon", {"passed": _bool(buildings["passed"])}, simplify_m=1.0)
    C.PlanData("buildings", b_data).add_to(m)
    for passed, key, label in ((True, "buildings:passed", "Buildings passed"),
                               (False, "buildings:not_passed", "Buildings not passed")):
        fill = BUILDING_COLOURS[passed]
        C.PlanLayer(
            {"data": "buildings", "key": key, "filter": {"col": "passed", "eq": passed},
             "merge": _MERGE_POLYGONS, "label": label,
             "style": {"color": "#333333", "weight": 0.5, "fillColor": fill, "fillOpacity": 0.8,
                       "fillRule": "nonzero"}},
            name=_label(label, fill),
        ).add_to(m)

    cols, _ = _duct_columns(ducts)
    duct_data = _dataset(ducts, "ducts", "line", cols, simplify_m=1.0)
    C.PlanData("ducts", duct_data).add_to(m)
    C.PlanLayer(
        {"data": "ducts", "key": "ducts", "title": ["Segment ", "segment_id"], "tooltip": _DUCT_TOOLTIP,
         "merge": _MERGE_LINES, "style": {"color": COVERAGE_DUCT_COLOUR, "weight": 3, "opacity": 0.9, "lineCap": "round"}},
        name=_label("Duct network", COVERAGE_DUCT_COLOUR),
    ).add_to(m)
    if isinstance(operators, str):
        operators = [operators]
    site_ops = sorted(set(sites["operator"].astype(str)))
    colours = _operator_colours(site_ops if operators is None else operators,
                                extra=site_ops if operators is not None else ())
    _site_layers(C, m, sites, colours)

    keys = [("#cccccc", "hexagon without buildings"), (BUILDING_COLOURS[True], "building passed"),
            (BUILDING_COLOURS[False], "building not passed"), (COVERAGE_DUCT_COLOUR, "duct")]
    keys += [(c, f"{n} site") for n, c in colours.items() if n in site_ops]
    legend = _gradient_legend(
        "Buildings passed per hexagon", colormap, 0, 100, "%",
        extra="".join(f'<div><span class="sw" style="background:{html.escape(c)}"></span>{html.escape(t)}</div>'
                      for c, t in keys),
    )
    _finish(C, m, title=title, legend=legend)
    logger.info("coverage map: %d hexagons, %d buildings, %d segments", len(hexagons), len(buildings), len(ducts))
    return m


PLAN_COLOURS = ("#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf", "#999999")


def compare_map(
    plans: Sequence[tuple[str, "gpd.GeoDataFrame"]],
    *,
    title: str = "Plans side by side",
    tiles: bool = False,
) -> "folium.Map":
    """Map of several plans' duct segments, one layer (key ``plan:<i>``) and one colour per plan.

    Parameters
    ----------
    plans
        ``(name, ducts)`` per plan, in order; ducts as for :func:`cost_map` (``segment_id``,
        ``length_m``, ``operators``; any CRS). A plan with no segments gets an empty layer.
    title, tiles
        As for :func:`cost_map`.
    """
    for name, ducts in plans:
        _require(ducts, _DUCT_REQUIRED, f"ducts of {name}")
    C = _folium_classes()
    drawable = [(str(name), _keep_drawable(ducts, f"ducts of {name}")) for name, ducts in plans]
    m = _new_map(C, tiles=tiles, bounds=_bounds(*(d for _, d in drawable)))
    swatches = []
    for i, (name, ducts) in enumerate(drawable):
        colour = PLAN_COLOURS[i % len(PLAN_COLOURS)]
        cols, _ = _duct_columns(ducts)
        C.PlanData(f"plan{i}", _dataset(ducts, f"ducts of {name}", "line", cols, simplify_m=1.0)).add_to(m)
        # later plans drawn thinner on top, so that shared routes show both colours
        C.PlanLayer({"data": f"plan{i}", "key": f"plan:{i}", "title": [f"{name}: segment ", "segment_id"],
                     "tooltip": _DUCT_TOOLTIP, "merge": _MERGE_LINES,
                     "style": {"color": colour, "weight": max(7 - 2 * i, 2), "opacity": 0.85, "lineCap": "round"}},
                    name=_label(name, colour)).add_to(m)
        swatches.append(f'<div><span class="sw" style="background:{colour}"></span>{html.escape(name)}: '
                        f"{pd.to_numeric(ducts['length_m'], errors='coerce').sum() / 1000:,.2f} km</div>")
    _finish(C, m, title=title, legend="<div><b>Duct network per plan</b></div>" + "".join(swatches))
    logger.info("compare map: %d plans", len(drawable))
    return m


_AREA_TOOLTIP = [
    ["Status", "status", "", None],
    ["Reason", "reason", "", None],
    ["Sites connected", "sites_connected", "", 0],
    ["Trench", "trench_km", "km", 2],
    ["Cost", "total_cost", "THB", 0],
    ["Cost per km", "cost_per_km", "THB/km", 0],
    ["Dig-once savings", "savings_pct", "%", 1],
]


def areas_map(
    areas: "gpd.GeoDataFrame",
    ducts: "gpd.GeoDataFrame",
    *,
    operators: Sequence[str] | Mapping[str, str | None],
    title: str = "Areas planned",
    tiles: bool = False,
) -> "folium.Map":
    """Overview of many areas planned at once: the areas coloured by cost per km, the ducts of
    every area one layer per operator, in the operator's colour.

    Parameters
    ----------
    areas
        Polygons with ``area``, ``status``, ``reason``, ``sites_connected``, ``trench_km`` (km),
        ``total_cost`` (THB), ``cost_per_km`` (THB/km, NaN for a failed area: grey) and
        ``savings_pct``; each gets a tooltip with them.
    ducts
        Duct segments as for :func:`cost_map`, with an ``area`` column shown in the tooltip.
    operators
        Operator names (or name -> colour), one duct layer each.

    Returns
    -------
    folium.Map
        Save it with :func:`save_map`.
    """
    _require(areas, ["area", "status", "cost_per_km"], "areas")
    if len(ducts):
        _require(ducts, _DUCT_REQUIRED, "ducts")
    C = _folium_classes()
    import branca.colormap as cm

    if isinstance(operators, str):
        operators = [operators]
    areas = _keep_drawable(areas, "areas")
    ducts = _keep_drawable(ducts, "ducts")
    listed = [str(o) for o in (operators.keys() if isinstance(operators, Mapping) else operators)]
    colours = _operator_colours(operators)
    m = _new_map(C, tiles=tiles, bounds=_bounds(areas, ducts))
    per_km = pd.to_numeric(areas["cost_per_km"], errors="coerce").to_numpy(dtype=float)
    ok = per_km[np.isfinite(per_km)]
    vmin, vmax = (float(ok.min()), float(ok.max())) if len(ok) else (0.0, 1.0)
    vmax = vmax if vmax > vmin else vmin + 1.0
    colormap = cm.LinearColormap(list(COST_COLOURS), vmin=vmin, vmax=vmax)
    cols: dict[str, dict] = {"area": _cat(areas["area"])}
    for key, _, _, decimals in _AREA_TOOLTIP:
        if key in areas.columns:
            cols[key] = _num(areas[key], decimals) if decimals is not None else _cat(areas[key].fillna(""))
    cols["colour"] = _binned_colours(per_km, colormap, vmin, vmax, FAILED_AREA_COLOUR)
    C.PlanData("areas", _dataset(areas, "areas", "polygon", cols, simplify_m=10.0)).add_to(m)
    C.PlanLayer(
        {"data": "areas", "key": "areas", "title": ["", "area"],
         "tooltip": [t for t in _AREA_TOOLTIP if t[1] in cols], "fill": "colour",
         "style": {"color": "#333333", "weight": 1.5, "opacity": 0.9, "fillOpacity": 0.35}},
        name=_label("Areas by cost per km"),
    ).add_to(m)
    if len(ducts):
        _duct_layers(C, m, ducts, listed, colours, by_operator=True)
    legend = _gradient_legend("Area cost per km", colormap, vmin, vmax, "THB/km", extra=(
        f'<div><span class="sw" style="background:{FAILED_AREA_COLOUR}"></span>area not planned</div>'
        + "".join(f'<div><span class="sw" style="background:{html.escape(c)}"></span>{html.escape(n)} ducts</div>'
                  for n, c in colours.items())))
    _finish(C, m, title=title, legend=legend)
    logger.info("areas map: %d areas, %d segments", len(areas), len(ducts))
    return m


def _stable_ids(root: Any, seed: str = "connectivity") -> None:
    """Give every element of a page's tree an id from its position (instead of branca's random
    one), so that the same map renders to the same bytes on every run. In place, before render;
    no library code is patched. Children stay keyed by their (new) names."""
    counter = itertools.count()

    def visit(element: Any) -> None:
        element._id = hashlib.blake2b(f"{seed}:{next(counter)}".encode(), digest_size=16).hexdigest()
        children = list(element._children.values())
        for child in children:
            visit(child)
        element._children = type(element._children)((child.get_name(), child) for child in children)

    visit(root)


def save_map(m: "folium.Map", path: str | os.PathLike) -> Path:
    """Write ``m`` as one self-contained HTML file, atomically.

    The page is written to a temporary file in the target folder and moved into
    place with :func:`os.replace`, so readers never see a half-written map.

    Parameters
    ----------
    m
        A map from :func:`cost_map` or :func:`coverage_map`.
    path
        Target ``.html`` file; its folder must exist.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    from connectivity.atomic import atomic_path

    path = Path(path)
    _stable_ids(m.get_root())
    text = m.get_root().render()
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    logger.debug("wrote %s (%.1f MB)", path, path.stat().st_size / 1e6)
    return path
