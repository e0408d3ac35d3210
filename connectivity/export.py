"""Exports of a plan folder for the utility partners: GeoJSON (RFC 7946), GeoPackage, CSV, Shapefile.

Exports read only the plan folder written by ``connectivity plan`` (so they work on plans
made earlier) and follow the schema in ``data/schema/plan_schema.toml``: the layers

``trench``
    Trench segments with every operator in them (``shared`` when two or more).
``ducts``
    One row per trench segment and operator (the operator's duct run).
``manholes``, ``sites``
    As in the plan folder.
``services``
    Buildings reconnected (corridor mode, ``services.geojson``); an operator's export holds
    the services it gives (its name in ``power`` or ``telecom``).
``aerial_spans``, ``aerial_poles``
    Spans and poles with ``removed`` and ``reason`` (``aerial.geojson``, split by geometry:
    a GeoPackage or Shapefile layer holds one geometry type); exported whole to every
    operator, GeoJSON included (a pole carries several operators' cables).
``coverage``, ``roads`` and the tables ``boq``, ``allocation``
    Passed through when the plan folder has them.

All geometry is WGS84 longitude/latitude with at most 7 decimals in every format; every
export carries "© OpenStreetMap contributors" in its metadata. Nothing is written before
the whole plan folder has been read and checked; every file is written atomically.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import math
import os
import shutil
import tempfile
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.geometry

from connectivity.atomic import atomic_path, write_text
from connectivity.errors import ConfigError, InputDataError
from connectivity.load import OSM_ATTRIBUTION, WGS84
from connectivity.output import COORD_DECIMALS, compact_json, geojson_dict
from connectivity.outdir import check_output_folder

log = logging.getLogger(__name__)

LOW_DISK_BYTES = 1 << 20  # a GDAL write failing with less than this free on the disk: the disk is full
SCHEMA_PATH = Path(__file__).resolve().parent / "data" / "schema" / "plan_schema.toml"
FORMATS = ("geojson", "gpkg", "csv", "shp")
OPERATOR_LAYERS = ("ducts", "trench", "manholes", "sites", "services")  # filtered to one operator
AERIAL_LAYERS = ("aerial_spans", "aerial_poles")  # aerial.geojson split by `feature`; whole in every format
CONTEXT_LAYERS = ("coverage", "roads", *AERIAL_LAYERS)  # exported whole (GeoJSON: the aerial layers only)
TABLES = ("boq", "allocation")
GENERATOR = "connectivity export"   # the metadata of every export names it: an earlier export is replaced
GEOMETRY_TYPES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}


# --------------------------------------------------------------------------- schema
@dataclass(frozen=True)
class FieldSpec:
    """One documented field: ``name`` (may end in ``*``: one field per operator), ``type``, ``shp`` name."""

    name: str
    type: str
    unit: str = ""
    required: bool = False
    nullable: bool = False
    shp: str = ""
    description: str = ""

    def matches(self, column: str) -> bool:
        if self.name.endswith("*"):
            return column.startswith(self.name[:-1]) and len(column) > len(self.name) - 1
        return column == self.name


@dataclass(frozen=True)
class LayerSpec:
    name: str
    source: str
    geometry: str | None
    fields: tuple[FieldSpec, ...]
    passthrough: bool = False

    def field_for(self, column: str) -> FieldSpec | None:
        exact = [f for f in self.fields if not f.name.endswith("*") and f.name == column]
        if exact:
            return exact[0]
        pattern = [f for f in self.fields if f.matches(column)]
        return pattern[0] if pattern else None


@lru_cache(maxsize=1)
def load_schema(path: Path = SCHEMA_PATH) -> dict[str, LayerSpec]:
    """The export schema: layer and table name -> :class:`LayerSpec`."""
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    out = {}
    for group in ("layers", "tables"):
        for name, t in data.get(group, {}).items():
            out[name] = LayerSpec(name=name, source=t.get("source", ""), geometry=t.get("geometry"),
                                  fields=tuple(FieldSpec(**f) for f in t.get("fields", [])),
                                  passthrough=bool(t.get("passthrough", False)))
    return out


# --------------------------------------------------------------------------- reading the plan folder
@dataclass(frozen=True)
class PlanFolder:
    """The layers and tables of a plan folder, in WGS84, typed as the schema says.

    Attributes
    ----------
    layers
        ``trench``, ``ducts``, ``sites`` always; ``manholes``, ``services``, ``aerial_spans``,
        ``aerial_poles``, ``coverage``, ``roads`` when present.
    tables
        ``boq`` and ``allocation`` when present (DataFrames).
    operators
        Every operator named by the plan's sites or ducts, sorted.
    """

    path: Path
    name: str
    layers: dict[str, gpd.GeoDataFrame]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    operators: tuple[str, ...] = ()


def _read_json(path: Path, what: str = "JSON") -> Any:
    """The JSON value in the file ``path`` (``what``: JSON or GeoJSON, as the errors name it).

    Raises
    ------
    InputDataError
        One line naming the file: not UTF-8, not valid JSON (nested too deeply for the parser
        too), or unreadable.
    """
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise InputDataError(f"{path}: not a {what} text file (not UTF-8)") from None
    except json.JSONDecodeError as exc:
        raise InputDataError(f"{path}: not valid {what} ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise InputDataError(f"{path}: not valid {what} (arrays or objects nested too deeply)") from None
    except OSError as exc:
        raise InputDataError(f"{path}: cannot read ({exc.strerror})") from None


def _read_feature_collection(path: Path) -> gpd.GeoDataFrame:
    """A GeoJSON FeatureCollection (WGS84) as a GeoDataFrame; one-line :class:`InputDataError` otherwise."""
    data = _read_json(path, "GeoJSON")
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" or not isinstance(data.get("features"), list):
        raise InputDataError(f"{path}: not a GeoJSON FeatureCollection")
    rows, geoms = [], []
    for i, feat in enumerate(data["features"], start=1):
        if not isinstance(feat, dict) or feat.get("type") != "Feature":
            raise InputDataError(f"{path}: feature {i}: not a GeoJSON Feature")
        props = feat.get("properties") or {}
        if not isinstance(props, dict):
            raise InputDataError(f"{path}: feature {i}: properties must be an object")
        geom = feat.get("geometry")
        if geom is None:
            g = None
        else:
            try:
                g = shapely.geometry.shape(geom)
            except Exception as exc:  # shapely raises several types for malformed geometry
                raise InputDataError(f"{path}: feature {i}: invalid geometry ({type(exc).__name__})") from None
            if g.geom_type not in GEOMETRY_TYPES:
                raise InputDataError(f"{path}: feature {i}: unsupported geometry type {g.geom_type}")
            if not g.is_empty:
                x0, y0, x1, y1 = g.bounds
                if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90) or not all(map(math.isfinite, g.bounds)):
                    raise InputDataError(f"{path}: feature {i}: coordinates are not WGS84 longitude/latitude")
        rows.append(props)
        geoms.append(g)
    return gpd.GeoDataFrame(pd.DataFrame(rows, index=range(len(rows))), geometry=geoms, crs=WGS84)


def _read_table(path: Path) -> pd.DataFrame:
    """A table of the plan folder (``boq.csv``, ``allocation.csv``: written whole by ``connectivity
    plan``, every row ending in a line end); one cut short (a copy or disk that stopped mid-row) is
    an error, not a last row of empty cells."""
    if not _ends_in_line_end(path):
        raise InputDataError(f"{path}: cut short (its last row has no line end); plan again with `connectivity plan`")
    try:
        return pd.read_csv(path, comment=None)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputDataError(f"{path}: not a readable CSV table ({str(exc).splitlines()[0]})") from None


def _ends_in_line_end(path: Path) -> bool:
    """Whether the file ``path`` is empty or its last byte is a line end."""
    with open(path, "rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        if not size:
            return True
        fh.seek(size - 1)
        return fh.read(1) == b"\n"


def _typed(values: pd.Series, spec: FieldSpec, where: str) -> pd.Series:
    """``values`` converted to the schema type; bad values raise with the file and field."""
    try:
        if spec.type == "integer":
            num = pd.to_numeric(values, errors="raise")
            if num.notna().any() and not np.all(np.mod(num.dropna().astype(float), 1) == 0):
                raise ValueError("not whole numbers")
            return pd.Series(pd.array(num.astype("Float64").round(0), dtype="Int64"), index=values.index)
        if spec.type == "real":
            return pd.to_numeric(values, errors="raise").astype(float)
        if spec.type == "boolean":
            ok = values.isna() | values.map(lambda v: isinstance(v, (bool, np.bool_)))
            if not ok.all():
                raise ValueError("not true/false")
            return pd.Series(pd.array(values.tolist(), dtype="boolean"), index=values.index)
        return pd.Series([None if _missing(v) else str(v) for v in values], index=values.index, dtype=object)
    except (ValueError, TypeError) as exc:
        raise InputDataError(f"{where}: field `{spec.name}` must be {spec.type} ({exc})") from None


def _missing(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def _inferred(values: pd.Series) -> pd.Series:
    """A column the schema does not type: boolean, integer or real when every value is one, else text."""
    present = [v for v in values if not _missing(v)]
    for kind, test in (("boolean", lambda v: isinstance(v, (bool, np.bool_))),
                       ("integer", lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))),
                       ("real", lambda v: isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_)))):
        if present and all(test(v) for v in present):
            return _typed(values, FieldSpec(name=str(values.name), type=kind), "")
    return _typed(values, FieldSpec(name=str(values.name), type="string"), "")


def _conform(frame: pd.DataFrame, spec: LayerSpec, where: str) -> pd.DataFrame:
    """Columns in schema order, typed; optional absent fields are left out, pass-through fields kept as read."""
    columns: list[str] = []
    for f in spec.fields:
        columns += sorted(c for c in frame.columns if f.matches(c) and c not in columns) if f.name.endswith("*") \
            else ([f.name] if f.name in frame.columns else [])
    missing = [f.name for f in spec.fields if f.required and not f.name.endswith("*") and f.name not in frame.columns]
    if missing:
        raise InputDataError(f"{where}: missing field(s) {', '.join(missing)}")
    geom = [frame.geometry.name] if isinstance(frame, gpd.GeoDataFrame) else []
    extra = [c for c in frame.columns if c not in columns and c not in geom]
    if extra and not spec.passthrough:  # exported all the same: an export never drops data silently
        log.warning("%s: field(s) %s are not in the export schema (data/schema/plan_schema.toml); exported as found",
                    where, ", ".join(map(str, extra)))
    keep = columns + extra
    out = {c: (_typed(frame[c], spec.field_for(c), where) if spec.field_for(c) else _inferred(frame[c])) for c in keep}
    data = pd.DataFrame(out, index=frame.index)
    if isinstance(frame, gpd.GeoDataFrame):
        return gpd.GeoDataFrame(data, geometry=frame.geometry.values, crs=frame.crs)
    return data


def _operators_of(text) -> list[str]:
    return [] if _missing(text) else [o for o in str(text).split(",") if o]


def _duct_counts(row: pd.Series, ops: list[str]) -> dict[str, int | None]:
    """Ducts per operator of one segment: ``ducts_<OP>`` fields, else the ``ducts`` string (``CAT:1,TOT:2``)."""
    counts: dict[str, int | None] = {op: None for op in ops}
    text = row.get("ducts")
    if not _missing(text):
        for part in str(text).split(","):
            op, _, n = part.partition(":")
            if op in counts and n.strip().isdigit():
                counts[op] = int(n)
    for op in ops:
        v = row.get(f"ducts_{op}")
        if not _missing(v):
            counts[op] = int(v)
    return counts


def _trench_and_ducts(raw: gpd.GeoDataFrame, where: str) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    schema = load_schema()
    if len(raw) and "operators" not in raw.columns:
        raise InputDataError(f"{where}: missing field(s) operators")
    raw = raw.copy()
    if len(raw):
        bad = raw.geometry.isna() | ~raw.geometry.geom_type.isin(["LineString", "MultiLineString"])
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputDataError(f"{where}: feature {i + 1}: duct segments must be LineStrings")
    ops = [_operators_of(t) for t in raw["operators"]] if len(raw) else []
    raw["n_operators"] = pd.array([len(o) for o in ops], dtype="Int64")
    raw["shared"] = pd.array([len(o) > 1 for o in ops], dtype="boolean")
    for col in ("segment_id", "length_m", "operators"):
        if col not in raw.columns:
            raw[col] = pd.Series(dtype=object)
    trench = _conform(raw, schema["trench"], where)
    rows, geoms = [], []
    for (_, row), seg_ops, geom in zip(trench.iterrows(), ops, trench.geometry):
        counts = _duct_counts(row, seg_ops)
        for op in seg_ops:
            n = counts[op]
            rows.append({"segment_id": row["segment_id"], "operator": op, "n_ducts": n,
                         "length_m": row["length_m"],
                         "duct_m": None if n is None else float(row["length_m"]) * n,
                         "shared_with": ",".join(o for o in seg_ops if o != op),
                         **{k: row[k] for k in ("trench_type", "phase") if k in trench.columns}})
            geoms.append(geom)
    columns = [f.name for f in schema["ducts"].fields if f.required or f.name in trench.columns]
    ducts = gpd.GeoDataFrame(pd.DataFrame(rows, columns=columns), geometry=geoms, crs=WGS84)
    return trench, _conform(ducts, schema["ducts"], where)


# summary.json keys read by the commands that take plan folders (export, compare): numbers, and objects
SUMMARY_NUMBERS = ("sites_connected", "sites_total", "trench_length_m", "shared_trench_m", "total_cost",
                   "separate_total_cost", "savings", "savings_pct", "gap_pct", "overhead_km_removed", "poles_removable")
SUMMARY_OBJECTS = ("coverage", "cost_range", "allocation", "rent_vs_build")
# ... and inside those objects: numbers of `coverage` and of `cost_range.total`, the per-operator
# shares of each `allocation` rule, each operator's `rent_vs_build` entry
SUMMARY_COVERAGE_NUMBERS = ("buildings_passed", "buildings_passed_pct", "cost_per_building_passed")
SUMMARY_RANGE_NUMBERS = ("p10", "p50", "p90")


def _check_number(path: Path, key: str, v: Any) -> None:
    if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
        raise InputDataError(f"{path}: `{key}` must be a number, not {v!r}")
    if isinstance(v, float) and not math.isfinite(v):   # NaN, Infinity or 1e999 in the file: a plan writes null
        raise InputDataError(f"{path}: `{key}` must be a finite number, not {json.dumps(v)}")


def _check_object(path: Path, key: str, v: Any) -> dict:
    if v is not None and not isinstance(v, dict):
        raise InputDataError(f"{path}: `{key}` must be an object, not {v!r}")
    return v or {}


def _national_folder(folder: Path, per_area: list) -> InputDataError:
    """The error for the national folder of ``connectivity plan-areas`` given as a plan folder:
    it names up to three of its area folders, which are plan folders."""
    names = [r["folder"] for r in per_area if isinstance(r, dict) and isinstance(r.get("folder"), str)]
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return InputDataError(f"{folder}: the national folder of `connectivity plan-areas`, not a plan folder; "
                          f"give one of its area folders ({shown or 'none was planned'})")


def read_summary(path: str | Path) -> dict[str, Any]:
    """The ``summary.json`` of a plan folder, checked: a JSON object stating ``total_cost``, whose headline figures
    (:data:`SUMMARY_NUMBERS`) are finite numbers or null, whose tables (:data:`SUMMARY_OBJECTS`) are
    objects, and whose figures inside those tables that the commands read are finite numbers or null
    (``coverage``, ``cost_range.total``, each ``allocation`` rule's shares per operator) or
    objects (each operator's ``rent_vs_build``).

    Raises
    ------
    InputDataError
        One line naming the file and what is wrong (the key's path, e.g. ``allocation.shapley.TOT``).
    """
    path = Path(path)
    data = _read_json(path)
    if not isinstance(data, dict):
        raise InputDataError(f"{path}: not a plan summary (a JSON object expected, found {type(data).__name__})")
    if isinstance(data.get("per_area"), list):
        raise _national_folder(path.parent, data["per_area"])
    if data.get("total_cost") is None:   # every plan's summary states it: `{}` or another tool's JSON is no plan
        raise InputDataError(f"{path}: not a plan summary (no `total_cost`): give a folder `connectivity plan` wrote")
    for key in SUMMARY_NUMBERS:
        _check_number(path, key, data.get(key))
    tables = {key: _check_object(path, key, data.get(key)) for key in SUMMARY_OBJECTS}
    for key in SUMMARY_COVERAGE_NUMBERS:
        _check_number(path, f"coverage.{key}", tables["coverage"].get(key))
    total = _check_object(path, "cost_range.total", tables["cost_range"].get("total"))
    for key in SUMMARY_RANGE_NUMBERS:
        _check_number(path, f"cost_range.total.{key}", total.get(key))
    for rule, shares in tables["allocation"].items():
        for op, v in _check_object(path, f"allocation.{rule}", shares).items():
            _check_number(path, f"allocation.{rule}.{op}", v)
    for op, entry in tables["rent_vs_build"].items():
        entry = _check_object(path, f"rent_vs_build.{op}", entry)
        _check_number(path, f"rent_vs_build.{op}.npv_owner_rent_income", entry.get("npv_owner_rent_income"))
    return data


def read_plan(plan_dir: str | Path) -> PlanFolder:
    """Read and check a plan folder written by ``connectivity plan``.

    Raises
    ------
    InputDataError
        When the folder is missing, lacks ``ducts.geojson`` or ``sites.geojson``, or a file
        in it is malformed; the message names the file.
    """
    path = Path(plan_dir)
    if not path.is_dir():
        raise InputDataError(f"{path}: not a plan folder (no such directory)" if not path.exists()
                             else f"{path}: not a plan folder (not a directory)")
    summary = path / "summary.json"
    data = read_summary(summary) if summary.is_file() else {}   # first: it tells a plan-areas folder
    for name in ("ducts.geojson", "sites.geojson"):
        if not (path / name).is_file():
            raise InputDataError(f"{path}: not a plan folder ({name} is missing; make one with `connectivity plan`)")
    schema = load_schema()
    name = data["scenario"] if isinstance(data.get("scenario"), str) else path.name
    trench, ducts = _trench_and_ducts(_read_feature_collection(path / "ducts.geojson"), str(path / "ducts.geojson"))
    layers: dict[str, gpd.GeoDataFrame] = {"trench": trench, "ducts": ducts}
    aerial_file = path / "aerial.geojson"
    aerial = _read_feature_collection(aerial_file) if aerial_file.is_file() else None
    for layer in ("sites", "manholes", "services", "coverage", "roads", *AERIAL_LAYERS):
        file = path / schema[layer].source
        if not file.is_file():
            continue
        frame = aerial if layer in AERIAL_LAYERS else _read_feature_collection(file)
        if layer in AERIAL_LAYERS:
            frame = _aerial_part(frame, layer, file)
        if layer in ("sites", "manholes", "services") and len(frame):
            bad = frame.geometry.isna() | (frame.geometry.geom_type != "Point")
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise InputDataError(f"{file}: feature {i + 1}: {layer} must be Points")
        if len(frame) == 0:
            frame = gpd.GeoDataFrame({f.name: pd.Series(dtype=object) for f in schema[layer].fields
                                      if f.required}, geometry=[], crs=WGS84)
        layers[layer] = _conform(frame, schema[layer], str(file))
    sites = layers["sites"]
    if sites["site_id"].duplicated().any():
        dup = sites.loc[sites["site_id"].duplicated(), "site_id"].iloc[0]
        raise InputDataError(f"{path / 'sites.geojson'}: duplicate site_id {dup!r}")
    tables = {}
    for table in TABLES:
        file = path / schema[table].source
        if file.is_file():
            tables[table] = _conform(_read_table(file), schema[table], str(file))
    operators = sorted(set(sites["operator"].dropna()) | set(ducts["operator"].dropna()))
    return PlanFolder(path=path, name=name, layers=layers, tables=tables, operators=tuple(operators))


def _aerial_part(frame: gpd.GeoDataFrame, layer: str, file: Path) -> gpd.GeoDataFrame:
    """The spans (LineStrings) or poles (Points) of ``aerial.geojson``, by its ``feature`` field."""
    feature, geom_types = ("span", ("LineString", "MultiLineString")) if layer == "aerial_spans" else ("pole", ("Point",))
    if len(frame) == 0:
        return frame
    if "feature" not in frame.columns:
        raise InputDataError(f"{file}: missing field(s) feature")
    unknown = ~frame["feature"].isin(["span", "pole"])
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise InputDataError(f"{file}: feature {i + 1}: field `feature` must be span or pole, not {frame['feature'].iloc[i]!r}")
    keep = (frame["feature"] == feature).to_numpy()
    bad = keep & (frame.geometry.isna() | ~frame.geometry.geom_type.isin(geom_types)).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputDataError(f"{file}: feature {i + 1}: a {feature} must be a {' or '.join(geom_types)}")
    part = frame[keep].reset_index(drop=True)
    if feature == "pole" and "length_m" in part.columns and part["length_m"].isna().all():
        part = part.drop(columns="length_m")  # poles have no length
    return part


# --------------------------------------------------------------------------- selecting
def operator_view(plan: PlanFolder, operator: str) -> dict[str, gpd.GeoDataFrame]:
    """The operator's ducts, the trench segments it uses, the manholes on them, its sites and
    the service connections it gives (its name in ``power`` or ``telecom``).

    Manholes are chosen by their ``operators`` field when the plan has one, else as those
    within 1e-6 degrees (about 0.1 m) of the operator's trench segments.

    Raises
    ------
    ConfigError
        When the plan has no such operator.
    """
    if operator not in plan.operators:
        raise ConfigError(f"{plan.path}: unknown operator {operator!r}; the plan has: {', '.join(plan.operators) or 'none'}")
    L = plan.layers
    ducts = L["ducts"][L["ducts"]["operator"] == operator]
    trench = L["trench"][np.array([operator in _operators_of(t) for t in L["trench"]["operators"]], dtype=bool)]
    out = {"ducts": ducts, "trench": trench}
    if "manholes" in L:
        mh = L["manholes"]
        if "operators" in mh.columns:
            keep = np.array([operator in _operators_of(t) for t in mh["operators"]], dtype=bool)
        elif len(trench) and len(mh):
            tree = shapely.STRtree(np.asarray(trench.geometry.values))
            hits = tree.query(np.asarray(mh.geometry.values), predicate="dwithin", distance=1e-6)
            keep = np.zeros(len(mh), dtype=bool)
            keep[np.unique(hits[0])] = True
        else:
            keep = np.zeros(len(mh), dtype=bool)
        out["manholes"] = mh[np.asarray(keep, dtype=bool)]
    out["sites"] = L["sites"][L["sites"]["operator"] == operator]
    if "services" in L:
        sv = L["services"]
        keep = np.array([operator in _operators_of(p) or operator in _operators_of(t)
                         for p, t in zip(sv.get("power", [None] * len(sv)), sv.get("telecom", [None] * len(sv)))],
                        dtype=bool)
        out["services"] = sv[keep]
    return {k: v for k, v in ((k, out.get(k)) for k in OPERATOR_LAYERS) if v is not None}


def _safe_name(name: str) -> str:
    """``name`` made safe as a file or layer name: NFC, Unicode letters, marks (Thai vowels and
    tones) and digits kept, with ``.``, ``-`` and ``_``; anything else (``/``, spaces, ...) -> ``_``."""
    name = unicodedata.normalize("NFC", name)
    safe = "".join(c if unicodedata.category(c)[0] in "LMN" or c in "._-" else "_" for c in name)
    if not safe.strip("._") or safe[0] == ".":
        safe = "_" + safe  # never hidden, never empty or only dots
    return safe


def operator_file_names(operators) -> dict[str, str]:
    """The one naming function for files, folders and layers per operator: operator -> name.

    Names are :func:`_safe_name` of the operator; operators whose names would collide after
    that, or differ only by case (``AIS/3BB`` and ``AIS 3BB``; ``TOT`` and ``tot``: the same
    file on case-insensitive file systems and the same GeoPackage table), each get a suffix
    made from their exact name (``AIS_3BB-1a2b3c``): distinct, and the same in every run.
    """
    ops = sorted(set(operators))
    base = {op: _safe_name(op) for op in ops}
    groups: dict[str, list[str]] = {}
    for op in ops:
        groups.setdefault(base[op].casefold(), []).append(op)
    names = {}
    for op in ops:
        if len(groups[base[op].casefold()]) == 1:
            names[op] = base[op]
        else:
            names[op] = f"{base[op]}-{hashlib.sha1(op.encode('utf-8')).hexdigest()[:6]}"
    folded = [n.casefold() for n in names.values()]
    if len(set(folded)) != len(folded):  # a suffixed name equal to another operator's plain name
        clash = sorted(op for op, n in names.items() if folded.count(n.casefold()) > 1)
        raise ConfigError(f"operators {', '.join(map(repr, clash))} map to the same export file name; rename one")
    return names


# --------------------------------------------------------------------------- writing
def _rounded(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """WGS84, coordinates rounded to 7 decimals, polygons right-hand (exterior counter-clockwise)."""
    geoms = np.asarray(gdf.geometry.values)
    geoms = shapely.transform(geoms, lambda c: np.round(c, COORD_DECIMALS))
    geoms = shapely.orient_polygons(geoms)
    return gpd.GeoDataFrame(gdf.drop(columns=gdf.geometry.name), geometry=list(geoms), crs=WGS84)


def metadata(plan: PlanFolder, operator: str | None) -> dict[str, str]:
    """Key/value metadata of an export."""
    return {"attribution": OSM_ATTRIBUTION, "license": "ODbL 1.0 (data from OpenStreetMap)",
            "plan": plan.name, "operator": operator or "all", "crs": WGS84,
            "generator": GENERATOR, "schema": "data/schema/plan_schema.toml (version 1)"}


def _feature_collection(plan: PlanFolder, layers: dict[str, gpd.GeoDataFrame], operator: str) -> dict:
    features = []
    for layer, frame in layers.items():
        for feat in geojson_dict(frame, name=layer)["features"]:
            feat["properties"] = {"layer": layer, **feat["properties"]}
            features.append(feat)
    meta = metadata(plan, operator)
    return {"type": "FeatureCollection", "name": f"{plan.name} - {operator}", "attribution": OSM_ATTRIBUTION,
            "license": meta["license"], "operator": operator, "features": features}


def _write_geojson(plan: PlanFolder, operator: str, path: Path) -> Path:
    layers = dict(operator_view(plan, operator))
    layers.update({k: plan.layers[k] for k in AERIAL_LAYERS if k in plan.layers})  # roads, coverage: too big
    text = compact_json(_feature_collection(plan, layers, operator))
    write_text(path, text + "\n")
    return path


def _gpkg_layers(plan: PlanFolder, operator: str | None) -> dict[str, gpd.GeoDataFrame]:
    if operator is not None:
        layers = dict(operator_view(plan, operator))
    else:
        layers = {k: plan.layers[k] for k in OPERATOR_LAYERS if k in plan.layers}
    layers.update({k: plan.layers[k] for k in CONTEXT_LAYERS if k in plan.layers})
    if operator is None:
        for op in plan.operators:
            for k, v in operator_view(plan, op).items():
                layers[f"{operator_file_names(plan.operators)[op]}_{k}"] = v
    return layers


def _write_frame(frame: gpd.GeoDataFrame | pd.DataFrame, path: Path, *, driver: str, layer: str,
                 geometry_type: str | None = None, **kw) -> None:
    import pyogrio

    if isinstance(frame, gpd.GeoDataFrame):
        frame = _rounded(frame)
        if len(frame) == 0:
            kw["geometry_type"] = geometry_type or "Unknown"
    frame = frame.reset_index(drop=True)
    try:
        pyogrio.write_dataframe(frame, path, layer=layer, driver=driver, **kw)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError):
        # GDAL reports a full disk as some SQLite or driver failure; say what it is
        if shutil.disk_usage(path.parent).free < LOW_DISK_BYTES:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)) from None  # the CLI names --out
        raise


def _write_gpkg(plan: PlanFolder, operator: str | None, path: Path) -> Path:
    layers = _gpkg_layers(plan, operator)
    meta = metadata(plan, operator)
    with atomic_path(path) as tmp_file:
        tmp_file.unlink()
        tmp = tmp_file.with_name(tmp_file.name + ".gpkg")  # GDAL wants the .gpkg extension
        try:
            _write_gpkg_layers(plan, layers, meta, tmp)
            os.replace(tmp, tmp_file)
        finally:
            tmp.unlink(missing_ok=True)
    return path


def _write_gpkg_layers(plan: PlanFolder, layers: dict[str, gpd.GeoDataFrame], meta: dict[str, str], tmp: Path) -> None:
    schema = load_schema()
    for name, frame in layers.items():
        base = name.rsplit("_", 1)[-1] if name not in schema else name
        _write_frame(frame, tmp, driver="GPKG", layer=name, geometry_type=schema[base].geometry,
                     layer_metadata={"attribution": OSM_ATTRIBUTION}, append=tmp.exists())
    for name, table in plan.tables.items():
        _write_frame(table, tmp, driver="GPKG", layer=name, append=True)
    _write_frame(pd.DataFrame({"key": list(meta), "value": list(meta.values())}), tmp, driver="GPKG",
                 layer="metadata", append=True, dataset_metadata=meta)


def _csv_frame(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    frame = _rounded(frame)
    geoms = np.asarray(frame.geometry.values)
    out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    out["wkt"] = shapely.to_wkt(geoms, rounding_precision=COORD_DECIMALS, trim=True)
    if len(frame) and (shapely.get_type_id(geoms) == 0).all():
        out["lon"] = shapely.get_x(geoms)
        out["lat"] = shapely.get_y(geoms)
    return out


def _sidecar(plan: PlanFolder, operator: str | None, layers: list[str], extra: list[str] = ()) -> str:
    meta = metadata(plan, operator)
    lines = [f"{k}: {v}" for k, v in meta.items()] + ["layers: " + ", ".join(layers), *extra]
    return "\n".join(lines) + "\n"


def _write_csv_folder(plan: PlanFolder, operator: str, folder: Path) -> list[Path]:
    layers = dict(operator_view(plan, operator))
    layers.update({k: plan.layers[k] for k in CONTEXT_LAYERS if k in plan.layers})
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in layers.items():
        p = folder / f"{name}.csv"
        write_text(p, _csv_frame(frame).to_csv(index=False, lineterminator="\n"))
        written.append(p)
    for name, table in plan.tables.items():
        p = folder / f"{name}.csv"
        write_text(p, table.to_csv(index=False, lineterminator="\n"))
        written.append(p)
    p = folder / "metadata.txt"
    write_text(p, _sidecar(plan, operator, [w.stem for w in written], [
        "geometry: column `wkt` (WKT, WGS84 lon/lat, 7 decimals); point layers also `lon`, `lat`",
        "booleans: True/False; empty cell: no value"]))
    return written + [p]


def _cut_utf8(name: str, limit: int) -> str:
    """``name`` cut to at most ``limit`` bytes of UTF-8 at a character boundary."""
    return name.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


def shapefile_names(columns: list[str], spec: LayerSpec) -> dict[str, str]:
    """Shapefile field names (at most 10 bytes of UTF-8, the DBF limit) of ``columns``: the
    schema's ``shp`` names, else the name, cut to 10 bytes at a character boundary (a Thai
    operator name takes 3 bytes a letter; GDAL would cut it mid-letter) and made unique with a number."""
    out: dict[str, str] = {}
    for c in columns:
        f = spec.field_for(c)
        if f is not None and f.shp:
            name = f.shp.replace("*", c[len(f.name) - 1:]) if f.name.endswith("*") else f.shp
        else:
            name = c
        base = name = _cut_utf8(name, 10)
        i = 1
        taken = {n.casefold() for n in out.values()}   # DBF field names are case-insensitive
        while name.casefold() in taken:
            suffix = str(i)
            name = _cut_utf8(base, 10 - len(suffix)) + suffix
            i += 1
        out[c] = name
    return out


def _write_shp_folder(plan: PlanFolder, operator: str, folder: Path) -> list[Path]:
    schema = load_schema()
    layers = dict(operator_view(plan, operator))
    layers.update({k: plan.layers[k] for k in CONTEXT_LAYERS if k in plan.layers})
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory(dir=folder, prefix=".export-") as tmpdir:
        tmp = Path(tmpdir)
        for name, frame in layers.items():
            cols = [c for c in frame.columns if c != frame.geometry.name]
            names = shapefile_names(cols, schema[name])
            out = frame.rename(columns=names)
            for c in out.columns:  # DBF has no null boolean: keep booleans as booleans, nulls as false
                if str(out[c].dtype) == "boolean":
                    out[c] = out[c].fillna(False).astype(bool)
            _write_frame(out, tmp / f"{name}.shp", driver="ESRI Shapefile", layer=name,
                         geometry_type=schema[name].geometry, encoding="UTF-8")
            mapping = [f"  {c} -> {n}" for c, n in names.items()]
            (tmp / f"{name}.txt").write_text(_sidecar(plan, operator, [name], [
                "encoding: UTF-8 (see .cpg)", "fields (export schema name -> shapefile name):", *mapping]),
                encoding="utf-8")
        for name, table in plan.tables.items():
            (tmp / f"{name}.csv").write_text(table.to_csv(index=False, lineterminator="\n"), encoding="utf-8")
        for f in sorted(tmp.iterdir()):
            os.replace(f, folder / f.name)  # each file whole; renames within one folder
            written.append(folder / f.name)
    return written


def export(plan_dir: str | Path, out: str | Path, *, fmt: str, operator: str | None = None) -> list[Path]:
    """Export a plan folder for one operator (or all) in ``fmt``; returns the files written.

    Parameters
    ----------
    fmt
        ``geojson`` (one FeatureCollection per operator, a ``layer`` property per feature),
        ``gpkg`` (one file: every layer and table), ``csv`` or ``shp`` (a folder with a
        file per layer).
    operator
        Export only this operator's ducts, trench segments, manholes and sites. When
        ``None``: geojson writes ``OUT/<operator>.geojson`` for every operator, csv and
        shp a sub-folder ``OUT/<operator>/`` each, gpkg one file with the whole plan's
        layers plus ``<operator>_<layer>`` layers per operator.

    Raises
    ------
    InputDataError
        When the plan folder is missing or malformed (nothing is written then).
    ConfigError
        On an unknown format or operator, or when ``out`` is of the wrong kind.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    plan = read_plan(plan_dir)
    operators = [operator] if operator is not None else list(plan.operators)
    for op in operators:
        operator_view(plan, op)  # unknown operator: fail before writing anything
    names = operator_file_names([*plan.operators, *operators])
    out = Path(out)
    single_file = fmt == "gpkg" or (fmt == "geojson" and operator is not None)
    if single_file:
        if out.is_dir():
            out = out / (f"{names[operator]}.{fmt}" if operator else f"{_safe_name(plan.path.name)}.gpkg")
        if not out.parent.is_dir():
            raise ConfigError(f"{out.parent}: output folder " +
                              ("is a file, not a folder" if out.parent.exists() else "does not exist"))
        if out.resolve() in {p.resolve() for p in plan.path.iterdir()}:
            raise ConfigError(f"{out}: is a file of the plan folder being exported; choose another --out")
        if out.exists() and not _earlier_export(out, fmt):  # replace an earlier export, never another file
            raise ConfigError(f"{out}: an existing file that is not a .{fmt} export; choose another --out "
                              "(nothing was written)")
        check_output_folder(out.parent, inputs=[plan.path], what="--out folder")  # writable, not the plan folder
    elif out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: must be a folder for {fmt} exports, but it is a file")
    else:  # never into the plan folder itself; the folder must be writable (before any work)
        check_output_folder(out, inputs=[plan.path], what="--out folder")
    if fmt == "gpkg":
        return [_write_gpkg(plan, operator, out)]
    if fmt == "geojson" and operator is not None:
        return [_write_geojson(plan, operator, out)]
    return _write_folder(plan, fmt, operator, names, out)


def _earlier_export(path: Path, fmt: str) -> bool:
    """Whether the existing file ``path`` is a ``fmt`` export this command wrote (which it may
    replace): a GeoPackage whose ``metadata`` table names ``connectivity export`` as its generator, or one
    operator's FeatureCollection (the members before ``features`` are those of :func:`_feature_collection`).
    A user's roads.gpkg or a plan's ducts.geojson is not one."""
    if path.suffix.lower() != f".{fmt}" or not path.is_file():
        return False
    try:
        if fmt == "gpkg":  # SQLite, opened immutable: GDAL would write a .aux.xml beside a foreign file
            import sqlite3

            with contextlib.closing(sqlite3.connect(path.resolve().as_uri() + "?mode=ro&immutable=1", uri=True)) as db:
                row = db.execute("SELECT value FROM metadata WHERE key = 'generator'").fetchone()
            return row is not None and row[0] == GENERATOR
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
        end = head.find(b',"features":[')
        members = json.loads(head[:end] + b"}") if end > 0 else {}
    except Exception:  # unreadable, not a GeoPackage, not JSON: not an export
        return False
    return isinstance(members, dict) and members.get("type") == "FeatureCollection" and \
        set(members) == {"type", "name", "attribution", "license", "operator"}


def _write_folder(plan: PlanFolder, fmt: str, operator: str | None, names: dict[str, str], out: Path) -> list[Path]:
    """A folder export, whole or not at all: every file is written into a hidden staging folder
    inside ``out`` first and moved into place only when all are written (a full disk or an
    interrupt leaves ``out`` as it was; a folder this call created is removed again)."""
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(dir=out, prefix=".export-") as tmpdir:
            stage = Path(tmpdir)
            if fmt == "geojson":  # every operator (one operator's GeoJSON is a single file)
                staged = [_write_geojson(plan, op, stage / f"{names[op]}.geojson") for op in plan.operators]
            else:
                writer = _write_csv_folder if fmt == "csv" else _write_shp_folder
                staged = writer(plan, operator, stage) if operator is not None else [
                    p for op in plan.operators for p in writer(plan, op, stage / names[op])]
            written = []
            for p in staged:
                target = out / p.relative_to(stage)
                target.parent.mkdir(exist_ok=True)
                os.replace(p, target)  # each file whole; renames within one file system
                written.append(target)
    except BaseException:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    return written
