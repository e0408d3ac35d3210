import logging

import geopandas as gpd
import osmium
import pandas as pd
import pytest
import shapely

from connectivity import load
from connectivity.config import Options
from connectivity.errors import CRSError, InputDataError
from connectivity.load import read_osm, read_road_lines, read_vector

EXCLUDE = Options().highway_exclude

# A handwritten network with the cases the edge builder must get right (lon/lat near Chiang Mai):
#  201 (1-2-3) and 202 (3-4-5): same tags, continue each other at 3 -> one merged edge 1..5
#  203 (5-6-7): same highway but a surface tag -> node 5 stays (attribute change)
#  204 (6-7): a second way over the segment 6-7 -> parallel edges, 6 and 7 are junctions
#  205 (7-8-9-10-7): a closed way hanging off 7 -> a self-loop at 7
#  206 (20-21-22-20): an isolated ring -> one loop edge after the others (osmnx dropped rings without endpoints)
#  207 (2-30): a dead-end spur -> 2 is a junction, 30 a dead end
#  208 (40-40-41): a repeated node -> one segment
#  209 (3-...): highway=footway, excluded by the default options
RICH_NODES = {1: (98.9600, 18.79), 2: (98.9610, 18.79), 3: (98.9620, 18.79), 4: (98.9630, 18.79),
              5: (98.9640, 18.79), 6: (98.9650, 18.79), 7: (98.9660, 18.79), 8: (98.9670, 18.7905),
              9: (98.9670, 18.7895), 10: (98.9665, 18.7890), 20: (98.9600, 18.80), 21: (98.9610, 18.80),
              22: (98.9605, 18.801), 30: (98.9610, 18.791), 40: (98.9700, 18.79), 41: (98.9700, 18.791),
              50: (98.9620, 18.789)}
RICH_WAYS = [(201, [1, 2, 3], {"highway": "residential", "name": "Soi 1"}),
             (202, [3, 4, 5], {"highway": "residential", "name": "Soi 1"}),
             (203, [5, 6, 7], {"highway": "residential", "name": "Soi 1", "surface": "asphalt"}),
             (204, [6, 7], {"highway": "service"}),
             (205, [7, 8, 9, 10, 7], {"highway": "service", "name": "Loop"}),
             (206, [20, 21, 22, 20], {"highway": "residential"}),
             (207, [2, 30], {"highway": "tertiary", "bridge": "yes", "width": "6"}),
             (208, [40, 40, 41], {"highway": "unclassified"}),
             (209, [3, 50], {"highway": "footway"})]


def write_osm(path, nodes, ways):
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    lines += [f'<node id="{i}" lat="{lat}" lon="{lon}"/>' for i, (lon, lat) in sorted(nodes.items())]
    for wid, refs, tags in ways:
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        tg = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<way id="{wid}">{nds}{tg}</way>')
    path.write_text("\n".join(lines + ["</osm>"]))
    return path


def to_pbf(src, dst):
    with osmium.SimpleWriter(str(dst)) as w:
        for obj in osmium.FileProcessor(str(src)):
            if obj.is_node():
                w.add_node(obj)
            elif obj.is_way():
                w.add_way(obj)
    return dst


def osmnx_roads(path, exclude, tmp_dir):
    """The former route, kept here as the reference: highway ways -> XML -> osmnx graph -> simplify."""
    import osmnx as ox

    tmp = tmp_dir / (path.name + ".highways.osm")
    with osmium.SimpleWriter(str(tmp)) as writer:
        keep, ways = set(), set()
        for obj in osmium.FileProcessor(str(path), osmium.osm.WAY):
            hw = obj.tags.get("highway")
            if hw and hw not in exclude and obj.tags.get("area") != "yes":
                keep.update(n.ref for n in obj.nodes)
                ways.add(obj.id)
        for obj in osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY):
            if obj.is_node() and obj.id in keep:
                writer.add_node(obj)
            elif obj.is_way() and obj.id in ways:
                writer.add_way(obj)
    with load._osmnx_settings():
        G = ox.graph_from_xml(tmp, bidirectional=True, simplify=False, retain_all=True)
        G = ox.simplify_graph(G, edge_attrs_differ=list(load.SIMPLIFY_KEEP))
        return load.roads_from_graph(G)


def rows(roads, undirected=False, ordered=False):
    """The road rows (attributes and exact geometry), as a sorted list unless ``ordered``."""
    out = []
    for rec in roads.itertuples(index=False):
        vals = tuple(None if pd.isna(v) else str(v) for v in rec[:-1])
        geom = shapely.normalize(rec[-1]) if undirected else rec[-1]
        out.append(vals + (geom.wkb_hex,))
    return out if ordered else sorted(out, key=repr)


def test_read_osm_keeps_highways_only(fixtures):
    layers = read_osm(fixtures / "tiny.osm", highway_exclude=EXCLUDE)
    # 6 streets of the grid, each split at the middle junction; footway, building and power line are no roads
    assert len(layers.roads) == 12
    assert set(layers.roads["highway"]) == {"residential", "secondary", "tertiary", "service", "unclassified"}
    assert "footway" not in set(layers.roads["highway"])
    assert layers.roads.crs.to_epsg() == 4326
    assert len(layers.buildings) == 1 and layers.buildings.geom_type.iloc[0] in ("Polygon", "MultiPolygon")
    assert len(layers.poles) == 3 and set(layers.poles["owner"]) == {"PEA"}
    assert len(layers.lines) == 1 and layers.lines["kind"].iloc[0] == "power_minor_line"
    assert {"school", "hospital", "post_office"} <= set(layers.pois["amenity"].dropna())


def test_read_osm_keeps_road_attributes(fixtures):
    roads = read_osm(fixtures / "tiny.osm", highway_exclude=EXCLUDE).roads
    middle = roads[roads["name"] == "Middle Road"]
    assert len(middle) == 2 and set(middle["lanes"]) == {"4"}
    east = roads[roads["osm_id"] == "way/105"]
    assert set(east["bridge"]) == {"yes"} and set(east["width"]) == {"8"}
    assert set(roads[roads["name"] == "South Road"]["surface"]) == {"asphalt"}


def test_read_osm_pbf_equals_xml(fixtures, tmp_path):
    for src in (fixtures / "tiny.osm", write_osm(tmp_path / "rich.osm", RICH_NODES, RICH_WAYS)):
        a = read_osm(src, highway_exclude=EXCLUDE).roads
        b = read_osm(to_pbf(src, tmp_path / (src.stem + ".osm.pbf")), highway_exclude=EXCLUDE).roads
        assert len(a) > 0 and rows(a) == rows(b)


def test_read_osm_matches_the_osmnx_route(fixtures, tmp_path):
    for src in (fixtures / "tiny.osm", write_osm(tmp_path / "rich.osm", RICH_NODES, RICH_WAYS)):
        new = read_osm(src, highway_exclude=EXCLUDE).roads
        old = osmnx_roads(src, EXCLUDE, tmp_path)
        assert list(new.columns) == list(old.columns) and new.crs == old.crs
        # same rows, same geometry direction, same order (design heuristics break ties by edge order);
        # rings joined to no other road, which osmnx drops, come after them
        kept = rows(new, ordered=True)
        assert kept[:len(old)] == rows(old, ordered=True)
        assert [r[0] for r in kept[len(old):]] == ([] if src.name == "tiny.osm" else ["way/206"])


def test_read_osm_matches_the_osmnx_route_on_chiang_mai(shared_data, tmp_path):
    src = shared_data / "osm" / "chiang_mai" / "chiang_mai_nimman_cmu_2023-02-27.osm"
    if not src.is_file():
        pytest.skip("Chiang Mai extract not available")
    new = read_osm(src, highway_exclude=EXCLUDE).roads
    old = osmnx_roads(src, EXCLUDE, tmp_path)
    kept = rows(new, ordered=True)
    assert kept[:len(old)] == rows(old, ordered=True)
    rings = new.geometry.iloc[len(old):]   # closed rings joined to no other road, which osmnx dropped
    assert len(rings) >= 1 and all(g.is_ring for g in rings)
    assert set(zip(new["osm_id"][:len(old)], new["highway"][:len(old)])) == set(zip(old["osm_id"], old["highway"]))


def test_read_osm_edges_of_the_rich_fixture(tmp_path):
    """Facts of RICH_WAYS worked out by hand (see the comment above RICH_NODES)."""
    roads = read_osm(write_osm(tmp_path / "rich.osm", RICH_NODES, RICH_WAYS), highway_exclude=EXCLUDE).roads
    coords = [[(round(x, 4), round(y, 4)) for x, y in g.coords] for g in roads.geometry]
    node = {xy: i for i, xy in RICH_NODES.items()}
    paths = sorted((r, [node[c] for c in cs]) for r, cs in zip(roads["osm_id"], coords))
    assert paths == [("way/201", [1, 2]), ("way/201", [2, 3, 4, 5]), ("way/203", [5, 6]), ("way/203", [6, 7]),
                     ("way/204", [6, 7]), ("way/205", [7, 8, 9, 10, 7]), ("way/205", [7, 10, 9, 8, 7]),
                     ("way/206", [20, 21, 22, 20]), ("way/207", [2, 30]), ("way/208", [40, 41])]
    assert set(roads.loc[roads["osm_id"] == "way/203", "surface"]) == {"asphalt"}
    assert roads.loc[roads["osm_id"] == "way/207", ["bridge", "width"]].values.tolist() == [["yes", "6"]]


def test_default_exclusions_drop_paths_lifecycle_and_guided_ways(tmp_path):
    """Ways no duct follows (paths, stops, lifecycle values such as a disused or razed road, a
    racing circuit, a guided busway, the area of a service station or rest area) are not roads by
    default; the streets around them are."""
    classes = ["footway", "disused", "abandoned", "razed", "raceway", "bus_guideway", "construction", "services",
               "rest_area"]
    nodes = {i: (98.96 + 0.001 * i, 18.79) for i in range(len(classes) + 2)}
    ways = [(1, [0, 1], {"highway": "residential"})]
    ways += [(10 + i, [i + 1, i + 2], {"highway": c}) for i, c in enumerate(classes)]
    roads = read_osm(write_osm(tmp_path / "classes.osm", nodes, ways), highway_exclude=EXCLUDE).roads
    assert roads["osm_id"].tolist() == ["way/1"]
    assert len(read_osm(tmp_path / "classes.osm", highway_exclude=()).roads) == len(classes) + 1


def test_read_osm_splits_where_road_tags_change(tmp_path):
    nodes = {1: (98.96, 18.79), 2: (98.961, 18.79), 3: (98.962, 18.79)}
    same = write_osm(tmp_path / "same.osm", nodes, [(1, [1, 2], {"highway": "residential"}),
                                                     (2, [2, 3], {"highway": "residential"})])
    roads = read_osm(same).roads
    assert len(roads) == 1 and len(roads.geometry.iloc[0].coords) == 3  # one street, two ways
    for key, value in (("surface", "gravel"), ("bridge", "yes"), ("highway", "tertiary"), ("lanes", "2")):
        tags = {"highway": "residential", key: value}
        f = write_osm(tmp_path / f"{key}.osm", nodes, [(1, [1, 2], {"highway": "residential"}), (2, [2, 3], tags)])
        roads = read_osm(f).roads
        assert sorted(roads["osm_id"]) == ["way/1", "way/2"], key
        assert roads.loc[roads["osm_id"] == "way/2", key].tolist() == [value]


def test_read_osm_keeps_the_parts_of_ways_between_missing_nodes(tmp_path, caplog):
    """An extract cut at its edge (or an Overpass answer without its ways' nodes) leaves ways
    with nodes missing: their parts between the nodes present are read (the whole way was
    skipped, which cut a clipped town's network into pieces), with a warning naming the ways."""
    nodes = {1: (98.96, 18.79), 2: (98.961, 18.79), 3: (98.962, 18.79), 4: (98.96, 18.80), 5: (98.961, 18.80),
             6: (98.963, 18.80), 7: (98.964, 18.80)}
    f = write_osm(tmp_path / "cut.osm", nodes, [(10, [1, 2], {"highway": "residential"}),
                                                (11, [2, 3, 99], {"highway": "tertiary"}),
                                                (12, [97, 4, 5, 98, 6, 7, 96], {"highway": "service"})])
    with caplog.at_level(logging.WARNING, logger="connectivity.load"):
        roads = read_osm(f).roads
    node = {xy: i for i, xy in nodes.items()}
    paths = sorted((r, [node[(round(x, 4), round(y, 4))] for x, y in g.coords])
                   for r, g in zip(roads["osm_id"], roads.geometry))
    assert paths == [("way/10", [1, 2]), ("way/11", [2, 3]), ("way/12", [4, 5]), ("way/12", [6, 7])]
    assert roads.loc[roads["osm_id"] == "way/12", "highway"].tolist() == ["service", "service"]
    assert "2 highway way(s) use nodes missing from the file" in caplog.text
    assert "way/11" in caplog.text and "way/12" in caplog.text and "cut.osm" in caplog.text
    assert "way/10" not in caplog.text and "skipped" not in caplog.text
    only = write_osm(tmp_path / "only.osm", nodes, [(11, [2, 99, 3], {"highway": "residential"})])
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="connectivity.load"), \
            pytest.raises(InputDataError, match=r"only\.osm.*no roads"):
        read_osm(only)
    assert "skipped 1 highway way(s) with fewer than two of their nodes in the file: way/11" in caplog.text


@pytest.mark.parametrize("pbf", [False, True])
def test_read_osm_node_outside_the_lon_lat_range_is_named(tmp_path, pbf):
    """A node at lat 95 (a corrupt file) is an error naming it, not a node "missing from the file"
    of a road way, nor an unnamed "invalid location" of a tagged node."""
    nodes = {1: (98.96, 18.79), 2: (98.961, 95.0), 3: (98.962, 18.79)}
    f = write_osm(tmp_path / "far.osm", nodes, [(10, [1, 3], {"highway": "residential"}),
                                                (11, [3, 2], {"highway": "residential"})])
    f = to_pbf(f, tmp_path / "far.osm.pbf") if pbf else f
    with pytest.raises(InputDataError, match=r"far\.osm.*: node/2 \(of way/11\) lies at lon 98\.961, lat 95: outside"):
        read_osm(f)
    poi = write_osm(tmp_path / "poi.osm", nodes, [(10, [1, 3], {"highway": "residential"})])
    poi.write_text(poi.read_text().replace('<node id="2" lat="95.0" lon="98.961"/>',
                                           '<node id="2" lat="95.0" lon="98.961"><tag k="amenity" v="school"/></node>'))
    with pytest.raises(InputDataError, match=r"poi\.osm: node/2 lies at lon 98\.961, lat 95: outside"):
        read_osm(poi)


def test_osmnx_settings_are_left_as_found(monkeypatch, fixtures):
    import osmnx as ox

    tags = ["highway", "name"]
    monkeypatch.setattr(ox.settings, "use_cache", True)
    monkeypatch.setattr(ox.settings, "useful_tags_way", tags)
    read_osm(fixtures / "tiny.osm", highway_exclude=EXCLUDE)
    assert ox.settings.use_cache is True and ox.settings.useful_tags_way is tags

    # download_osm, offline: osmnx's download replaced by the fixture read through osmnx
    seen = {}
    real = ox.graph_from_xml

    def fake_bbox(bbox, **kwargs):
        seen.update(use_cache=ox.settings.use_cache, tags=set(ox.settings.useful_tags_way))
        return real(fixtures / "tiny.osm", bidirectional=True, simplify=False, retain_all=True)

    def no_features(*args, **kwargs):
        from osmnx._errors import InsufficientResponseError
        raise InsufficientResponseError("nothing here")

    monkeypatch.setattr(load.online, "_resolves", lambda host: True)  # no DNS look-up in tests
    monkeypatch.setattr(ox, "graph_from_bbox", fake_bbox)
    monkeypatch.setattr(ox, "features_from_bbox", no_features)
    layers = load.download_osm(bbox=(98.95, 18.78, 98.97, 18.80), highway_exclude=EXCLUDE)
    assert layers.warnings == () and len(layers.buildings) == 0  # nothing matched: no warning
    assert seen["use_cache"] is False and set(load.SIMPLIFY_KEEP) <= seen["tags"]
    assert "asphalt" in set(layers.roads["surface"].dropna())  # surface is kept only inside the scope
    assert ox.settings.use_cache is True and ox.settings.useful_tags_way is tags

    def offline(*args, **kwargs):
        raise ConnectionError("offline")

    monkeypatch.setattr(ox, "graph_from_bbox", offline)
    with pytest.raises(InputDataError, match=r"downloading bbox \(98.95, 18.78, 98.97, 18.8\) failed \(ConnectionError: offline\)"):
        load.download_osm(bbox=(98.95, 18.78, 98.97, 18.80))
    assert ox.settings.use_cache is True and ox.settings.useful_tags_way is tags


def test_read_osm_without_roads_is_an_error(tmp_path):
    f = tmp_path / "noroads.osm"
    f.write_text('<?xml version="1.0"?><osm version="0.6"><node id="1" lat="1" lon="1"/>'
                 '<node id="2" lat="1.1" lon="1"/><way id="3"><nd ref="1"/><nd ref="2"/>'
                 '<tag k="waterway" v="river"/></way></osm>')
    with pytest.raises(InputDataError, match="no roads"):
        read_osm(f)


def test_read_osm_missing_and_garbage(tmp_path):
    with pytest.raises(InputDataError, match="file not found"):
        read_osm(tmp_path / "nope.osm")
    bad = tmp_path / "bad.osm"
    bad.write_text("this is not xml")
    with pytest.raises(InputDataError, match="bad.osm"):
        read_osm(bad)


def test_read_vector_csv_needs_coordinates(tmp_path):
    f = tmp_path / "s.csv"
    f.write_text("site_id,operator\nA,TOT\n")
    with pytest.raises(InputDataError, match="no coordinates"):
        read_vector(f)


def test_read_vector_csv_xy_needs_crs(tmp_path):
    f = tmp_path / "s.csv"
    f.write_text("site_id,operator,x,y\nA,TOT,500000,2000000\n")
    with pytest.raises(CRSError):
        read_vector(f)
    gdf = read_vector(f, crs="EPSG:32647")
    assert gdf.crs.to_epsg() == 32647 and gdf.geometry.iloc[0].x == 500000


def test_read_vector_reports_bad_row(tmp_path):
    f = tmp_path / "s.csv"
    f.write_text("site_id,operator,lon,lat\nA,TOT,98.9,18.8\nB,TOT,,18.8\n")
    with pytest.raises(InputDataError, match="line 3"):
        read_vector(f)


def test_read_road_lines_rejects_points(tmp_path):
    f = tmp_path / "pts.geojson"
    gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(98.9, 18.8)], crs=4326).to_file(f)
    with pytest.raises(InputDataError, match="LineString"):
        read_road_lines(f)


def test_partner_poles_csv_with_owner(tmp_path):
    from connectivity.load import read_assets

    f = tmp_path / "poles.csv"
    f.write_text("id,owner,x,y\nP1,PEA,500000,2077000\nP2,TOT,500040,2077000\n")
    poles = read_assets(f, geometry="Point", crs="EPSG:32647")
    assert poles["owner"].tolist() == ["PEA", "TOT"] and poles["osm_id"].tolist() == ["P1", "P2"]
    f.write_text("id,x,y\nP1,500000,2077000\n")
    with pytest.raises(InputDataError, match="owner"):
        read_assets(f, geometry="Point", crs="EPSG:32647")


def test_partner_lines_need_line_geometry(tmp_path):
    from connectivity.load import read_assets

    f = tmp_path / "lines.geojson"
    gpd.GeoDataFrame({"owner": ["PEA", "PEA"]}, geometry=[shapely.LineString([(98.9, 18.8), (98.91, 18.8)]),
                                                         shapely.Point(98.9, 18.8)], crs=4326).to_file(f)
    with pytest.raises(InputDataError, match="row 2: expected LineString"):
        read_assets(f, geometry="LineString")


def test_read_osm_with_only_a_closed_ring_reads_it_as_one_loop(tmp_path):
    """A closed ring of street joined to no other road (a block, a roundabout) is a road: one loop."""
    nodes = {1: (98.96, 18.79), 2: (98.961, 18.79), 3: (98.9605, 18.791)}
    f = write_osm(tmp_path / "ring.osm", nodes, [(1, [1, 2, 3, 1], {"highway": "residential"})])
    roads = read_osm(f).roads
    assert roads["osm_id"].tolist() == ["way/1"] and roads.geometry.iloc[0].is_ring
    area = write_osm(tmp_path / "area.osm", nodes, [(1, [1, 2, 3, 1], {"highway": "residential", "area": "yes"})])
    with pytest.raises(InputDataError, match=r"area\.osm.*no roads"):
        read_osm(area)


def test_ensure_projected_is_the_one_metres_check():
    """No CRS, degrees and feet are refused by the one check the network and coverage use."""
    import geopandas as gpd
    import shapely
    from connectivity import coverage
    from connectivity.load import ensure_projected
    g = gpd.GeoDataFrame(geometry=[shapely.Point(1, 2)], crs="EPSG:32647")
    ensure_projected(g, "x")
    for crs, words in ((None, "no CRS"), ("EPSG:4326", "geographic CRS EPSG:4326"), ("EPSG:2263", "EPSG:2263 in US survey foot")):
        frame = g.set_crs(crs, allow_override=True)
        with pytest.raises(CRSError, match=f"x: needs a projected CRS in metres, got {words}"):
            ensure_projected(frame, "x")
        with pytest.raises(CRSError, match=f"buildings: needs a projected CRS in metres, got {words}"):
            coverage._check_metric(frame, "buildings")


@pytest.mark.parametrize("header", ["site_id,lon,lat,LON", "site_id;lat;lon;lat", 'site_id,"lon",lat, lon'])
def test_csv_column_given_twice_is_an_error(tmp_path, header):
    """A known column twice in the header (any case or spacing): pandas would read the second as
    ``lon.1`` and the first be used silently; one line names the file and both columns."""
    sep = ";" if ";" in header else ","
    path = tmp_path / "sites.csv"
    path.write_text(header + "\n" + sep.join(["s1", "98.96", "18.79", "99.0"]) + "\n")
    with pytest.raises(InputDataError) as exc:
        read_vector(path)
    msg = str(exc.value)
    assert str(path) in msg and "appears twice" in msg and "\n" not in msg
    assert any(f"`{k}`" in msg for k in ("lon", "lat"))


def test_geojson_crs_member_naming_an_unknown_crs_is_an_error(tmp_path):
    """GDAL reads a GeoJSON whose ``crs`` member names an unknown CRS as WGS84, without a word: with
    coordinates inside the longitude/latitude range nothing else would catch it."""
    import json

    from connectivity.errors import CRSError

    doc = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::99999"}},
           "features": [{"type": "Feature", "properties": {"site_id": "s1"},
                         "geometry": {"type": "Point", "coordinates": [98.96, 18.79]}}]}
    path = tmp_path / "sites.geojson"
    path.write_text(json.dumps(doc))
    with pytest.raises(CRSError, match="unknown CRS 'urn:ogc:def:crs:EPSG::99999'"):
        read_vector(path)
    doc["crs"]["properties"]["name"] = "urn:ogc:def:crs:EPSG::32647"   # a known one is read in it
    doc["features"][0]["geometry"]["coordinates"] = [500000.0, 2000000.0]
    path.write_text(json.dumps(doc))
    assert read_vector(path).crs.to_epsg() == 32647


def test_road_lines_leave_out_excluded_highway_classes(tmp_path):
    """options.highway_exclude applies to road line files as to OSM: such lines are no roads;
    a file of nothing else is a one-line error naming it."""
    lines = [shapely.LineString([(98.96, 18.79), (98.961, 18.79)]), shapely.LineString([(98.961, 18.79), (98.962, 18.79)]),
             shapely.LineString([(98.962, 18.79), (98.963, 18.79)])]
    path = tmp_path / "roads.geojson"
    gpd.GeoDataFrame({"highway": ["residential", "footway", "service"]}, geometry=lines, crs="EPSG:4326").to_file(path)
    assert list(read_road_lines(path)["highway"]) == ["residential", "footway", "service"]
    kept = read_road_lines(path, highway_exclude=("footway", "steps"))
    assert list(kept["highway"]) == ["residential", "service"]
    assert kept.geometry.iloc[1].equals(lines[2])
    with pytest.raises(InputDataError, match=r"roads.geojson: no roads left: every line's highway class \(footway, residential\)"):
        gpd.GeoDataFrame({"highway": ["residential", "footway"]}, geometry=lines[:2], crs="EPSG:4326").to_file(path)
        read_road_lines(path, highway_exclude=("footway", "residential"))


def test_negative_node_ids_of_unsaved_edits_are_read(tmp_path, caplog):
    """JOSM writes unsaved objects with negative ids; pyosmium's location cache keeps none for
    them, so their ways were dropped as 'using nodes missing from the file'. They are read, and a
    power line that uses a node truly missing is skipped with a warning (the file was rejected)."""
    nodes = {-1: (98.960, 18.800), -2: (98.965, 18.800), -3: (98.965, 18.805), 5: (98.960, 18.805),
             -6: (98.961, 18.801), -7: (98.964, 18.801)}
    ways = [(-10, [-1, -2, -3], {"highway": "residential"}), (-12, [-6, -7], {"power": "minor_line"}),
            (11, [-3, 5], {"highway": "residential"}), (13, [-6, 99], {"power": "minor_line"})]   # osmium's id order
    with caplog.at_level("WARNING", logger="connectivity.load"):
        layers = read_osm(write_osm(tmp_path / "edits.osm", nodes, ways))
    coords = {xy for g in layers.roads.geometry for xy in g.coords}
    assert coords == {nodes[i] for i in (-1, -2, -3, 5)}   # both roads, all their nodes
    assert layers.lines["osm_id"].tolist() == ["way/-12"]
    assert layers.lines.geometry.iloc[0].coords[:] == [(98.961, 18.801), (98.964, 18.801)]
    assert "skipped 1 overhead line(s) that use nodes missing from the file: way/13" in caplog.text
    assert "highway way(s)" not in caplog.text


def test_a_town_cut_from_the_chiang_mai_extract_keeps_its_roads_up_to_the_edge(shared_data, tmp_path):
    """The Chiang Mai extract cut to a box the way a bare Overpass query or a simple extract
    cuts it (nodes outside dropped, every way kept): the roads read from it cover the full
    extract's roads inside the box but for the segments that cross its edge (92 % of the
    length here; skipping the ways that lost nodes kept 78 %)."""
    import re

    src = shared_data / "osm" / "chiang_mai" / "chiang_mai_nimman_cmu_2023-02-27.osm"
    if not src.is_file():
        pytest.skip("Chiang Mai extract not available")
    west, south, east, north = 98.955, 18.792, 98.968, 18.804

    def inside(m):
        lat, lon = (float(re.search(rf'{k}="([-0-9.]+)"', m.group(0)).group(1)) for k in ("lat", "lon"))
        return m.group(0) if west <= lon <= east and south <= lat <= north else ""

    cut = tmp_path / "cut.osm"
    cut.write_text(re.sub(r"<node [^>]*?(/>|>.*?</node>)", inside, src.read_text(encoding="utf-8"), flags=re.S),
                   encoding="utf-8")
    box = gpd.GeoSeries([shapely.box(west, south, east, north)], crs="EPSG:4326").to_crs(32647).iloc[0]
    full = read_osm(src).roads.to_crs(32647).geometry.intersection(box).length.sum()
    kept = read_osm(cut).roads.to_crs(32647).length.sum()
    assert 0.9 * full <= kept <= full * 1.001


def test_overhead_lines_keep_their_parts_between_missing_nodes(tmp_path, caplog):
    """A power line cut by the extract's edge keeps its parts of two nodes or more (rows of the
    same id), as roads do; one left with no such part is skipped; both are named."""
    nodes = {1: (98.960, 18.800), 2: (98.961, 18.800), 3: (98.963, 18.800), 4: (98.964, 18.800),
             5: (98.960, 18.801), 6: (98.961, 18.801)}
    ways = [(1, [5, 6], {"highway": "residential"}), (20, [1, 2, 99, 3, 4, 98], {"power": "minor_line"}),
            (21, [97, 2, 96], {"power": "line"})]
    with caplog.at_level("WARNING", logger="connectivity.load"):
        lines = read_osm(write_osm(tmp_path / "cut.osm", nodes, ways)).lines
    assert lines["osm_id"].tolist() == ["way/20", "way/20"]
    assert [g.coords[:] for g in lines.geometry] == [[nodes[1], nodes[2]], [nodes[3], nodes[4]]]
    assert "1 overhead line(s) use nodes missing from the file; kept their parts between the nodes present: way/20" \
        in caplog.text
    assert "skipped 1 overhead line(s) that use nodes missing from the file: way/21" in caplog.text


@pytest.mark.parametrize("end", ["\r", "\r\n"])
def test_csv_lines_ended_by_cr_read_as_by_lf(tmp_path, end):
    """Old Mac spreadsheets end lines with CR alone (the csv module stopped on it: exit 1, "new-line
    character seen in unquoted field"); Windows with CR LF. Both read as the LF file, and messages
    name the same file lines."""
    rows = ["site_id,operator,lon,lat", "A,TOT,98.9601,18.7901", '"B, east",CAT,98.9609,18.7909']
    lf, other = tmp_path / "lf.csv", tmp_path / "other.csv"
    lf.write_bytes(("\n".join(rows) + "\n").encode())
    other.write_bytes((end.join(rows) + end).encode())
    want, got = read_vector(lf), read_vector(other)
    assert got.drop(columns="geometry").equals(want.drop(columns="geometry"))
    assert got.geometry.geom_equals(want.geometry).all() and got["site_id"].tolist() == ["A", "B, east"]
    bad = tmp_path / "bad.csv"
    bad.write_bytes(end.join(rows + ["C,TOT,98.96,north"]).encode())
    with pytest.raises(InputDataError, match=r"bad\.csv: line 4: missing or non-numeric coordinates"):
        read_vector(bad)


@pytest.mark.parametrize("old, new", [('id="3"', 'id="99999999999999999999"'), ('ref="3"', 'ref="99999999999999999999"'),
                                      ('way id="11"', 'way id="-99999999999999999999"')])
def test_read_osm_id_beyond_64_bits_is_an_input_error_naming_it(tmp_path, old, new):
    """An id libosmium cannot hold (beyond int64) made pyosmium raise ValueError: "internal error",
    exit 1. It is bad input: one line naming the file and the id."""
    nodes = {1: (98.96, 18.79), 2: (98.961, 18.79), 3: (98.961, 18.791)}
    f = write_osm(tmp_path / "big.osm", nodes, [(10, [1, 2], {"highway": "residential"}),
                                                (11, [2, 3], {"highway": "residential"})])
    f.write_text(f.read_text().replace(old, new))
    big = new.split('"')[1]
    with pytest.raises(InputDataError, match=rf"big\.osm: not a readable OSM file \(illegal id: '{big}'\)"):
        read_osm(f)


def test_scan_osm_leaves_the_errors_of_handlers_alone(fixtures):
    """Only what the reader refuses is bad input: a handler's own error (a bug) is not turned into
    "not a readable OSM file" (exit 2), it stays an error of the code (exit 1)."""
    class Broken:
        def way(self, w):
            raise RuntimeError("a bug in the handler")

    with pytest.raises(RuntimeError, match="a bug in the handler"):
        load.scan_osm(fixtures / "tiny.osm", Broken())


@pytest.mark.parametrize("lon, lat", [("98.961", "1e300"), ("-2.5e99", "18.79"), ("98.961", "1E57")])
def test_read_osm_coordinate_with_a_huge_exponent_is_named(tmp_path, lon, lat):
    """libosmium reads an XML coordinate with an exponent beyond about 55 as 0 without a word:
    lat="1e300" gave a 2,000 km road edge. It is an error naming the node, as lat="95" is, for a
    road's node and for a tagged one; a node truly at lat 0 or lon 0 (written "0e300") is read."""
    nodes = {1: (98.96, 18.79), 2: (98.961, 18.79), 3: (98.96, 18.791), 4: (98.961, 18.791)}
    ways = [(10, [1, 2], {"highway": "residential"}), (12, [3, 4], {"highway": "residential"})]
    f = write_osm(tmp_path / "far.osm", nodes, ways)
    f.write_text(f.read_text().replace('<node id="4" lat="18.791" lon="98.961"/>', f'<node id="4" lat="{lat}" lon="{lon}"/>'))
    with pytest.raises(InputDataError, match=rf"far\.osm: node/4 lies at lon {lon}, lat {lat}: outside the lon/lat range"):
        read_osm(f)
    poi = write_osm(tmp_path / "poi.osm", nodes, ways[:1])
    poi.write_text(poi.read_text().replace('<node id="4" lat="18.791" lon="98.961"/>',
                                           f'<node id="4" lat="{lat}" lon="{lon}"><tag k="amenity" v="school"/></node>'))
    with pytest.raises(InputDataError, match=rf"poi\.osm: node/4 lies at lon {lon}, lat {lat}: outside"):
        read_osm(poi)
    zero = write_osm(tmp_path / "zero.osm", {**nodes, 4: (0.0, 0.0)}, ways)
    zero.write_text(zero.read_text().replace('lat="0.0" lon="0.0"', 'lat="0e300" lon="-0"'))
    assert sorted(g.coords[-1] for g in read_osm(zero).roads.geometry) == [(0.0, 0.0), (98.961, 18.79)]


def test_read_osm_coordinate_not_a_number_names_the_node(tmp_path):
    """lat="nan" (or "1e30", which libosmium refuses): the reader's words and the node."""
    nodes = {1: (98.96, 18.79), 2: (98.961, 18.79), 3: (98.96, 18.791)}
    f = write_osm(tmp_path / "nan.osm", nodes, [(10, [1, 2, 3], {"highway": "residential"})])
    f.write_text(f.read_text().replace('<node id="3" lat="18.791"', "<node id='3' lat='nan'"))
    with pytest.raises(InputDataError, match=r"nan\.osm: not a readable OSM file \(wrong format for coordinate: "
                                             r"'nan'; node/3\)"):
        read_osm(f)


JOSM_DELETIONS = """<?xml version='1.0' encoding='UTF-8'?>
<osm version='0.6' upload='false' generator='JOSM'>
  <node id='1' version='1' visible='true' lat='18.790' lon='98.960' />
  <node id='2' version='1' visible='true' lat='18.790' lon='98.961' />
  <node id='3' action='delete' version='1' visible='true' lat='18.791' lon='98.961' />
  <node id='4' version='1' visible='true' lat='18.792' lon='98.961' />
  <node id='5' version='1' visible='true' lat='18.792' lon='98.962' />
  <node id='6' version='1' visible='true' lat='18.791' lon='98.960' />
  <node id='7' version='2' visible='false' lat='18.793' lon='98.962' />
  <node id='8' version='1' visible='true' lat='18.792' lon='98.963' />
  <node id='20' action='delete' version='1' visible='true' lat='18.7905' lon='98.9605'>
    <tag k='amenity' v='school' />
  </node>
  <node id='21' version='3' visible='false' lat='18.7906' lon='98.9606'>
    <tag k='amenity' v='hospital' />
  </node>
  <node id='22' version='1' visible='true' lat='18.7907' lon='98.9607'>
    <tag k='amenity' v='post_office' />
  </node>
  <way id='10' version='1' visible='true'><nd ref='1' /><nd ref='2' /><tag k='highway' v='residential' /></way>
  <way id='11' version='1' visible='true'><nd ref='2' /><nd ref='3' /><nd ref='4' /><nd ref='5' />
    <tag k='highway' v='residential' /><tag k='name' v='Through a deleted node' /></way>
  <way id='12' action='delete' version='1' visible='true'><nd ref='1' /><nd ref='6' />
    <tag k='highway' v='residential' /><tag k='name' v='Deleted in JOSM' /></way>
  <way id='13' version='2' visible='false'><nd ref='1' /><nd ref='5' />
    <tag k='highway' v='residential' /><tag k='name' v='Deleted' /></way>
  <way id='14' version='1' visible='true'><nd ref='5' /><nd ref='8' /><nd ref='7' />
    <tag k='highway' v='residential' /><tag k='name' v='Through an invisible node' /></way>
  <way id='30' action='delete' version='1' visible='true'><nd ref='1' /><nd ref='2' /><nd ref='6' /><nd ref='1' />
    <tag k='building' v='yes' /></way>
  <way id='31' version='1' visible='true'><nd ref='2' /><nd ref='4' /><nd ref='6' /><nd ref='2' />
    <tag k='building' v='yes' /></way>
</osm>
"""


def test_read_osm_leaves_out_what_josm_deleted(tmp_path, caplog):
    """A JOSM file keeps objects deleted locally (action="delete") and may hold deleted ones
    (visible="false"): they were read as live data, and ducts routed along a deleted way. They are
    left out (roads, points of interest, buildings), and a way using a deleted node reads as one
    using a node missing from the file: its parts between the nodes present are kept."""
    f = tmp_path / "josm.osm"
    f.write_text(JOSM_DELETIONS)
    with caplog.at_level(logging.WARNING, logger="connectivity.load"):
        layers = read_osm(f)
    at = {(98.960, 18.790): 1, (98.961, 18.790): 2, (98.961, 18.792): 4, (98.962, 18.792): 5, (98.963, 18.792): 8}
    paths = sorted((w, [at[xy] for xy in g.coords]) for w, g in zip(layers.roads["osm_id"], layers.roads.geometry))
    assert paths == [("way/10", [1, 2]), ("way/11", [4, 5]), ("way/14", [5, 8])]
    assert layers.pois["osm_id"].tolist() == ["node/22"]
    assert layers.buildings["osm_id"].tolist() == ["way/31"]
    assert "2 highway way(s) use nodes missing from the file" in caplog.text
    assert "way/11, way/14" in caplog.text


def test_an_osm_file_whose_highways_are_all_left_out_says_which(tmp_path):
    """Highway ways that are all excluded (``highway_exclude``, ``area=yes``) are named by class
    in the one-line error, not reported as a file with no highway at all."""
    nodes = {1: (98.96, 18.79), 2: (98.961, 18.79), 3: (98.9605, 18.791)}
    ways = [(1, [1, 2], {"highway": "footway"}), (2, [2, 3], {"highway": "footway"}),
            (3, [1, 2, 3, 1], {"highway": "pedestrian", "area": "yes"}), (4, [1, 3], {"highway": "residential", "area": "yes"})]
    f = write_osm(tmp_path / "paths.osm", nodes, ways)
    with pytest.raises(InputDataError) as err:
        read_osm(f, highway_exclude=EXCLUDE)
    assert str(err.value) == (f"{f}: no roads: every highway=* way is left out by options.highway_exclude or area=yes "
                              "(footway x2, pedestrian x1, residential (area=yes) x1)")
    assert read_osm(f, highway_exclude=()).roads["highway"].tolist() == ["footway"]   # once nothing is excluded


def test_an_osm_file_listing_its_ways_before_their_nodes_is_named_unsorted(tmp_path):
    """libosmium locates a way's nodes in one pass, nodes first: a file with its ways first (hand-made,
    not sorted) reads as ways without nodes; the error says the file is not sorted and how to sort it."""
    nodes = {1: (98.96, 18.79), 2: (98.961, 18.79), 3: (98.962, 18.79)}
    src = write_osm(tmp_path / "sorted.osm", nodes, [(1, [1, 2, 3], {"highway": "residential"})])
    text = src.read_text(encoding="utf-8")
    node_lines = [ln for ln in text.splitlines(keepends=True) if ln.lstrip().startswith("<node")]
    unsorted = tmp_path / "unsorted.osm"
    unsorted.write_text("".join(ln for ln in text.splitlines(keepends=True) if ln not in node_lines)
                        .replace("</osm>", "".join(node_lines) + "</osm>"), encoding="utf-8")
    assert len(read_osm(src).roads) == 1
    with pytest.raises(InputDataError, match=r"unsorted\.osm: no roads: the file lists nodes after the ways .*osmium sort"):
        read_osm(unsorted)
