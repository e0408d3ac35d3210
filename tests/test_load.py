import geopandas as gpd
import osmium
import pytest
import shapely

from connectivity.config import Options
from connectivity.errors import CRSError, InputDataError
from connectivity.load import read_osm, read_road_lines, read_vector

EXCLUDE = Options().highway_exclude


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
    pbf = tmp_path / "tiny.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as w:
        for obj in osmium.FileProcessor(str(fixtures / "tiny.osm")):
            if obj.is_node():
                w.add_node(obj)
            elif obj.is_way():
                w.add_way(obj)
    a = read_osm(fixtures / "tiny.osm", highway_exclude=EXCLUDE).roads
    b = read_osm(pbf, highway_exclude=EXCLUDE).roads
    assert sorted(a["osm_id"]) == sorted(b["osm_id"])
    assert a.to_crs(32647).length.sum() == pytest.approx(b.to_crs(32647).length.sum())


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
    with pytest.raises(InputDataError, match="row 3"):
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
