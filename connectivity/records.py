"""Partner records: pole, overhead-line and existing-duct files with their own column names.

A utility's pole file rarely says ``owner``; the scenario maps our fields to its columns
(``[corridors.poles] file = "poles.shp", columns = {owner = "OWNER_NAME", ...}``), so
real files work without editing them. Fields (:data:`FIELDS`):

* ``id`` - the record's id (default: ``<file stem>/<row>``);
* ``owner`` - who owns the pole, line or duct (an operator name of the scenario, or anyone else);
* ``kind`` - free text (``power_line``, ``telecom_pole``, ...; 'cable' in it marks an underground cable);
* ``cables`` - cables per operator: one column of text ``"TOT:2,CAT:1"``, or a table
  operator -> column holding that operator's cable count;
* ``circuits`` - power circuits the owner carries; ``voltage`` - volts (kept for reports);
* ``free`` - (existing ducts) count of free ducts on the route;
* ``x``/``y`` or ``lon``/``lat`` - point coordinates of a CSV (x/y with the record's ``crs``).

Without a mapping, a column already named like the field is used (``operator`` counts as
``owner``). Errors name the file and the column (and the row for bad values).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from connectivity.errors import InputDataError

FIELDS = {
    "poles": ("id", "owner", "kind", "cables", "circuits", "voltage", "x", "y", "lon", "lat"),
    "lines": ("id", "owner", "kind", "cables", "circuits", "voltage", "x", "y", "lon", "lat"),
    "ducts": ("id", "owner", "kind", "free", "x", "y", "lon", "lat"),
}
GEOMETRY = {"poles": "Point", "lines": "LineString", "ducts": "LineString"}


def _column(frame: Any, column: str, spec: Any, field: str, path: Path) -> str:
    """The file's column mapped to ``field`` (exact name, else the one name equal but for case:
    the CSV reader lower-cases the names it knows, such as LON)."""
    if column not in frame.columns:
        same = [c for c in frame.columns if str(c).casefold() == column.casefold()]
        if len(same) == 1:
            return same[0]
        cols = [str(c) for c in frame.columns if c != "geometry"]
        raise InputDataError(f"{path}: column {column!r} not found (mapped to `{field}` in the scenario's "
                             f"columns table); the file has: {', '.join(cols)}")
    return column


MAX_COUNT = 10_000
"""Most cables, circuits or free ducts one record may count (more is a typo; 1e300 broke the int cast)."""


def _numbers(values: Any, path: Path, column: str, *, integer: bool = True) -> np.ndarray:
    """Non-negative numbers of a column (NaN where empty); counts (``integer``) at most
    :data:`MAX_COUNT`; a bad value names file, row and column."""
    from connectivity.load import row_label

    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip()):
            continue
        try:
            x = float(v)
        except (TypeError, ValueError):
            x = float("nan")
        if not math.isfinite(x) or x < 0 or (integer and (x != int(x) or x > MAX_COUNT)):
            raise InputDataError(f"{row_label(path, i)}: column {column!r}: {v!r} is not a "
                                 + (f"whole number from 0 to {MAX_COUNT:,}" if integer else "number of 0 or more"))
        out[i] = x
    return out


def _cables_text(values: Any, path: Path, column: str) -> list[dict[str, int]]:
    from connectivity.load import row_label

    out = []
    for i, v in enumerate(values):
        said: dict[str, int] = {}
        if isinstance(v, str) and v.strip():
            for part in v.replace(";", ",").split(","):
                if not part.strip():
                    continue
                op, sep, n = part.partition(":")
                try:
                    count = int(n.strip()) if sep else -1
                except ValueError:
                    count = -1
                if not op.strip() or not 0 <= count <= MAX_COUNT:
                    raise InputDataError(f"{row_label(path, i)}: column {column!r}: {v!r} is not a list of "
                                         f"OPERATOR:count (e.g. 'TOT:2,CAT:1'; counts from 0 to {MAX_COUNT:,})")
                said[op.strip()] = said.get(op.strip(), 0) + count
        out.append(said)
    return out


def read_records(spec: Any, what: str) -> Any:
    """Read a partner file of ``what`` ('poles', 'lines' or 'ducts') through its column mapping.

    Returns a GeoDataFrame (the file's CRS) with ``osm_id`` (the record id), ``owner``,
    ``kind``, ``cables`` (dict operator -> count, empty when unknown), ``circuits``,
    ``voltage`` (float, NaN unknown) and, for ducts, ``free`` (int).

    Raises
    ------
    InputDataError
        When a mapped column is missing (naming the file and the column), a value is not a
        number, or a geometry is of the wrong type (naming the row).
    """
    import geopandas as gpd
    import pandas as pd

    from connectivity import load

    path = Path(spec.file)
    columns = dict(spec.columns)
    geometry = GEOMETRY[what]
    if path.suffix.lower() in load.CSV_SUFFIXES:
        load._check_file(path)
        table = load.read_csv_table(path)
        frame = _csv_points(table, columns, path, spec.crs)
    else:
        frame = load.read_vector(path, layer=spec.layer, crs=spec.crs)
    if len(frame) == 0:
        raise InputDataError(f"{path}: no {what} (the layer is empty)")
    if geometry == "LineString":
        frame = frame.explode(index_parts=False, ignore_index=True)
    wrong = (frame.geom_type != geometry).to_numpy()
    if wrong.any():
        row = int(np.flatnonzero(wrong)[0])
        raise InputDataError(f"{load.row_label(path, row)}: expected {geometry} geometry, found {frame.geom_type.iloc[row]}")

    def col(field: str, aliases: tuple[str, ...] = ()) -> str | None:
        if field in columns:
            return _column(frame, columns[field], spec, field, path)
        lower = {str(c).lower(): c for c in frame.columns}
        for name in (field,) + aliases:
            if name in lower:
                return lower[name]
        return None

    n = len(frame)
    c_id = col("id", ("osm_id",))
    c_owner = col("owner", ("operator",))
    if c_owner is None:
        raise InputDataError(f"{path}: no `owner` column (map one: columns = {{owner = \"YOUR_COLUMN\"}})")
    c_kind = col("kind")
    ids = frame[c_id].astype(str).tolist() if c_id else [f"{path.stem}/{i + 1}" for i in range(n)]
    owner = frame[c_owner].fillna("").astype(str).str.strip().tolist()
    kind = (frame[c_kind].fillna("").astype(str).tolist() if c_kind
            else [{"poles": "pole", "lines": "line", "ducts": "duct"}[what]] * n)
    out = {"osm_id": ids, "owner": owner, "kind": kind}
    if what in ("poles", "lines"):
        mapping = columns.get("cables")
        if isinstance(mapping, tuple):  # operator -> column
            per_op = {op: _numbers(frame[_column(frame, c, spec, f"cables.{op}", path)].tolist(), path, c)
                      for op, c in mapping}
            cables = [{op: int(v[i]) for op, v in per_op.items() if not math.isnan(v[i])} for i in range(n)]
        else:
            c_cab = col("cables")
            cables = _cables_text(frame[c_cab].tolist(), path, c_cab) if c_cab else [{} for _ in range(n)]
        out["cables"] = cables
        for field, integer in (("circuits", True), ("voltage", False)):
            c = col(field)
            out[field] = _numbers(frame[c].tolist(), path, c, integer=integer) if c else np.full(n, np.nan)
    else:
        c_free = col("free", ("free_ducts", "spare"))
        if c_free is None:
            raise InputDataError(f"{path}: no `free` column (count of free ducts; map one: "
                                 f"columns = {{free = \"YOUR_COLUMN\"}})")
        free = _numbers(frame[c_free].tolist(), path, c_free)
        if np.isnan(free).any():
            row = int(np.flatnonzero(np.isnan(free))[0])
            raise InputDataError(f"{load.row_label(path, row)}: column {c_free!r} is empty (count of free ducts)")
        out["free"] = free.astype(np.int64)
    return gpd.GeoDataFrame(pd.DataFrame(out), geometry=list(frame.geometry.values), crs=frame.crs)


def _csv_points(table: Any, columns: dict, path: Path, crs: str | None) -> Any:
    """Points of a CSV from its mapped x/y (with ``crs``) or lon/lat columns
    (:func:`connectivity.load.csv_points`), through the one normaliser."""
    from connectivity import load

    named = {f: _column(table, columns[f], None, f, path) for f in ("lon", "lat", "x", "y") if f in columns}
    gdf = load.csv_points(table, path, crs=crs, named=named, drop_xy=False,
                          crs_hint="`crs` in the scenario's record table or a `crs` column",
                          columns_hint="map lon/lat or x/y columns (columns = {x = \"...\", y = \"...\"})")
    return load.normalise_geometries(gdf, path)
