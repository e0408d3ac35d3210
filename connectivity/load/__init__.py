"""Loading stage: roads, poles, overhead lines, sites and buildings into GeoDataFrames.

Every reader returns layers in WGS84 (EPSG:4326) unless the source states another CRS;
projection to metres happens in :mod:`connectivity.network`. This is the only package
that touches the network (Overpass through osmnx) and the only one that reads OSM files.

Modules (imports go one way: ``common`` <- ``files``; ``common`` <- ``osm`` <- ``online``):

* :mod:`~connectivity.load.osm`: OSM files read with pyosmium (:func:`read_osm`, :func:`scan_osm`);
* :mod:`~connectivity.load.online`: downloads through osmnx (:func:`download_osm`);
* :mod:`~connectivity.load.files`: vector and CSV files (:func:`read_vector`, :func:`read_csv_table`,
  :func:`csv_points`, :func:`normalise_geometries`, ...);
* :mod:`~connectivity.load.common`: :class:`OsmLayers`, the layer constants, the input file check.

The names below are the stage's interface: import them from ``connectivity.load``.
"""
from __future__ import annotations

from connectivity.load.common import (OSM_ATTRIBUTION, POI_KEYS, ROAD_COLUMNS, SIMPLIFY_KEEP, WGS84, OsmLayers,
                                      _check_file)
from connectivity.load.files import (CSV_COLUMNS, CSV_SUFFIXES, LAYER_GEOMETRY, VECTOR_SUFFIXES, assets_from,
                                     buildings_from, choose_layer, csv_crs_column, csv_points, ensure_projected,
                                     normalise_geometries, read_assets, read_buildings, read_csv_table,
                                     read_road_lines, read_vector, roads_from, row_label)
from connectivity.load.online import _osmnx_settings, _resolves, download_osm, roads_from_graph
from connectivity.load.osm import LINE_TAGS, POLE_TAGS, _line_kind, _scan_osm, read_osm, scan_osm

__all__ = [
    "CSV_COLUMNS", "CSV_SUFFIXES", "LAYER_GEOMETRY", "LINE_TAGS", "OSM_ATTRIBUTION", "POI_KEYS", "POLE_TAGS",
    "ROAD_COLUMNS", "SIMPLIFY_KEEP", "VECTOR_SUFFIXES", "WGS84", "OsmLayers", "assets_from", "buildings_from",
    "choose_layer", "csv_crs_column", "csv_points", "download_osm", "ensure_projected", "normalise_geometries",
    "read_assets", "read_buildings", "read_csv_table", "read_osm", "read_road_lines", "read_vector",
    "roads_from", "roads_from_graph", "row_label", "scan_osm",
]
