"""Vector files (GeoJSON, GeoPackage, Shapefile, ...) and CSV files: :func:`read_vector` (a
layer of a multi-layer file found by :func:`choose_layer`), one CSV reader (:func:`read_csv_table`),
one CSV point reader (:func:`csv_points`, which partner records use too), one geometry
normaliser (:func:`normalise_geometries`); roads, buildings, poles and lines from such files,
each reader's checks also on a frame already read (``*_from``, for ``plan-areas``).
"""
from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from connectivity.config import not_metres
from connectivity.errors import CRSError, InputDataError
from connectivity.load.common import ROAD_COLUMNS, WGS84, _check_file, _first

VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".fgb", ".gml", ".kml"}
LAYER_GEOMETRY = {"roads": "LineString", "lines": "LineString", "sites": "Point", "pois": "Point",
                  "poles": "Point", "buildings": "Polygon",
                  "areas": "Polygon"}  # what a layer holds -> its geometry family (areas: plan-areas' --areas)


def choose_layer(path: Path, what: str | None) -> str | None:
    """The layer of a multi-layer file (GeoPackage, ...) that holds ``what`` (a key of
    :data:`LAYER_GEOMETRY`): the only layer; else the only one of the right geometry family;
    else the one of them named ``what``. None for a one-layer file.

    Raises
    ------
    InputDataError
        When no layer or more than one could be meant; the message lists the layers found.
    """
    import pyogrio

    try:
        with warnings.catch_warnings():  # GDAL's notes on a broken file: read_vector says it in one line
            warnings.simplefilter("ignore", RuntimeWarning)
            layers = [(str(name), str(kind)) for name, kind in pyogrio.list_layers(path)]
    except (RuntimeError, OSError):  # pyogrio's DataSourceError: not a readable file, read_file says so below
        return None
    if len(layers) <= 1:
        return None
    family = LAYER_GEOMETRY.get(what or "")
    fits = [name for name, kind in layers if family and family in kind]
    named = [name for name in fits if name.lower() == (what or "").lower()]
    if len(fits) == 1 or len(named) == 1:
        return (named or fits)[0]
    found = ", ".join(f"{name} ({kind})" for name, kind in layers)
    if not family:
        raise InputDataError(f"{path}: {len(layers)} layers found: {found}; keep one layer in the file")
    which = f"no {family} layer" if not fits else f"{len(fits)} {family} layers"
    raise InputDataError(f"{path}: {len(layers)} layers found: {found}; cannot tell which holds the {what} "
                         f"({which}): keep one {family} layer in the file or name it {what!r}")


def read_vector(path: str | Path, *, layer: str | None = None, crs: str | None = None,
                what: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector file (GeoJSON, GeoPackage, Shapefile, ...) or a CSV of points.

    A file of several layers is read at ``layer``, or at the layer :func:`choose_layer`
    finds for ``what`` (``roads``, ``sites``, ... : a key of :data:`LAYER_GEOMETRY`).
    A CSV needs ``lon``/``lat`` columns (WGS84) or ``x``/``y`` columns plus ``crs`` (either as
    the argument or as a ``crs`` column). Empty and missing geometries are rejected with
    the row number.

    Raises
    ------
    InputDataError
        When the file is missing, unreadable, has no coordinates, or has bad geometries.
    """
    path = _check_file(Path(path))
    if path.suffix.lower() in CSV_SUFFIXES:
        return normalise_geometries(_read_csv_points(path, crs=crs), path)
    if path.suffix.lower() not in VECTOR_SUFFIXES:
        raise InputDataError(f"{path}: unsupported file type {path.suffix!r}; "
                             f"use CSV or one of {', '.join(sorted(VECTOR_SUFFIXES))}")
    if layer is None:
        layer = choose_layer(path, what)
    try:
        with warnings.catch_warnings():  # NaN/inf coordinates: reported below as one line, not as a warning;
            warnings.simplefilter("ignore", RuntimeWarning)  # GDAL's notes on a broken file too (one line below)
            gdf = gpd.read_file(path, layer=layer, engine="pyogrio")
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputDataError(f"{path}: not a readable vector file ({msg})") from None
    if path.suffix.lower() in (".geojson", ".json"):
        _check_geojson_crs(path)
    if not isinstance(gdf, gpd.GeoDataFrame):   # a table without a geometry column (GeoPackage attributes)
        where = f" (layer {layer!r})" if layer else ""
        raise InputDataError(f"{path}{where}: no geometry column: a table of attributes, not points, lines or polygons")
    if gdf.crs is None:
        if crs is None:
            raise CRSError(f"{path}: the file states no CRS; give one")
        gdf = gdf.set_crs(crs)
    return normalise_geometries(gdf, path)


_GEOJSON_CRS = re.compile(rb'"crs"\s*:\s*\{.*?"name"\s*:\s*"([^"]*)"', re.S)


def _check_geojson_crs(path: Path) -> None:
    """Refuse a GeoJSON whose (pre-RFC 7946) ``crs`` member names a CRS nobody knows: GDAL would
    read its coordinates as WGS84 without a word. The member opens the file (first 64 KiB)."""
    with open(path, "rb") as f:
        head = f.read(65536)
    found = _GEOJSON_CRS.search(head)
    if found is None:
        return
    name = found.group(1).decode("utf-8", "replace")
    try:
        pyproj.CRS.from_user_input(name)
    except pyproj.exceptions.CRSError:
        raise CRSError(f"{path}: unknown CRS {name!r} in the file's crs member") from None


def normalise_geometries(gdf: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    """The one geometry normaliser of every file read (roads, sites, POIs, buildings, poles, lines):
    Z (and M) coordinates dropped, so every geometry is 2D; missing, empty, non-finite (NaN,
    infinity), invalid and out-of-range geometries refused with one line naming the file and
    the row (the feature's number in the file, 1-based; in a CSV, the file line); so is a layer
    whose stated CRS does not fit its coordinates (beyond the lon/lat range in degrees; in a projected
    CRS, all of them a lon/lat of its area of use: degrees read as metres)."""
    def where(row: int) -> str:
        return row_label(path, row)

    geoms = gdf.geometry
    missing = geoms.isna() | geoms.is_empty
    if missing.any():
        row = int(np.flatnonzero(missing.to_numpy())[0])
        raise InputDataError(f"{where(row)}: missing or empty geometry")
    values = np.asarray(geoms.values)
    xy, index = shapely.get_coordinates(values, return_index=True)
    bad = ~np.isfinite(xy).all(axis=1)
    if bad.any():
        row = int(index[np.flatnonzero(bad)[0]])
        raise InputDataError(f"{where(row)}: non-finite coordinate (NaN or infinity) in its geometry")
    if shapely.has_z(values).any():
        gdf = gdf.set_geometry(gpd.GeoSeries(shapely.force_2d(values), index=gdf.index, crs=gdf.crs))
    _check_geometries(gdf, path, where)
    return gdf


def _check_geometries(gdf: gpd.GeoDataFrame, path: Path, where) -> None:
    geoms = gdf.geometry
    invalid = ~geoms.is_valid
    if invalid.any():
        row = int(np.flatnonzero(invalid.to_numpy())[0])
        reason = shapely.is_valid_reason(geoms.iloc[row])
        raise InputDataError(f"{where(row)}: invalid geometry ({reason})")
    if gdf.crs is None or not len(gdf):
        return
    bounds = geoms.total_bounds
    lon_lat = -180 <= bounds[0] <= bounds[2] <= 180 and -90 <= bounds[1] <= bounds[3] <= 90
    if gdf.crs.is_geographic and not lon_lat:
        raise CRSError(f"{path}: coordinates outside longitude/latitude range; the file's CRS "
                       f"({gdf.crs.to_string()}) does not match its coordinates")
    if gdf.crs.is_projected and lon_lat and _degrees_of_its_area(bounds, gdf.crs):
        raise CRSError(f"{path}: every coordinate lies within longitude/latitude range (x {bounds[0]:g} to {bounds[2]:g}, "
                       f"y {bounds[1]:g} to {bounds[3]:g}), but the stated CRS ({gdf.crs.to_string()}) is projected: "
                       f"longitude/latitude need EPSG:4326 (CSV: lon/lat columns)")


def _degrees_of_its_area(bounds, crs) -> bool:
    """Whether ``bounds`` (x0, y0, x1, y1 in a projected ``crs``) read as lon/lat lie in the CRS's area of use:
    degrees given as metres (98.96, 18.79 in UTM 47N, a few metres from its false origin), not a small
    synthetic frame in metres (0..80 in UTM 47N reads as lon 0-80, outside zone 47)."""
    area = crs.area_of_use
    return area is not None and (area.west <= bounds[0] and bounds[2] <= area.east
                                 and area.south <= bounds[1] and bounds[3] <= area.north)


CSV_SUFFIXES = {".csv", ".txt"}
CSV_COLUMNS = ("site_id", "id", "operator", "kind", "name", "owner", "lon", "lat", "longitude", "latitude", "x", "y", "crs")


def row_label(path: Path, i: int) -> str:
    """Where row ``i`` (0-based, of the data) of ``path`` is, said the same way in every message:
    ``line N`` in a CSV (the file line where the row starts, the header being line 1; a quoted value
    holding line breaks spans several lines), ``row N`` (the feature's 1-based number) in any
    other file."""
    path = Path(path)
    if path.suffix.lower() not in CSV_SUFFIXES:
        return f"{path}: row {i + 1}"
    return f"{path}: line {_csv_row_lines(path).get(i, i + 2)}"


def _csv_row_lines(path: Path) -> dict[int, int]:
    """The file line (1-based) where each data row (0-based) of the CSV ``path`` starts, as
    :func:`read_csv_table` reads it (empty when the file cannot be read: callers fall back to one
    line per row). Only messages ask, so the file is read again rather than carried along."""
    try:
        text, sep, _ = _csv_text(path)
    except InputDataError:
        return {}
    return {i: start for i, (start, _) in enumerate(_csv_rows(text, sep)[1])}


def _csv_rows(text: str, sep: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header's cells, and each data row with the file line (1-based) it starts on (a quoted
    value may hold line breaks); a row the csv module cannot parse ends the rows."""
    rows = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=sep, skipinitialspace=True)
    try:
        header = next(rows, [])
    except csv.Error:
        return [], iter(())

    def data() -> Iterator[tuple[int, list[str]]]:
        end = rows.line_num
        try:
            for row in rows:
                yield end + 1, row
                end = rows.line_num
        except csv.Error:
            return
    return header, data()


def _csv_text(path: Path) -> tuple[str, str, str]:
    """The decoded text of a CSV (:func:`_decode_text`) with its lines ended by LF alone (CR LF of
    Windows and the lone CR of old Mac spreadsheets too), its delimiter (``,``, ``;`` or tab,
    whichever the header line holds most of; ``,`` on a tie) and its header line."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputDataError(f"{path}: cannot read ({exc.strerror})") from None
    text = _decode_text(data, path).replace("\r\n", "\n").replace("\r", "\n")
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    return text, max(counts, key=lambda d: (counts[d], d == ",")), header


def _decode_text(data: bytes, path: Path) -> str:
    """The text of a CSV file: UTF-8 (with or without BOM), UTF-16 (BOM, or plainly ASCII-range
    text with NUL high bytes) or Windows-874 (Thai); binary data refused."""
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    elif len(data) >= 4 and len(data) % 2 == 0 and data[1::2].count(0) > len(data) // 4:
        candidates = ["utf-16-le"]
    elif len(data) >= 4 and len(data) % 2 == 0 and data[0::2].count(0) > len(data) // 4:
        candidates = ["utf-16-be"]
    else:
        candidates = ["utf-8", "cp874"]
    for enc in candidates:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if any(c in text for c in "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0e\x0f\x10\x1a\x1b\x7f"):
            break  # decodes, but is binary data
        return text
    raise InputDataError(f"{path}: not a readable CSV file (not text in UTF-8, UTF-16 or Windows-874)")


def read_csv_table(path: str | Path) -> pd.DataFrame:
    """The one CSV reader: any of the encodings of :func:`_decode_text`, ``,``, ``;`` or tab as
    delimiter (whichever the header line holds most of), every cell as text, the known
    column names (``site_id``, ``operator``, ``lon``, ...) matched case-insensitively, and
    the empty rows at the end (``,,,,``) left out. A row of values beyond the header's columns, or an
    empty row amid the data, is an error naming its file line."""
    path = Path(path)
    text, sep, header = _csv_text(path)
    try:
        with warnings.catch_warnings(record=True) as lost:   # pandas' ParserWarning: values beyond the header's columns
            warnings.simplefilter("always", pd.errors.ParserWarning)
            # index_col=False: a delimiter ending every row is no first column made the index (shifting every column);
            # skip_blank_lines=False: a blank line keeps its place, so messages name the file's lines
            df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, skipinitialspace=True, index_col=False,
                             skip_blank_lines=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        _check_row_lengths(text, sep, path)
        raise InputDataError(f"{path}: not a readable CSV file ({str(exc).splitlines()[0]})") from None
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in lost):
        _check_row_lengths(text, sep, path)
    names = next(csv.reader([header], delimiter=sep, skipinitialspace=True), [])
    first: dict[str, int] = {}
    for i, c in enumerate(names):
        key = c.strip().lower()
        if key in CSV_COLUMNS and key in first:   # pandas would read the second as `lon.1`, unused
            raise InputDataError(f"{path}: column `{key}` appears twice in the header (columns {first[key] + 1} "
                                 f"and {i + 1}): keep one")
        first.setdefault(key, i)
    rename = {}
    for c in df.columns:
        key = str(c).strip().lower()
        if key in CSV_COLUMNS:
            rename[c] = key
    return _without_trailing_empty_rows(df, path).rename(columns=rename)


def _check_row_lengths(text: str, sep: str, path: Path) -> None:
    """Raise :class:`InputDataError` naming the first file line holding a value beyond the header's
    columns (an unquoted ``sep`` inside a value, most often); empty extra cells are let through."""
    header, rows = _csv_rows(text, sep)
    width = len(header)
    for start, row in rows:
        if len(row) > width and any(cell.strip() for cell in row[width:]):
            raise InputDataError(f"{path}: line {start}: {len(row)} values, the header names {width} columns "
                                 f"(a {sep!r} inside a value? quote the value)")


def _without_trailing_empty_rows(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """``df`` less the rows of nothing but empty cells at its end (``,,,,`` lines and blank lines that
    spreadsheets write below the data); such a row amid the data is an error naming its file line."""
    filled = df.apply(lambda col: col.fillna("").astype(str).str.strip() != "").any(axis=1).to_numpy()
    last = int(np.flatnonzero(filled)[-1]) + 1 if filled.any() else 0
    gaps = np.flatnonzero(~filled[:last])
    if len(gaps):
        raise InputDataError(f"{row_label(path, int(gaps[0]))}: empty row amid the data (delete it)")
    return df.iloc[:last]


def csv_crs_column(df: pd.DataFrame, column: str, path: Path) -> str | None:
    """The CRS a CSV's ``crs`` column states (None when empty): one value for the whole file (the
    first row's was taken for every row, so a file mixing UTM zones put half its points in the wrong one).

    Raises
    ------
    InputDataError
        When rows state different CRSs (naming the first row that differs).
    """
    values = df[column].fillna("").astype(str).str.strip()
    differ = (values != values.iloc[0]).to_numpy()
    if differ.any():
        row = int(np.flatnonzero(differ)[0])
        raise InputDataError(f"{row_label(path, row)}: crs {values.iloc[row]!r} differs from {values.iloc[0]!r} of "
                             f"{row_label(path, 0).rsplit(': ', 1)[1]}: one CRS per file (split it, or give lon/lat)")
    return values.iloc[0] or None


def _read_csv_points(path: Path, *, crs: str | None) -> gpd.GeoDataFrame:
    return csv_points(read_csv_table(path), path, crs=crs)


def csv_points(df: pd.DataFrame, path: Path, *, crs: str | None, named: dict[str, str] | None = None,
               drop_xy: bool = True, crs_hint: str = "a `crs` column or the scenario's inputs.crs",
               columns_hint: str = "needs lon/lat columns, or x/y columns with a CRS") -> gpd.GeoDataFrame:
    """Points of a CSV table (the one CSV point reader): from its lon/lat (``longitude``/``latitude``)
    columns in WGS84, else from x/y in ``crs`` or the table's ``crs`` column (one CRS for all rows).

    ``named`` maps ``lon``, ``lat``, ``x`` or ``y`` to the table's own column names (a scenario's
    column mapping); other columns are found by name, in any case. ``drop_xy``: leave the
    coordinate columns out of the result. ``crs_hint`` and ``columns_hint`` end the error
    messages (where a CRS or the columns can be given). A missing, non-numeric or infinite
    coordinate, or a lon/lat out of range, is an error naming the row.
    """
    named = named or {}
    cols = {str(c).lower(): c for c in df.columns}

    def find(field: str, aliases: tuple[str, ...] = ()) -> object:
        return named.get(field) or next((cols[a] for a in (field,) + aliases if a in cols), None)

    lon, lat, x_col, y_col = find("lon", ("longitude",)), find("lat", ("latitude",)), find("x"), find("y")
    if lon is not None and lat is not None:
        xcol, ycol, point_crs = lon, lat, WGS84
    elif x_col is not None and y_col is not None:
        xcol, ycol = x_col, y_col
        point_crs = crs or (csv_crs_column(df, cols["crs"], path) if "crs" in cols and len(df) else None)
        if point_crs is None:
            raise CRSError(f"{path}: x/y columns need a CRS ({crs_hint})")
    else:
        raise InputDataError(f"{path}: no coordinates: {columns_hint}")
    x = pd.to_numeric(df[xcol], errors="coerce")
    y = pd.to_numeric(df[ycol], errors="coerce")
    bad = x.isna() | y.isna() | ~np.isfinite(x) | ~np.isfinite(y)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputDataError(f"{row_label(path, row)}: missing or non-numeric coordinates")
    if point_crs == WGS84:
        outside = (x.abs() > 180) | (y.abs() > 90)
        if outside.any():
            row = int(np.flatnonzero(outside.to_numpy())[0])
            raise InputDataError(f"{row_label(path, row)}: lon/lat ({x.iloc[row]}, {y.iloc[row]}) out of range")
    try:
        return gpd.GeoDataFrame(df.drop(columns=[xcol, ycol]) if drop_xy else df,
                                geometry=gpd.points_from_xy(x, y), crs=point_crs)
    except Exception as exc:  # pyproj rejects the CRS string
        raise CRSError(f"{path}: unknown CRS {point_crs!r} ({exc})") from None


def read_assets(path: str | Path, *, geometry: str, crs: str | None = None) -> gpd.GeoDataFrame:
    """Poles (``geometry="Point"``) or overhead lines (``"LineString"``) from a partner file.

    The file needs an ``owner`` column (``operator`` is accepted as its alias); ``kind`` is
    kept when present. CSV files give poles by lon/lat or x/y plus a CRS.

    Raises
    ------
    InputDataError
        On a missing owner column or a geometry of the wrong type (the row is named).
    """
    path = Path(path)
    return assets_from(read_vector(path, crs=crs, what="poles" if geometry == "Point" else "lines"), path,
                       geometry=geometry)


def assets_from(gdf: gpd.GeoDataFrame, path: Path, *, geometry: str) -> gpd.GeoDataFrame:
    """:func:`read_assets` on a frame already read from ``path`` (its checks and columns)."""
    if "owner" not in gdf and "operator" in gdf:
        gdf = gdf.rename(columns={"operator": "owner"})
    if "owner" not in gdf:
        raise InputDataError(f"{path}: missing column `owner` (who owns each pole or line)")
    gdf = gdf.explode(index_parts=False, ignore_index=True) if geometry == "LineString" else gdf
    wrong = (gdf.geom_type != geometry).to_numpy()
    if wrong.any():
        row = int(np.flatnonzero(wrong)[0])
        raise InputDataError(f"{row_label(path, row)}: expected {geometry} geometry, found {gdf.geom_type.iloc[row]}")
    kind = gdf["kind"].astype(str) if "kind" in gdf else pd.Series(["pole" if geometry == "Point" else "line"] * len(gdf))
    ids = gdf["id"].astype(str) if "id" in gdf else pd.Series([f"{path.stem}/{i + 1}" for i in range(len(gdf))])
    return gpd.GeoDataFrame({"osm_id": ids.to_numpy(), "kind": kind.to_numpy(), "owner": gdf["owner"].fillna("").astype(str).to_numpy()},
                            geometry=gdf.geometry.values, crs=gdf.crs)


def read_road_lines(path: str | Path, *, highway_exclude: Iterable[str] = ()) -> gpd.GeoDataFrame:
    """Road centre lines from a vector file, exploded to LineStrings, with :data:`ROAD_COLUMNS`;
    lines whose ``highway`` is in ``highway_exclude`` left out (as :func:`read_osm` leaves out
    such ways).

    The lines are not yet noded; :func:`connectivity.network.node_lines` does that.
    """
    path = Path(path)
    return roads_from(read_vector(path, what="roads"), path, highway_exclude=highway_exclude)


def roads_from(gdf: gpd.GeoDataFrame, path: Path, *, highway_exclude: Iterable[str] = ()) -> gpd.GeoDataFrame:
    """:func:`read_road_lines` on a frame already read from ``path`` (its checks and columns).

    Raises
    ------
    InputDataError
        When the layer is empty, holds other geometries than lines, or every line's class is excluded.
    """
    if len(gdf) == 0:
        raise InputDataError(f"{path}: no roads (the layer is empty)")
    kinds = set(gdf.geom_type.unique())
    if not kinds <= {"LineString", "MultiLineString"}:
        raise InputDataError(f"{path}: roads must be LineString geometries, found {', '.join(sorted(kinds))}")
    gdf = gdf.explode(index_parts=False, ignore_index=True)
    out = {}
    for col in ROAD_COLUMNS:
        src = "id" if col == "osm_id" and "osm_id" not in gdf and "id" in gdf else col
        out[col] = ([None if v is None or pd.isna(v) else str(v) for v in map(_first, gdf[src])] if src in gdf
                    else [None] * len(gdf))
    if all(v is None for v in out["highway"]):
        out["highway"] = ["unclassified"] * len(gdf)
    roads = gpd.GeoDataFrame(out, geometry=list(gdf.geometry), crs=gdf.crs)
    excluded = roads["highway"].isin(set(highway_exclude)).to_numpy()
    if excluded.all():
        classes = ", ".join(sorted(set(roads["highway"])))
        raise InputDataError(f"{path}: no roads left: every line's highway class ({classes}) is in options.highway_exclude")
    return roads[~excluded].reset_index(drop=True) if excluded.any() else roads


def read_buildings(path: str | Path) -> gpd.GeoDataFrame:
    """Buildings from a vector file: outlines (Polygon, MultiPolygon) or points (a building's centroid).

    Raises
    ------
    InputDataError
        On any other geometry (a road file given as buildings), naming the row.
    """
    path = Path(path)
    return buildings_from(read_vector(path, what="buildings"), path)


def buildings_from(gdf: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    """:func:`read_buildings` on a frame already read from ``path`` (its check)."""
    wrong = (~gdf.geom_type.isin(["Polygon", "MultiPolygon", "Point"])).to_numpy()
    if wrong.any():
        row = int(np.flatnonzero(wrong)[0])
        raise InputDataError(f"{row_label(path, row)}: buildings must be polygons or points, found {gdf.geom_type.iloc[row]}")
    return gdf


def ensure_projected(gdf: gpd.GeoDataFrame, what: str) -> None:
    """Raise :class:`CRSError` unless ``gdf`` is in a projected CRS in metres (the package's one
    "metres needed" check, :func:`connectivity.config.not_metres`: no CRS, degrees and other units
    such as feet are refused)."""
    problem = not_metres(gdf.crs)
    if problem:
        raise CRSError(f"{what}: needs a projected CRS in metres, got {problem}")

