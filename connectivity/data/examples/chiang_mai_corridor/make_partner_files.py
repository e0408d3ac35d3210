"""Write the illustrative partner files of the Chiang Mai corridor example from the OSM extract.

ILLUSTRATIVE DATA, NOT A UTILITY'S RECORDS. The OpenStreetMap extract has no poles, so this
script places a PEA pole every 40 m along one side of Nimmanhaemin Road and its sois (the
street geometry is OpenStreetMap data, © OpenStreetMap contributors, ODbL 1.0) and strings
spans between consecutive poles of a street. What the poles carry is made up for the
example: on Nimmanhaemin Road two 22 kV PEA circuits, two TOT cables and one CAT cable; on
the sois one 400 V circuit and one TOT cable; soi 9 also carries a 3BB cable (an operator
outside the plan, so its poles stay). An existing TOT duct route with 4 free ducts runs under
the northern part of Nimmanhaemin Road (made up too). Column names imitate a utility's own (POLE_NO,
OWNER_NAME, TEL_CABLES, ...) to show the scenario's column mapping.

Run from the repository root: ``python connectivity/data/examples/chiang_mai_corridor/make_partner_files.py``.
Same input, same output (sorted streets, fixed spacing, coordinates rounded to 0.1 m).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import shapely

HERE = Path(__file__).resolve().parent
OSM = HERE.parent / "chiang_mai_nimman" / "chiang_mai_nimman_cmu_2023-02-27.osm.pbf"
CRS = "EPSG:32647"
SPACING_M = 40.0
OFFSET_M = 6.0  # poles stand beside the carriageway
MAIN = "ถนนนิมมานเหมินท์"


def main() -> None:
    from connectivity import load, network

    layers = load.read_osm(OSM, highway_exclude=("footway", "path", "steps", "service"))
    net = network.roads_network(layers.roads, crs=CRS)
    edges = net.edges
    names = edges["name"].fillna("").astype(str)
    chosen = edges[names.str.startswith("ถนนนิมมานเหมิน")].sort_values(["name", "osm_id", "u", "v"])
    poles, spans = [], []
    for i, (_, row) in enumerate(chosen.iterrows()):
        line = row.geometry
        side = line.offset_curve(OFFSET_M)
        if side.is_empty or side.geom_type != "LineString":
            continue
        n = int(side.length // SPACING_M)
        if n < 1:
            continue
        main_road = row["name"] == MAIN
        third = "ซอย 9" in row["name"] and not main_road and row["name"].startswith("ถนนนิมมานเหมินท์ ")
        cables = "TOT:2,CAT:1" if main_road else ("TOT:1,3BB:1" if third else "TOT:1")
        circuits, volts = (2, 22000) if main_road else (1, 400)
        chain = []
        for j in range(n + 1):
            pt = side.interpolate(min(j * SPACING_M + SPACING_M / 2, side.length))
            pid = f"CM-{len(poles) + 1:04d}"
            poles.append({"POLE_NO": pid, "OWNER_NAME": "PEA", "TEL_CABLES": cables, "N_CIRCUIT": circuits,
                          "VOLT_V": volts, "EASTING": round(pt.x, 1), "NORTHING": round(pt.y, 1)})
            chain.append((pid, round(pt.x, 1), round(pt.y, 1)))
        for (a, ax, ay), (b, bx, by) in zip(chain, chain[1:]):
            if (ax, ay) == (bx, by):
                continue
            spans.append({"SPAN_ID": f"{a}-{b}", "OWNER": "PEA", "TEL_CABLES": cables, "CIRCUITS": circuits,
                          "geometry": shapely.LineString([(ax, ay), (bx, by)])})
    with open(HERE / "poles.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(poles[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(poles)
    import geopandas as gpd

    frame = gpd.GeoDataFrame(spans, geometry="geometry", crs=CRS).to_crs("EPSG:4326")
    feats = [{"type": "Feature", "properties": {k: r[k] for k in ("SPAN_ID", "OWNER", "TEL_CABLES", "CIRCUITS")},
              "geometry": {"type": "LineString",
                           "coordinates": np.round(shapely.get_coordinates(r.geometry), 7).tolist()}}
             for _, r in frame.iterrows()]
    doc = {"type": "FeatureCollection", "name": "spans",
           "attribution": "© OpenStreetMap contributors (street geometry); poles and spans illustrative",
           "features": feats}
    (HERE / "spans.geojson").write_text(json.dumps(doc, ensure_ascii=False) + "\n", encoding="utf-8")
    # an existing TOT duct route with 4 free ducts under the northern part of Nimmanhaemin Road
    north = edges[(names == MAIN)].to_crs("EPSG:4326")
    north = north[north.geometry.centroid.y > 18.797].sort_values(["osm_id", "u", "v"])
    routes = [{"type": "Feature", "properties": {"ROUTE_ID": f"TOT-D{i + 1}", "OWNER": "TOT", "FREE_DUCTS": 4},
               "geometry": {"type": "LineString",
                            "coordinates": np.round(shapely.get_coordinates(g), 7).tolist()}}
              for i, g in enumerate(north.geometry)]
    doc = {"type": "FeatureCollection", "name": "existing_ducts",
           "attribution": "© OpenStreetMap contributors (street geometry); duct routes illustrative",
           "features": routes}
    (HERE / "existing_ducts.geojson").write_text(json.dumps(doc, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(poles)} poles, {len(spans)} spans, {len(routes)} existing duct routes")


if __name__ == "__main__":
    main()
