"""Loading stage: roads, poles, overhead lines, sites and buildings into GeoDataFrames.

Every reader returns layers in WGS84 (EPSG:4326) unless the source states another CRS;
projection to metres happens in :mod:`connectivity.network`. This is the only package
that touches the network (Overpass through osmnx) and the only one that reads OSM files.

The names below are the stage's interface: import them from ``connectivity.load``.
"""
from __future__ import annotations

from connectivity.load.osm import (CSV_COLUMNS, CSV_SUFFIXES, LAYER_GEOMETRY, LINE_TAGS, OSM_ATTRIBUTION, POI_KEYS,
                                   POLE_TAGS, ROAD_COLUMNS, SIMPLIFY_KEEP, VECTOR_SUFFIXES, WGS84, OsmLayers,
                                   _check_file, _line_kind, _osmnx_settings, _resolves, _scan_osm, assets_from,
                                   buildings_from, choose_layer, csv_crs_column, csv_points, download_osm,
                                   ensure_projected, normalise_geometries, read_assets, read_buildings,
                                   read_csv_table, read_osm, read_road_lines, read_vector, roads_from,
                                   roads_from_graph, row_label, scan_osm)

__all__ = [
    "CSV_COLUMNS", "CSV_SUFFIXES", "LAYER_GEOMETRY", "LINE_TAGS", "OSM_ATTRIBUTION", "POI_KEYS", "POLE_TAGS",
    "ROAD_COLUMNS", "SIMPLIFY_KEEP", "VECTOR_SUFFIXES", "WGS84", "OsmLayers", "assets_from", "buildings_from",
    "choose_layer", "csv_crs_column", "csv_points", "download_osm", "ensure_projected", "normalise_geometries",
    "read_assets", "read_buildings", "read_csv_table", "read_osm", "read_road_lines", "read_vector",
    "roads_from", "roads_from_graph", "row_label", "scan_osm",
]
