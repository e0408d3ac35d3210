"""Downloads of OSM data through osmnx (Overpass, Nominatim for a place name): :func:`download_osm`.

osmnx's settings are scoped (:func:`_osmnx_settings`); offline is found by a DNS check of the
Overpass host (and Nominatim's for a ``place``) before osmnx waits; a failed features download
is a warning kept in :attr:`OsmLayers.warnings` (``summary.json``: ``warnings``).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from connectivity.errors import InputDataError
from connectivity.load.common import (POI_KEYS, ROAD_COLUMNS, SIMPLIFY_KEEP, WGS84, OsmLayers, _empty, _first,
                                      _frame)
from connectivity.load.osm import _is_pole, _line_kind

log = logging.getLogger(__name__)


@contextmanager
def _osmnx_settings() -> Iterator[None]:
    """Within the block: no osmnx cache (never write one beside read-only data) and every
    road tag we cost by kept on the edges. osmnx's settings are restored afterwards, so
    the library leaves the process's osmnx configuration as it found it (issue #11)."""
    import osmnx as ox

    saved = {"use_cache": ox.settings.use_cache, "useful_tags_way": ox.settings.useful_tags_way}
    ox.settings.use_cache = False
    ox.settings.useful_tags_way = sorted(set(ox.settings.useful_tags_way) | set(SIMPLIFY_KEEP))
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(ox.settings, name, value)


def roads_from_graph(G) -> gpd.GeoDataFrame:
    """Road edges (EPSG:4326) of an osmnx graph, one row per undirected edge.

    Parameters
    ----------
    G
        An unprojected osmnx ``MultiDiGraph``.
    """
    import osmnx as ox

    if G.number_of_edges() == 0:
        return _empty(ROAD_COLUMNS)
    edges = ox.graph_to_gdfs(G, nodes=False, fill_edge_geometry=True).reset_index()
    # Each two-way street appears twice (u->v and v->u); keep one row per undirected edge.
    key = [tuple(sorted(p)) + (k,) for p, k in zip(zip(edges["u"], edges["v"]), edges["key"])]
    edges = edges.assign(_key=key).drop_duplicates("_key")
    out = {"osm_id": [f"way/{_first(v)}" for v in edges["osmid"]]}
    for col in ROAD_COLUMNS[:-1]:
        vals = edges[col] if col in edges else pd.Series([None] * len(edges), index=edges.index)
        out[col] = [None if (v is None or (isinstance(v, float) and np.isnan(v))) else str(_first(v)) for v in vals]
    return gpd.GeoDataFrame(out, geometry=list(edges.geometry), crs=G.graph.get("crs", WGS84)).to_crs(WGS84)


def download_osm(*, bbox: tuple[float, float, float, float] | None = None, place: str | None = None,
                 highway_exclude: Iterable[str] = (), instead_of: Path | None = None,
                 features_required: bool = False) -> OsmLayers:
    """Download roads, POIs, buildings, poles and lines for a bounding box or place name (needs internet).

    Parameters
    ----------
    bbox
        ``(west, south, east, north)`` in degrees.
    place
        A place name that Nominatim resolves to a polygon.
    instead_of
        The local file this download stands in for (missing), named in the messages.
    features_required
        When the POIs are needed (the sites come from them), a failed download of the
        features is an error; otherwise it is a warning (one line, also in
        ``OsmLayers.warnings``) and the plan has no OSM buildings, poles or lines.

    Raises
    ------
    InputDataError
        Offline (the Overpass host, and for a ``place`` the Nominatim host, does not resolve;
        found before osmnx's minute of waiting),
        the download fails, or OpenStreetMap has no roads there: one line naming the area,
        the missing file if any, and how to plan from a local file.
    """
    import osmnx as ox
    from osmnx._errors import InsufficientResponseError, ResponseStatusCodeError

    if (bbox is None) == (place is None):
        raise InputDataError("download_osm needs exactly one of bbox or place")
    area = f"bbox {tuple(bbox)}" if bbox is not None else f"place {place!r}"
    lead = f"{instead_of}: file not found; downloading {area} instead" if instead_of else f"downloading {area}"
    local = "give a local .osm or .osm.pbf extract ([inputs] osm or --osm FILE)"
    hosts = [_host(ox.settings.overpass_url, "overpass-api.de")]
    if place is not None:  # the place name is geocoded first
        hosts.insert(0, _host(ox.settings.nominatim_url, "nominatim.openstreetmap.org"))
    exclude = set(highway_exclude)
    with _osmnx_settings():
        for host in hosts:
            if not _resolves(host):
                raise InputDataError(f"{lead} needs the internet, and {host} cannot be reached (offline?): {local}")
        try:
            if bbox is not None:
                G = ox.graph_from_bbox(bbox, network_type="all", simplify=False, retain_all=True)
            else:
                G = ox.graph_from_place(place, network_type="all", simplify=False, retain_all=True)
            G = ox.simplify_graph(G, edge_attrs_differ=list(SIMPLIFY_KEEP))
        except InsufficientResponseError:
            raise InputDataError(f"{lead}: OpenStreetMap has no roads there") from None
        except (OSError, ResponseStatusCodeError, ValueError) as exc:  # requests' errors are OSErrors
            raise InputDataError(f"{lead} failed ({_one_line(exc)}): {local}") from None
        roads = roads_from_graph(G)
        roads = roads[~roads["highway"].isin(exclude)].reset_index(drop=True)
        tags = {k: True for k in ("amenity", "office", "power", "telecom", "building")}
        tags["man_made"] = ["mast", "tower"]
        warned: tuple[str, ...] = ()
        try:
            feats = (ox.features_from_bbox(bbox, tags) if bbox is not None else ox.features_from_place(place, tags))
        except InsufficientResponseError:  # nothing matches the tags there
            feats = _empty(["osm_id"])
        except (OSError, ResponseStatusCodeError) as exc:
            failed = f"OSM features (POIs, buildings, poles, lines) of {area} not downloaded ({_one_line(exc)})"
            if features_required:
                raise InputDataError(f"{failed}; the sites come from the POIs: give a sites file or {local}") from None
            warned = (f"{failed}: the plan has no OSM buildings, poles or lines",)
            log.warning("%s", warned[0])
            feats = _empty(["osm_id"])
    layers = _layers_from_features(roads, feats)
    return replace(layers, warnings=warned)


def _host(url: str, default: str) -> str:
    """The host name of one of osmnx's service URLs (Overpass, Nominatim)."""
    from urllib.parse import urlparse

    return urlparse(url).hostname or default


def _resolves(host: str) -> bool:
    """Whether ``host`` resolves (a DNS look-up: offline it fails at once, where osmnx would
    wait a minute for the Overpass status before failing)."""
    import socket

    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return False
    return True


def _one_line(exc: BaseException) -> str:
    """A short description of a download error: its type, and its first line when short."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return type(exc).__name__ if not text or len(text) > 100 else f"{type(exc).__name__}: {text}"


def _layers_from_features(roads: gpd.GeoDataFrame, feats: gpd.GeoDataFrame) -> OsmLayers:
    """Split an osmnx features frame into POI, building, pole and line layers."""
    if len(feats) and isinstance(feats.index, pd.MultiIndex):
        feats = feats.assign(osm_id=[f"{t}/{i}" for t, i in feats.index]).reset_index(drop=True)
    records = feats.drop(columns="geometry").to_dict("records") if len(feats) else []
    pois, buildings, poles, lines = [], [], [], []
    for rec, geom in zip(records, feats.geometry if len(feats) else []):
        tags = {k: str(v) for k, v in rec.items() if v is not None and not (isinstance(v, float) and np.isnan(v))}
        kind = _is_pole(tags)
        if kind and geom.geom_type == "Point":
            poles.append({"osm_id": tags["osm_id"], "kind": kind, "owner": tags.get("operator", ""), "geometry": geom})
        lk = _line_kind(tags)
        if lk and geom.geom_type == "LineString":
            lines.append({"osm_id": tags["osm_id"], "kind": lk, "owner": tags.get("operator", ""), "geometry": geom})
        if "building" in tags and geom.geom_type in ("Polygon", "MultiPolygon"):
            buildings.append({"osm_id": tags["osm_id"], "building": tags["building"], "geometry": geom})
        if any(k in tags for k in ("amenity", "office", "power", "telecom", "man_made")):
            pt = geom if geom.geom_type == "Point" else geom.representative_point()
            pois.append({"osm_id": tags["osm_id"], **{k: tags.get(k) for k in POI_KEYS}, "geometry": pt})
    return OsmLayers(
        roads=roads,
        pois=_frame(pois, ("osm_id",) + POI_KEYS),
        buildings=_frame(buildings, ("osm_id", "building")),
        poles=_frame(poles, ("osm_id", "kind", "owner")),
        lines=_frame(lines, ("osm_id", "kind", "owner")),
    )

