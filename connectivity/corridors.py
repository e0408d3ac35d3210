"""Corridor planning mode: the streets a city clears of overhead cables, as the programme does it.

A scenario's ``[corridors]`` table names the streets to take underground (a zone or box,
``streets = "aerial"|"all"``, street names, OSM way ids or corridor lines). Every
selected street becomes a required edge (:attr:`connectivity.design.DesignProblem.required`)
of every operator present on it (the owners of the poles and lines along it, or the
cables they carry; the corridor's default operators when the records say nothing), so the
design stage lays the duct bank along all of them and joins them to each operator's
hub(s) and to each other with the cheapest extra trench (the Steiner engine with the
corridors fixed). :func:`connectivity.aerial.aerial_status` then says, span by span and pole
by pole, what comes down: a pole only when every line and cable it carries goes underground.

All geometry in the network's projected CRS (metres); money in THB.
"""
from __future__ import annotations

import logging
import math
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from connectivity.errors import ConfigError, InputDataError

logger = logging.getLogger(__name__)

STREETS = ("all", "aerial")


# --------------------------------------------------------------------------- settings

@dataclass(frozen=True)
class RecordSpec:
    """A partner file of poles, overhead lines or existing ducts and how its columns map.

    Attributes
    ----------
    file
        The file (Shapefile, GeoPackage, GeoJSON, CSV with x/y or lon/lat), absolute path.
    columns
        Our field -> the file's column name (see :data:`connectivity.records.FIELDS`);
        ``cables`` may also map operator -> column (cables of that operator).
    layer, crs
        GeoPackage layer; CRS of a CSV's x/y columns.
    """

    file: Path
    columns: tuple[tuple[str, Any], ...] = ()
    layer: str | None = None
    crs: str | None = None

    def column(self, name: str, default: Any = None) -> Any:
        return dict(self.columns).get(name, default)


@dataclass(frozen=True)
class DuctPolicy:
    """How many ducts a corridor street gets per operator (``[corridors.ducts]``).

    Per street and operator: ``max(minimum, cables x ducts_per_cable + circuits x
    ducts_per_circuit) + spare_per_operator`` where the records say what the street
    carries, else the operator's fixed ``ducts`` (operator file) as fallback; plus
    ``shared_spares`` ducts per corridor street shared by all (laid in the telecom bank,
    priced with the trench as civil works of the corridor).
    """

    spare_per_operator: int = 1
    shared_spares: int = 2
    ducts_per_cable: float = 1.0
    ducts_per_circuit: float = 1.0
    minimum: tuple[tuple[str, int], ...] = ()

    def minimum_of(self, operator: str) -> int:
        return int(dict(self.minimum).get(operator, 1))


@dataclass(frozen=True)
class CorridorSpec:
    """The scenario's ``[corridors]`` table (paths absolute).

    Attributes
    ----------
    zone, bbox
        Polygon(s) file, or ``(west, south, east, north)`` degrees: the area of the streets.
    streets
        ``"aerial"``: streets carrying an overhead line or pole row; ``"all"``: every street.
    names, ways, lines
        Street names (exact, case-insensitive), OSM way ids, or a file of corridor lines
        (streets along them within ``buffer_m``).
    operators
        Operators laid along a street when no record says who is there (default: every
        operator of the scenario that serves its province).
    sites
        Also connect the scenario's sites (extra demand); hubs are always joined.
    highway_exclude
        Road classes never selected as corridor streets (driveways, parking aisles).
    buffer_m
        A line or pole within this distance of a street's centre line is on that street (m).
    service_distance_m
        Buildings within this distance of an undergrounded street get service connections (m).
    source
        The scenario file the table comes from (named in the errors about the selection).
    poles, overhead_lines, existing_ducts
        Partner record files (``[corridors.poles]`` ...), or None.
    ducts
        The duct bank sizing policy.
    """

    zone: Path | None = None
    bbox: tuple[float, float, float, float] | None = None
    streets: str = "all"
    names: tuple[str, ...] = ()
    ways: tuple[int, ...] = ()
    lines: Path | None = None
    operators: tuple[str, ...] = ()
    sites: bool = False
    highway_exclude: tuple[str, ...] = ("service", "lead_in")
    buffer_m: float = 15.0
    service_distance_m: float = 30.0
    poles: RecordSpec | None = None
    overhead_lines: RecordSpec | None = None
    existing_ducts: RecordSpec | None = None
    ducts: DuctPolicy = field(default_factory=DuctPolicy)
    source: str = "<scenario>"   # the scenario file, named in the messages about the selection

    def files(self) -> list[Path]:
        """Every file the corridors read (for the output-folder guard)."""
        out = [self.zone, self.lines] + [r.file for r in (self.poles, self.overhead_lines, self.existing_ducts) if r]
        return [p for p in out if p is not None]


KEYS = {"zone", "bbox", "streets", "names", "ways", "lines", "operators", "sites", "highway_exclude", "buffer_m",
        "service_distance_m", "poles", "overhead_lines", "existing_ducts", "ducts"}
RECORD_KEYS = {"file", "columns", "layer", "crs"}
DUCT_KEYS = {"spare_per_operator", "shared_spares", "ducts_per_cable", "ducts_per_circuit", "minimum"}


def _path(base: Path, value: Any, where: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: must be a file path string")
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p).resolve()


def _unknown(table: Mapping, allowed: set[str], where: str) -> None:
    bad = sorted(set(table) - allowed)
    if bad:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(bad)}; allowed: {', '.join(sorted(allowed))}")


def _count(value: Any, where: str, *, maximum: int = 64) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise ConfigError(f"{where}: must be a whole number from 0 to {maximum}, got {value!r}")
    return value


def _metres(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 < value <= 1000:
        raise ConfigError(f"{where}: must be a number of metres above 0 and up to 1000, got {value!r}")
    return float(value)


def _record(value: Any, base: Path, where: str, fields: Sequence[str]) -> RecordSpec:
    if isinstance(value, str):
        value = {"file": value}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: must be a file path or a table with `file` and `columns`")
    _unknown(value, RECORD_KEYS, where)
    if "file" not in value:
        raise ConfigError(f"{where}.file is missing")
    cols = value.get("columns", {})
    if not isinstance(cols, dict):
        raise ConfigError(f"{where}.columns: must be a table of field = \"COLUMN\"")
    _unknown(cols, set(fields), f"{where}.columns")
    for k, c in cols.items():
        ok = isinstance(c, str) and c or (k == "cables" and isinstance(c, dict) and c
                                           and all(isinstance(x, str) and x for x in c.values()))
        if not ok:
            raise ConfigError(f"{where}.columns.{k}: must be a column name"
                              + (" or a table of operator = column" if k == "cables" else ""))
    for key in ("layer", "crs"):
        if key in value and not isinstance(value[key], str):
            raise ConfigError(f"{where}.{key}: must be a string")
    frozen = tuple(sorted((k, tuple(sorted(c.items())) if isinstance(c, dict) else c) for k, c in cols.items()))
    return RecordSpec(file=_path(base, value["file"], f"{where}.file"), columns=frozen,
                      layer=value.get("layer"), crs=value.get("crs"))


def _duct_policy(value: Any, where: str, operators: Sequence[str]) -> DuctPolicy:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: must be a table")
    _unknown(value, DUCT_KEYS, where)
    kw: dict[str, Any] = {}
    for key in ("spare_per_operator", "shared_spares"):
        if key in value:
            kw[key] = _count(value[key], f"{where}.{key}")
    for key in ("ducts_per_cable", "ducts_per_circuit"):
        if key in value:
            v = value[key]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 16:
                raise ConfigError(f"{where}.{key}: must be a number from 0 to 16, got {v!r}")
            kw[key] = float(v)
    if "minimum" in value:
        mins = value["minimum"]
        if not isinstance(mins, dict):
            raise ConfigError(f"{where}.minimum: must be a table of operator = ducts")
        unknown = sorted(set(mins) - set(operators))
        if unknown:
            raise ConfigError(f"{where}.minimum: unknown operator(s) {', '.join(unknown)}; known: {', '.join(operators)}")
        kw["minimum"] = tuple(sorted((op, _count(n, f"{where}.minimum.{op}")) for op, n in mins.items()))
    return DuctPolicy(**kw)


def parse_corridors(table: Any, *, base: Path, source: str, operators: Sequence[str]) -> CorridorSpec:
    """The ``[corridors]`` table of a scenario; relative paths resolve against ``base``.

    Raises
    ------
    ConfigError
        On an unknown key, a value of the wrong type, an unknown operator, or a table that
        selects nothing (no zone, box, names, ways or lines); the message names ``source``.
    """
    from connectivity import records

    where = f"{source}: corridors"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table")
    _unknown(table, KEYS, f"{source}: [corridors]")
    kw: dict[str, Any] = {}
    if "zone" in table and "bbox" in table:
        raise ConfigError(f"{where}: give `zone` or `bbox`, not both")
    if "zone" in table:
        kw["zone"] = _path(base, table["zone"], f"{where}.zone")
    if "bbox" in table:
        bbox = table["bbox"]
        if (not isinstance(bbox, list) or len(bbox) != 4
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox)):
            raise ConfigError(f"{where}.bbox: must be [west, south, east, north] in degrees")
        w, s, e, n = (float(v) for v in bbox)
        if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
            raise ConfigError(f"{where}.bbox: {bbox} is not a valid [west, south, east, north] box")
        kw["bbox"] = (w, s, e, n)
    if "streets" in table:
        if table["streets"] not in STREETS:
            raise ConfigError(f"{where}.streets: must be one of {', '.join(STREETS)}, got {table['streets']!r}")
        kw["streets"] = table["streets"]
    for key in ("names", "operators", "highway_exclude"):
        if key in table:
            v = table[key]
            if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
                raise ConfigError(f"{where}.{key}: must be a list of non-empty strings")
            kw[key] = tuple(v)
    unknown = sorted(set(kw.get("operators", ())) - set(operators))
    if unknown:
        raise ConfigError(f"{where}.operators: unknown operator(s) {', '.join(unknown)}; known: {', '.join(operators)}")
    if "ways" in table:
        v = table["ways"]
        if not isinstance(v, list) or not all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in v):
            raise ConfigError(f"{where}.ways: must be a list of OSM way ids (positive integers)")
        kw["ways"] = tuple(v)
    if "lines" in table:
        kw["lines"] = _path(base, table["lines"], f"{where}.lines")
    if "sites" in table:
        if not isinstance(table["sites"], bool):
            raise ConfigError(f"{where}.sites: must be true or false")
        kw["sites"] = table["sites"]
    for key in ("buffer_m", "service_distance_m"):
        if key in table:
            kw[key] = _metres(table[key], f"{where}.{key}")
    for key, kind in (("poles", "poles"), ("overhead_lines", "lines"), ("existing_ducts", "ducts")):
        if key in table:
            kw[key] = _record(table[key], base, f"{where}.{key}", records.FIELDS[kind])
    if "ducts" in table:
        kw["ducts"] = _duct_policy(table["ducts"], f"{where}.ducts", operators)
    if not any(k in kw for k in ("zone", "bbox", "names", "ways", "lines")):
        raise ConfigError(f"{where}: says no streets: give `zone` or `bbox` (with `streets`), `names`, `ways` or `lines`")
    return CorridorSpec(**kw, source=source)


def scenario_corridors(scenario: Any) -> CorridorSpec | None:
    """The scenario's corridors (None outside corridor mode)."""
    table = scenario.corridors
    if table is None:
        return None
    base = Path(scenario.path).parent if scenario.path else Path.cwd()
    return parse_corridors(table, base=base, source=str(scenario.path or "<scenario>"),
                           operators=[o.name for o in scenario.operators])


# --------------------------------------------------------------------------- street selection

def _norm(text: Any) -> str:
    return unicodedata.normalize("NFC", str(text)).strip().casefold()


def zone_geometry(spec: CorridorSpec, crs: Any) -> Any:
    """The zone (union of its polygons) or box in ``crs``, or None when the spec has neither.

    Raises
    ------
    InputDataError
        When the zone file holds no polygon (the row is named).
    """
    import geopandas as gpd
    import shapely

    from connectivity.load import read_vector, row_label

    if spec.bbox is not None:
        box = gpd.GeoSeries([shapely.box(*spec.bbox)], crs="EPSG:4326").to_crs(crs)
        return box.iloc[0]
    if spec.zone is None:
        return None
    zone = read_vector(spec.zone)
    if len(zone) == 0:
        raise InputDataError(f"{spec.zone}: no zone polygon (the layer is empty)")
    wrong = ~zone.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    if wrong.any():
        row = int(np.flatnonzero(wrong)[0])
        raise InputDataError(f"{row_label(spec.zone, row)}: zone must be polygons, found {zone.geom_type.iloc[row]}")
    return shapely.union_all(np.asarray(zone.to_crs(crs).geometry.values))


def select_streets(edges: Any, spec: CorridorSpec, *, aerial_matched: np.ndarray | None = None,
                   zone: Any = None, corridor_lines: Any = None) -> np.ndarray:
    """Boolean mask over ``edges``: the corridor streets.

    A street is selected when it is a road (not a lead-in, not of ``highway_exclude``),
    at least half of it lies in the zone (when there is one), it carries an overhead line
    or pole row when ``streets = "aerial"`` (``aerial_matched``), and it has one of the
    ``names``, ``ways`` or runs along ``corridor_lines`` (when any of them is given).

    Raises
    ------
    ConfigError
        When a listed name or way matches no street, or nothing is selected.
    """
    import shapely

    m = len(edges)
    geoms = np.asarray(edges.geometry.values)
    sel = np.ones(m, dtype=bool)
    if "kind" in edges.columns:
        sel &= (edges["kind"].astype(str) != "lead_in").to_numpy()
    if "highway" in edges.columns and spec.highway_exclude:
        sel &= ~edges["highway"].astype(str).isin(spec.highway_exclude).to_numpy()
    if zone is not None:
        lengths = shapely.length(geoms)
        inside = shapely.length(shapely.intersection(geoms, zone))
        sel &= inside >= 0.5 * np.maximum(lengths, 1e-9)
    if spec.streets == "aerial":
        sel &= np.asarray(aerial_matched if aerial_matched is not None else np.zeros(m, bool), dtype=bool)
    wanted = np.zeros(m, dtype=bool)
    any_filter = False
    if spec.names:
        any_filter = True
        names = edges["name"].map(lambda x: _norm(x) if isinstance(x, str) else "").to_numpy() \
            if "name" in edges.columns else np.full(m, "", dtype=object)
        missing = [n for n in spec.names if _norm(n) not in set(names.tolist())]
        if missing:
            raise ConfigError(f"{spec.source}: corridors.names: no street named {', '.join(map(repr, missing))}")
        wanted |= np.isin(names, [_norm(n) for n in spec.names])
    if spec.ways:
        any_filter = True
        ids = edges["osm_id"].astype(str).to_numpy() if "osm_id" in edges.columns else np.full(m, "", dtype=object)
        keys = [f"way/{w}" for w in spec.ways]
        missing = [str(w) for w, k in zip(spec.ways, keys) if k not in set(ids.tolist())]
        if missing:
            raise ConfigError(f"{spec.source}: corridors.ways: no street edge of OSM way(s) {', '.join(missing)}")
        wanted |= np.isin(ids, keys)
    if spec.lines is not None:
        any_filter = True
        if corridor_lines is not None and len(corridor_lines):
            from connectivity.aerial import match_aerial

            wanted |= match_aerial(edges, corridor_lines.assign(kind="corridor", owner=""), None,
                                   buffer_m=spec.buffer_m).matched
    if any_filter:
        sel &= wanted
    if not sel.any():
        raise ConfigError(f"{spec.source}: corridors: the selection holds no street (check zone/bbox, streets, names, ways, lines)")
    return sel


# --------------------------------------------------------------------------- who is on each street

@dataclass(frozen=True)
class StreetLoad:
    """What hangs on each street, per operator (arrays over edges, rows in operator order).

    Attributes
    ----------
    present
        ``(K, m)`` bool: a record puts the operator on the street (owner or cables).
    cables
        ``(K, m)`` float: most cables of the operator on one pole or line along the
        street (NaN: records say nothing).
    circuits
        ``(K, m)`` float: most power circuits of the operator along the street (NaN: unknown).
    """

    present: np.ndarray
    cables: np.ndarray
    circuits: np.ndarray


def _asset_operators(frame: Any, operators: Sequence[str]) -> list[dict[str, tuple[float, float]]]:
    """Per record: operator -> (cables, circuits) it says about scenario operators."""
    out = []
    ops = set(operators)
    for rec in frame.drop(columns=frame.geometry.name).to_dict("records"):
        said: dict[str, list[float]] = {}
        owner = str(rec.get("owner") or "")
        cables = rec.get("cables")
        if isinstance(cables, dict):
            for op, n in cables.items():
                if op in ops:
                    said.setdefault(op, [np.nan, np.nan])[0] = float(n)
        if owner in ops:
            said.setdefault(owner, [np.nan, np.nan])
            circ = rec.get("circuits")
            if circ is not None and not (isinstance(circ, float) and math.isnan(circ)):
                said[owner][1] = float(circ)
        out.append({k: (v[0], v[1]) for k, v in said.items()})
    return out


def street_loads(edges: Any, operators: Sequence[str], *, lines: Any = None, poles: Any = None,
                 buffer_m: float = 15.0, min_share: float = 0.5) -> StreetLoad:
    """Which operators the records put on each street and what they carry there.

    A pole within ``buffer_m`` of a street, or a line with at least ``min_share`` of the
    street within ``buffer_m`` of it, is on that street. Its owner (when a scenario
    operator) and every operator it lists cables for are present.
    """
    import shapely

    m, K = len(edges), len(operators)
    present = np.zeros((K, m), dtype=bool)
    cables = np.full((K, m), np.nan)
    circuits = np.full((K, m), np.nan)
    index = {op: k for k, op in enumerate(operators)}
    geoms = np.asarray(edges.geometry.values)
    lengths = np.maximum(shapely.length(geoms), 1e-9)

    def record(e: int, said: dict) -> None:
        for op, (c, ci) in said.items():
            k = index[op]
            present[k, e] = True
            if not math.isnan(c):
                cables[k, e] = c if math.isnan(cables[k, e]) else max(cables[k, e], c)
            if not math.isnan(ci):
                circuits[k, e] = ci if math.isnan(circuits[k, e]) else max(circuits[k, e], ci)

    if poles is not None and len(poles):
        said = _asset_operators(poles, operators)
        p_idx, e_idx = shapely.STRtree(geoms).query(np.asarray(poles.geometry.values), predicate="dwithin",
                                                     distance=buffer_m)
        for p, e in zip(p_idx.tolist(), e_idx.tolist()):
            record(e, said[p])
    if lines is not None and len(lines):
        keep = ~lines["kind"].astype(str).str.contains("cable").to_numpy() if "kind" in lines else np.ones(len(lines), bool)
        ov = lines[keep]
        said = _asset_operators(ov, operators)
        bufs = shapely.buffer(np.asarray(ov.geometry.values), buffer_m)
        e_idx, l_idx = shapely.STRtree(bufs).query(geoms, predicate="intersects")
        share = shapely.length(shapely.intersection(geoms[e_idx], bufs[l_idx])) / lengths[e_idx]
        for e, li, s in zip(e_idx.tolist(), l_idx.tolist(), share.tolist()):
            if s >= min_share:
                record(e, said[li])
    return StreetLoad(present=present, cables=cables, circuits=circuits)


def required_edges(selected: np.ndarray, load: StreetLoad, operators: Sequence[str],
                   default: Sequence[str]) -> dict[str, np.ndarray]:
    """Operator -> corridor edge ids it must take underground: the operators the records put
    on a street, or ``default`` where they say nothing."""
    index = {op: k for k, op in enumerate(operators)}
    dflt = np.zeros(len(operators), dtype=bool)
    dflt[[index[o] for o in default]] = True
    out: dict[str, list[int]] = {op: [] for op in operators}
    for e in np.flatnonzero(selected):
        on = load.present[:, e] if load.present[:, e].any() else dflt
        for k in np.flatnonzero(on):
            out[operators[k]].append(int(e))
    return {op: np.array(v, dtype=np.int64) for op, v in out.items() if v}


def duct_counts(operators: Sequence[Any], required: Mapping[str, np.ndarray], load: StreetLoad,
                policy: DuctPolicy, n_edges: int) -> np.ndarray:
    """``(K, m)`` ducts of each operator along each edge.

    On an operator's corridor streets: ``max(minimum, cables x ducts_per_cable +
    circuits x ducts_per_circuit) + spare_per_operator`` where the records give cables or
    circuits there, else its fixed ``ducts`` (+ spare); elsewhere (joining trench) its
    fixed ``ducts``.
    """
    K = len(operators)
    out = np.array([[o.ducts] * n_edges for o in operators], dtype=np.int64).reshape(K, n_edges)
    for k, o in enumerate(operators):
        edges = np.asarray(required.get(o.name, ()), dtype=np.int64)
        if len(edges) == 0:
            continue
        c = load.cables[k, edges]
        ci = load.circuits[k, edges]
        known = ~np.isnan(c) | ~np.isnan(ci)
        need = np.ceil(np.nan_to_num(c) * policy.ducts_per_cable + np.nan_to_num(ci) * policy.ducts_per_circuit)
        sized = np.maximum(policy.minimum_of(o.name), need.astype(np.int64))
        out[k, edges] = np.where(known, sized, o.ducts) + policy.spare_per_operator
    return out


# --------------------------------------------------------------------------- terminals

def anchor_nodes(u: np.ndarray, required: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Operator -> a node of each of its corridor streets: where its network must reach anyway
    (for :func:`connectivity.design.terminals_by_operator`: a site there is not alone)."""
    return {op: np.asarray(u[np.asarray(req, dtype=np.int64)], dtype=np.int64) for op, req in required.items()}


def reachable_sites(attached: Any, node_component: np.ndarray, u: np.ndarray,
                    required: Mapping[str, np.ndarray]) -> np.ndarray:
    """Boolean per attached site: its road component holds a corridor street of its operator."""
    import pandas as pd

    out = np.zeros(len(attached), dtype=bool)
    for i, (op, n) in enumerate(zip(attached["operator"].astype(str), attached["node_id"])):
        req = required.get(op)
        if req is None or len(req) == 0 or pd.isna(n):
            continue
        out[i] = node_component[int(n)] in set(node_component[u[req]].tolist())
    return out


@dataclass(frozen=True)
class CorridorPlan:
    """The corridors of a scenario on its network (plain arrays over edges, operator order).

    Attributes
    ----------
    spec
        The settings.
    selected
        ``(m,)`` bool: corridor streets.
    required
        Operator -> corridor edge ids it takes underground.
    load
        What the records put on each street.
    ducts
        ``(K, m)`` ducts per operator and edge (the duct bank sizing).
    routes
        Existing duct routes (lines with ``owner``, ``free``, ``kind``, network CRS) or None.
    """

    spec: CorridorSpec
    selected: np.ndarray
    required: dict
    load: StreetLoad
    ducts: np.ndarray
    routes: Any = None


def plan_corridors(spec: CorridorSpec, edges: Any, operators: Sequence[Any], *, province: str | None = None,
                   lines: Any = None, poles: Any = None, corridor_lines: Any = None,
                   routes: Any = None) -> CorridorPlan:
    """Select the corridor streets, who goes underground on each, and the duct bank sizes
    (``routes``: existing duct routes, kept for the design stage)."""
    from connectivity.aerial import match_aerial

    names = [o.name for o in operators]
    matched = None
    if spec.streets == "aerial":
        matched = match_aerial(edges, lines, poles, buffer_m=spec.buffer_m,
                               operator_kinds={o.name: o.kind for o in operators}).matched
    selected = select_streets(edges, spec, aerial_matched=matched, zone=zone_geometry(spec, edges.crs),
                              corridor_lines=corridor_lines)
    load = street_loads(edges, names, lines=lines, poles=poles, buffer_m=spec.buffer_m)
    default = list(spec.operators) or [o.name for o in operators if o.serves(province)]
    required = required_edges(selected, load, names, default)
    ducts = duct_counts(operators, required, load, spec.ducts, len(edges))
    logger.info("corridors: %d streets, %.2f km", int(selected.sum()),
                float(edges["length_m"].to_numpy()[selected].sum()) / 1000)
    return CorridorPlan(spec=spec, selected=selected, required=required, load=load, ducts=ducts, routes=routes)


# --------------------------------------------------------------------------- pipeline helpers

def merge_required(a: Mapping[str, np.ndarray] | None, b: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Union of two operator -> required edge ids maps."""
    out = {k: np.asarray(v, dtype=np.int64) for k, v in (a or {}).items()}
    for k, v in b.items():
        out[k] = np.unique(np.concatenate([out.get(k, np.zeros(0, np.int64)), np.asarray(v, dtype=np.int64)]))
    return out


def read_corridor_lines(spec: CorridorSpec, crs: Any) -> Any:
    """The ``lines`` file of the corridors in ``crs`` (None without one).

    Raises
    ------
    InputDataError
        When it holds geometry other than lines (the row is named).
    """
    if spec.lines is None:
        return None
    from connectivity.load import read_vector, row_label

    frame = read_vector(spec.lines)
    frame = frame.explode(index_parts=False, ignore_index=True)
    wrong = ~frame.geom_type.isin(["LineString"]).to_numpy()
    if wrong.any():
        row = int(np.flatnonzero(wrong)[0])
        raise InputDataError(f"{row_label(spec.lines, row)}: corridor lines must be lines, found {frame.geom_type.iloc[row]}")
    return frame[[frame.geometry.name]].to_crs(crs)


def read_existing_routes(spec: CorridorSpec, crs: Any) -> Any:
    """The existing duct routes of ``[corridors.existing_ducts]`` in ``crs`` (None without)."""
    if spec.existing_ducts is None:
        return None
    from connectivity.records import read_records

    from connectivity.network import project

    routes = read_records(spec.existing_ducts, "ducts")
    return project(routes, crs, str(spec.existing_ducts.file), names=[f"id {i!r}" for i in routes["osm_id"]])


def with_records(layers: Any, spec: CorridorSpec) -> Any:
    """``layers`` with the partner pole and overhead-line records added to the OSM ones."""
    from dataclasses import replace

    import geopandas as gpd
    import pandas as pd

    from connectivity.records import read_records

    out = {}
    for key, rec, what in (("poles", spec.poles, "poles"), ("lines", spec.overhead_lines, "lines")):
        if rec is None:
            continue
        frame = read_records(rec, what).to_crs(getattr(layers, key).crs)
        base = getattr(layers, key)
        if len(base):
            frame = gpd.GeoDataFrame(pd.concat([base, frame], ignore_index=True), geometry="geometry", crs=base.crs)
        out[key] = frame
    return replace(layers, **out) if out else layers


def hub_connected(problem: Any, use: np.ndarray) -> dict[str, bool]:
    """Operator -> whether every connected piece of its ducts holds one of its terminals
    (its hub, or its sites): no duct network floats free of the hub. Operators without
    ducts are left out."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    out = {}
    n = problem.n_nodes
    for k, op in enumerate(problem.operators):
        e = np.flatnonzero(use[k])
        if len(e) == 0:
            continue
        g = coo_matrix((np.ones(len(e)), (problem.u[e], problem.v[e])), shape=(n, n))
        labels = connected_components(g, directed=False)[1]
        pieces = set(labels[np.concatenate([problem.u[e], problem.v[e]])].tolist())
        terms = problem.terminals[k]
        out[op] = bool(len(terms)) and pieces <= set(labels[terms].tolist())
    return out


def corridor_summary(corridor: CorridorPlan, edges: Any, problem: Any, joint: Any, status: Any, *,
                     poles: Any = None, services: "Services | None" = None,
                     existing: "ExistingDucts | None" = None) -> dict[str, Any]:
    """The ``corridors`` object of ``summary.json`` (km, metres, counts)."""
    length = problem.length_m
    sel = corridor.selected
    planned = joint.use.any(axis=0)
    under = sel & planned
    from connectivity.aerial import poles_on_streets, removal_summary

    removal = removal_summary(status)
    return {
        "streets": int(sel.sum()),
        "km": round(float(length[sel].sum()) / 1000, 3),
        "km_undergrounded": round(float(length[under].sum()) / 1000, 3),
        "joining_trench_km": round(float(length[planned & ~sel].sum()) / 1000, 3),
        "km_per_operator": {op: round(float(length[np.asarray(corridor.required.get(op, []), dtype=np.int64)].sum())
                                      / 1000, 3) for op in problem.operators if op in corridor.required},
        "hub_connected": hub_connected(problem, joint.use),
        "buildings_reconnected": services.buildings if services is not None else 0,
        "services_cost_thb": {op: round(v * problem.contingency_factor, 2)
                              for op, v in (services.by_operator if services is not None else {}).items()},
        "poles_on_corridor": poles_on_streets(edges, sel, poles, corridor.spec.buffer_m),
        **removal,
        "reused_km": reused_km(problem, joint.use, existing) if existing is not None else {},
    }


# --------------------------------------------------------------------------- duct bank pricing

def bank_width_mm(n_ducts: int, diameter_mm: float, *, layers: int, spacing_mm: float) -> float:
    """Width (mm) of a duct bank of ``n_ducts`` ducts of ``diameter_mm`` in columns of
    ``layers``, ``spacing_mm`` between ducts and at the sides (0 for no duct)."""
    if n_ducts <= 0:
        return 0.0
    columns = math.ceil(n_ducts / max(1, layers))
    return columns * (diameter_mm + spacing_mm) + spacing_mm


def sized_costs(model: Any, ecosts: Any, length_m: np.ndarray, operators: Sequence[Any], corridor: CorridorPlan
                ) -> tuple[Any, np.ndarray, np.ndarray]:
    """Edge costs and duct costs following the duct bank sizing of the corridor streets.

    On each corridor street: each operator's ducts from :func:`duct_counts`; the shared
    spares (``[corridors.ducts] shared_spares`` of ``duct_bank.spare_diameter_mm``, in the
    telecom bank, or the power bank where no telecom operator goes) priced with the trench
    in every mode (``EdgeCosts.spares``); the chambers of a group that much larger as its
    bank is wider (``EdgeCosts.chambers``, per metre of street as the linear manhole cost);
    the open-cut trench of a group's mode
    ``1 + width_share x (bank width / reference width - 1)`` times its price where the bank
    is wider than the reference; the joint mode's extra (``surcharge``) the larger of the
    cost model's joint surcharge and the same width rule applied to both banks plus the
    power/telecom separation. Elsewhere (joining trench) nothing changes.

    Returns
    -------
    (EdgeCosts, duct_cost (K, m) THB, duct_count (K, m))
    """
    from dataclasses import replace

    counts = corridor.ducts
    L = np.asarray(length_m, dtype=float)
    prices = np.array([model.duct_price(int(o.duct_diameter_mm)) for o in operators], dtype=float)
    duct_cost = counts * prices[:, None] * L[None, :]
    main = ecosts.main.copy()
    surcharge = ecosts.surcharge.copy()
    crossing = ecosts.crossing
    spare_n = np.zeros(len(L), dtype=np.int64)
    chambers = np.zeros((len(L), 3))
    spares = np.zeros(len(L))
    spare_price = model.duct_price(int(model.bank_spare_diameter_mm))
    kinds = [o.kind for o in operators]
    on = np.zeros((len(operators), len(L)), dtype=bool)
    for k, o in enumerate(operators):
        on[k, np.asarray(corridor.required.get(o.name, ()), dtype=np.int64)] = True
    policy = corridor.spec.ducts
    ref = model.bank_reference_width_mm
    share = model.bank_width_share
    opts = dict(layers=model.bank_layers, spacing_mm=model.bank_duct_spacing_mm)
    for e in np.flatnonzero(corridor.selected):
        width = {}
        for g in ("telecom", "power"):
            ks = [k for k in range(len(operators)) if kinds[k] == g and on[k, e]]
            n = int(sum(counts[k, e] for k in ks))
            width[g] = (n, max([operators[k].duct_diameter_mm for k in ks], default=0))
        t_n, t_d = width["telecom"]
        p_n, p_d = width["power"]
        if policy.shared_spares:
            if t_n or not p_n:
                t_n, t_d = t_n + policy.shared_spares, max(t_d, model.bank_spare_diameter_mm)
            else:
                p_n, p_d = p_n + policy.shared_spares, max(p_d, model.bank_spare_diameter_mm)
            spare_n[e] = policy.shared_spares
            spares[e] = policy.shared_spares * spare_price * L[e]
        w_t = bank_width_mm(t_n, t_d, **opts)
        w_p = bank_width_mm(p_n, p_d, **opts)
        f_t = 1.0 + share * max(0.0, w_t / ref - 1.0)
        f_p = 1.0 + share * max(0.0, w_p / ref - 1.0)
        per_m = L[e] / model.manhole_spacing_m   # chambers along the street, as the linear manhole cost
        c_t = model.manhole_telecom * (f_t - 1.0) * per_m
        c_p = model.manhole_power * (f_p - 1.0) * per_m
        chambers[e] = (c_t, c_p, c_t + c_p)
        x_j = max(model.joint_surcharge_fraction,
                  share * max(0.0, (w_t + w_p + model.separation_mm) / ref - 1.0))
        base_p = ecosts.main[e, 1]
        if ecosts.trench_type[e, 0] in ("open_cut", "corridor_reuse"):
            main[e, 0] = ecosts.main[e, 0] * f_t
        if ecosts.trench_type[e, 1] in ("open_cut", "corridor_reuse"):
            main[e, 1] = main[e, 2] = base_p * f_p
        surcharge[e] = (base_p + crossing[e]) * (1.0 + x_j) - (main[e, 1] + crossing[e])
    trench = main + crossing[:, None]
    trench[:, 2] = main[:, 1] + crossing + surcharge
    trench = trench + spares[:, None] + chambers
    out = replace(ecosts, trench=trench, main=main, surcharge=surcharge, spares=spares, spare_ducts=spare_n,
                  chambers=chambers)
    return out, duct_cost, counts


def sized_problem(problem: Any, model: Any, ecosts: Any, operators: Sequence[Any], corridor: CorridorPlan
                  ) -> tuple[Any, Any]:
    """``problem`` and ``ecosts`` priced with the corridor's duct banks (:func:`sized_costs`)."""
    from dataclasses import replace

    costs, duct_cost, counts = sized_costs(model, ecosts, problem.length_m, operators, corridor)
    return replace(problem, trench=costs.trench, duct_cost=duct_cost, duct_count=counts), costs


# --------------------------------------------------------------------------- service connections

@dataclass(frozen=True)
class Services:
    """Service connections of the buildings along undergrounded corridor streets.

    Attributes
    ----------
    frame
        One row per reconnected building (points in the network CRS): ``building_id``,
        ``edge_id`` (the street), ``length_m`` (street to building, at least the cost
        model's default), ``power`` (operator of its power service, '' none),
        ``telecom`` (operators of its telecom drops, comma-separated), ``cost_thb``
        (before contingency), ``power_cost_thb`` (of it, the power service; the rest is
        split equally between the telecom operators, whose drops cost the same).
    by_operator
        Operator -> THB of its services and drops (before contingency).
    rows
        Bill-of-quantities rows (power services and telecom drops per operator, THB before
        contingency; ``terms`` by cost key).
    """

    frame: Any
    by_operator: dict
    rows: list

    @property
    def buildings(self) -> int:
        return int(len(self.frame))


def service_connections(edges: Any, streets: np.ndarray, use: np.ndarray, operators: Sequence[Any], buildings: Any,
                        model: Any, *, distance_m: float) -> Services:
    """Every building within ``distance_m`` of an undergrounded corridor street (``streets``
    where ``use`` lays ducts) is reconnected from its nearest such street: a power service
    by the first power operator with ducts there (operator order) and a telecom drop by
    every telecom operator with ducts there (each re-attaches its own aerial drop). Priced
    per connection plus per metre (cost model ``[service]``)."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    cols = ["building_id", "edge_id", "length_m", "power", "telecom", "cost_thb", "power_cost_thb"]
    crs = edges.crs
    names = [o.name for o in operators]
    kinds = [o.kind for o in operators]
    sel = np.flatnonzero(np.asarray(streets, dtype=bool) & np.asarray(use, dtype=bool).any(axis=0))
    empty = Services(gpd.GeoDataFrame(pd.DataFrame(columns=cols), geometry=[], crs=crs), {}, [])
    if buildings is None or len(buildings) == 0 or len(sel) == 0:
        return empty
    geoms = np.asarray(edges.geometry.values)[sel]
    bgeoms = np.asarray(buildings.geometry.values)
    b_idx, s_idx = shapely.STRtree(geoms).query_nearest(bgeoms, max_distance=distance_m, all_matches=False)
    if len(b_idx) == 0:
        return empty
    ids = buildings["osm_id"].astype(str).to_numpy() if "osm_id" in buildings else np.array(
        [f"building/{i + 1}" for i in range(len(buildings))])
    dist = shapely.distance(bgeoms[b_idx], geoms[s_idx])
    recs, points = [], []
    power_n: dict[str, list[float]] = {}
    tel_n: dict[str, list[float]] = {}
    for b, s, d in zip(b_idx.tolist(), s_idx.tolist(), dist.tolist()):
        e = int(sel[s])
        length = max(float(d), model.service_default_length_m)
        ops = [k for k in range(len(names)) if use[k, e]]
        power = next((names[k] for k in ops if kinds[k] == "power"), "")
        tel = [names[k] for k in ops if kinds[k] == "telecom"]
        cost = 0.0
        if power:
            cost += model.service_power_each + model.service_power_per_m * length
            power_n.setdefault(power, []).append(length)
        power_cost = cost
        for op in tel:
            cost += model.service_telecom_each + model.service_telecom_per_m * length
            tel_n.setdefault(op, []).append(length)
        recs.append({"building_id": ids[b], "edge_id": int(edges.index[e]), "length_m": round(length, 2),
                     "power": power, "telecom": ",".join(tel), "cost_thb": cost, "power_cost_thb": power_cost})
        points.append(bgeoms[b].representative_point() if bgeoms[b].geom_type != "Point" else bgeoms[b])
    by_op: dict[str, float] = {}
    rows = []
    for group, counts, each, per_m in (("power", power_n, model.service_power_each, model.service_power_per_m),
                                       ("telecom", tel_n, model.service_telecom_each, model.service_telecom_per_m)):
        word = "power service" if group == "power" else "telecom drop"
        for op in sorted(counts, key=names.index):
            n, metres = len(counts[op]), float(sum(counts[op]))
            c_each, c_m = n * each, metres * per_m
            by_op[op] = by_op.get(op, 0.0) + c_each + c_m
            key = "power" if group == "power" else "telecom"
            rows.append({"item": f"{word} (building reconnection)", "category": "service", "unit": "each",
                         "quantity": float(n), "unit_cost_thb": each, "cost_thb": c_each, "operator": op,
                         "cost_key": f"service.{key}_per_connection",
                         "terms": {f"service.{key}_per_connection": c_each} if c_each else {}})
            rows.append({"item": f"{word} cable, street to building", "category": "service", "unit": "m",
                         "quantity": metres, "unit_cost_thb": per_m, "cost_thb": c_m, "operator": op,
                         "cost_key": f"service.{key}_per_m", "terms": {f"service.{key}_per_m": c_m} if c_m else {}})
    frame = gpd.GeoDataFrame(pd.DataFrame(recs, columns=cols), geometry=points, crs=crs)
    return Services(frame=frame, by_operator=by_op, rows=[r for r in rows if r["cost_thb"] or r["quantity"]])


def service_shares(frame, factor: float = 1.0) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Who pays each service connection of a :class:`Services` ``frame``.

    Returns ``(cost, given, names)``: ``cost[i, j]`` THB of connection ``i`` paid by operator
    ``names[j]`` (``power_cost_thb`` by the power operator, the rest of ``cost_thb`` split
    equally between the telecom operators, times ``factor``: the contingency factor where
    the costs are taken with it) and ``given[i, j]`` whether ``names[j]`` gives it.
    """
    names = sorted({o for col in ("power", "telecom") for v in frame[col].tolist() if isinstance(v, str)
                    for o in v.split(",") if o})
    col = {n: j for j, n in enumerate(names)}
    cost = np.zeros((len(frame), len(names)))
    given = np.zeros((len(frame), len(names)), dtype=bool)
    for i, (p, t, c, pc) in enumerate(zip(frame["power"].tolist(), frame["telecom"].tolist(),
                                          frame["cost_thb"].tolist(), frame["power_cost_thb"].tolist())):
        tel = [o for o in t.split(",") if o] if isinstance(t, str) else []
        if isinstance(p, str) and p:
            cost[i, col[p]] += float(pc) * factor
            given[i, col[p]] = True
        for o in tel:
            cost[i, col[o]] += (float(c) - float(pc)) / len(tel) * factor
            given[i, col[o]] = True
    return cost, given, tuple(names)


def with_service_rows(rows: list[dict], services: Services, contingency_factor: float) -> list[dict]:
    """Bill of quantities ``rows`` with the service rows before the contingency, which then
    covers them too (the rows sum to the plan total with services)."""
    if not services.rows:
        return rows
    body = [r for r in rows if r["category"] != "contingency"]
    cont = [r for r in rows if r["category"] == "contingency"]
    body += [dict(r) for r in services.rows]
    subtotal = sum(r["cost_thb"] for r in body)
    out = body
    for r in cont:
        pct = contingency_factor - 1.0
        out.append({**r, "quantity": subtotal, "cost_thb": subtotal * pct,
                    "terms": {"contingency.percent": subtotal * pct} if pct else {}})
    return out


def with_services(alloc: Any, by_operator: Mapping[str, float], factor: float) -> Any:
    """An :class:`connectivity.allocate.Allocation` with each operator's services (THB
    before contingency, times ``factor``) added to its share in every method: a cost
    of its own, the same alone or together, so the core check does not change."""
    from dataclasses import replace

    if not by_operator:
        return alloc
    shares = {m: {o: v + by_operator.get(o, 0.0) * factor for o, v in s.items()} for m, s in alloc.shares.items()}
    return replace(alloc, total=alloc.total + sum(by_operator.values()) * factor, shares=shares)


def dig_once_with_services(once: Any, by_operator: Mapping[str, float], factor: float) -> Any:
    """:class:`connectivity.design.DigOnce` with each operator's services (THB before
    contingency, times ``factor``) in its stand-alone cost and both totals (the savings stay)."""
    from dataclasses import replace

    if not by_operator:
        return once
    extra = sum(by_operator.values()) * factor
    separate = once.separate_cost + extra
    return replace(once, joint_cost=once.joint_cost + extra, separate_cost=separate,
                   savings_pct=100.0 * once.savings / separate if separate > 0 else 0.0,
                   stand_alone={o: v + by_operator.get(o, 0.0) * factor for o, v in once.stand_alone.items()})


# --------------------------------------------------------------------------- existing ducts

@dataclass(frozen=True)
class ExistingDucts:
    """Existing duct routes on the network's edges and who may use their free ducts.

    Attributes
    ----------
    free
        ``(m,)`` free ducts along each edge (0: no existing route).
    owner
        ``(m,)`` object: owner of the route ('' unknown, None where there is none).
    admitted
        ``(K, m)`` bool: operator k's cables fit in the free ducts of edge e. On each edge
        the operators of the route's group are admitted in turn, the owner first, then in
        operator order, while their ducts (``duct_counts``) still fit: the admitted
        operators together never need more ducts than are free.
    """

    free: np.ndarray
    owner: np.ndarray
    admitted: np.ndarray


def existing_ducts(edges: Any, routes: Any, operators: Sequence[Any], counts: np.ndarray, *,
                   buffer_m: float = 15.0, min_share: float = 0.5) -> ExistingDucts:
    """Match existing duct routes (lines with ``owner``, ``free``, ``kind``) to the edges they
    follow and admit operators to their free ducts (see :class:`ExistingDucts`). A route
    serves the group of its owner (a scenario operator), else 'power' when its ``kind``
    says power, else 'telecom'."""
    import shapely

    m, K = len(edges), len(operators)
    free = np.zeros(m, dtype=np.int64)
    owner = np.full(m, None, dtype=object)
    group = np.full(m, None, dtype=object)
    admitted = np.zeros((K, m), dtype=bool)
    if routes is None or len(routes) == 0 or m == 0:
        return ExistingDucts(free, owner, admitted)
    kinds = {o.name: o.kind for o in operators}
    geoms = np.asarray(edges.geometry.values)
    lengths = np.maximum(shapely.length(geoms), 1e-9)
    bufs = shapely.buffer(np.asarray(routes.geometry.values), buffer_m)
    e_idx, r_idx = shapely.STRtree(bufs).query(geoms, predicate="intersects")
    share = shapely.length(shapely.intersection(geoms[e_idx], bufs[r_idx])) / lengths[e_idx]
    for e, r, s in zip(e_idx.tolist(), r_idx.tolist(), share.tolist()):
        n = int(routes["free"].iloc[r])
        if s < min_share or n <= free[e]:
            continue
        own = str(routes["owner"].iloc[r] or "")
        kind = str(routes["kind"].iloc[r] or "") if "kind" in routes else ""
        free[e], owner[e] = n, own
        group[e] = kinds.get(own) or ("power" if "power" in kind.lower() else "telecom")
    names = [o.name for o in operators]
    for e in np.flatnonzero(free > 0):
        order = sorted((k for k in range(K) if operators[k].kind == group[e]),
                       key=lambda k: (names[k] != owner[e], k))
        left = int(free[e])
        for k in order:
            if counts[k, e] <= left:
                admitted[k, e] = True
                left -= int(counts[k, e])
    return ExistingDucts(free, owner, admitted)


def existing_price_per_duct_m(model: Any) -> float:
    """THB per duct-metre of cable in an existing duct: the reuse price, or (``pricing =
    "rent"``) the present value of the rent over the cost model's horizon."""
    if model.existing_pricing != "rent":
        return float(model.existing_reuse_per_duct_m)
    r, n = model.discount_rate, model.horizon_years
    annuity = n if r == 0 else (1 - (1 + r) ** -n) / r
    return float(model.rent_per_subduct_km_month) * 12.0 / 1000.0 * annuity


def with_existing(problem: Any, ducts: ExistingDucts, price_per_duct_m: float) -> Any:
    """``problem`` where admitted operators may put their cables in existing ducts: their
    duct cost there is ``price_per_duct_m`` x ducts x length and they dig no trench there."""
    from dataclasses import replace

    if not ducts.admitted.any():
        return problem
    counts = problem.duct_counts()
    reuse = counts * problem.length_m[None, :] * price_per_duct_m
    duct_cost = np.where(ducts.admitted, reuse, problem.duct_cost)
    return replace(problem, duct_cost=duct_cost, existing=ducts.admitted.copy())


def reused_km(problem: Any, use: np.ndarray, ducts: ExistingDucts) -> dict[str, float]:
    """Owner of the existing route -> km of route whose free ducts the plan uses."""
    if problem.existing is None:
        return {}
    on = (np.asarray(use, dtype=bool) & problem.existing).any(axis=0)
    out: dict[str, float] = {}
    for e in np.flatnonzero(on):
        key = str(ducts.owner[e] or "unknown")
        out[key] = out.get(key, 0.0) + float(problem.length_m[e]) / 1000
    return {k: round(v, 3) for k, v in sorted(out.items())}
