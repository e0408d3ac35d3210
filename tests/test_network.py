import geopandas as gpd
import numpy as np
import pytest
import shapely

from connectivity.errors import CRSError, InputDataError
from connectivity.network import attach_sites, build_network, line_ends, node_lines, roads_network

UTM = "EPSG:32647"


def lines(*coords, **cols):
    return gpd.GeoDataFrame({"highway": ["residential"] * len(coords), **cols},
                            geometry=[shapely.LineString(c) for c in coords], crs=UTM)


def test_node_lines_splits_crossings():
    noded = node_lines(lines([(0, 0), (100, 0)], [(50, -50), (50, 50)]), tolerance_m=1)
    net = build_network(noded)
    assert len(net.edges) == 4 and len(net.nodes) == 5
    assert net.edges["length_m"].sum() == pytest.approx(200)
    assert len(net.component_sizes) == 1


def test_node_lines_joins_ends_within_tolerance():
    gap = lines([(0, 0), (100, 0)], [(50, 0.8), (50, 50)])  # stops 0.8 m short of the first road
    assert len(build_network(node_lines(gap, tolerance_m=1.0)).component_sizes) == 1
    assert len(build_network(node_lines(gap, tolerance_m=0.5)).component_sizes) == 2


def test_a_short_stub_joins_its_spur_to_the_road_it_stops_short_of():
    """A spur drawn as a 0.3 m stub (0.4 m short of the road) and the rest: the stub's loose end
    goes onto the road, not onto the spur that its other end already touches (which folded it away)."""
    spur = lines([(0, 0), (1000, 0)], [(500, 0.4), (500, 0.7)], [(500, 0.7), (500, 400)], name=["Main", "Stub", "Spur"])
    net = build_network(node_lines(spur, tolerance_m=1.0))
    assert len(net.component_sizes) == 1
    assert net.edges["length_m"].sum() == pytest.approx(1400.0)


def test_node_lines_keeps_attributes():
    noded = node_lines(lines([(0, 0), (100, 0)], [(50, -50), (50, 50)], name=["A", "B"]), tolerance_m=1)
    assert sorted(noded["name"]) == ["A", "A", "B", "B"]


def test_build_network_keeps_shortest_parallel_edge_and_splits_loops():
    roads = lines([(0, 0), (100, 0)], [(0, 0), (50, 30), (100, 0)],
                  [(100, 0), (150, 0), (150, 50), (100, 0)])
    net = build_network(roads)
    between = net.edges[(net.edges["length_m"] < 120) & (net.edges["length_m"] > 99)]
    assert len(between) == 1  # the straight 100 m edge wins over the 117 m detour
    assert (net.edges["u"] < net.edges["v"]).all()
    # the loop became three edges through two new nodes
    assert net.edges["length_m"].sum() == pytest.approx(100 + 50 + 50 + np.hypot(50, 50))


def test_build_network_requires_metres():
    with pytest.raises(CRSError, match="projected"):
        build_network(lines([(0, 0), (1, 0)]).set_crs(4326, allow_override=True))


def test_edge_geometry_runs_from_u_to_v():
    net = build_network(lines([(100, 0), (0, 0)], [(0, 0), (0, 100)]))
    for e in net.edges.itertuples():
        start = shapely.get_point(e.geometry, 0)
        assert start.distance(net.nodes.geometry.iloc[e.u]) < 1e-6


def sites_at(*xy, ids=None):
    ids = ids or [f"S{i}" for i in range(len(xy))]
    return gpd.GeoDataFrame({"site_id": ids, "operator": ["TOT"] * len(xy), "kind": ["x"] * len(xy)},
                            geometry=[shapely.Point(p) for p in xy], crs=UTM)


def test_site_beside_middle_of_long_edge_joins_through_split_point():
    net = build_network(lines([(0, 0), (1000, 0)]))
    new, sites = attach_sites(net, sites_at((400, 37.5)), max_distance_m=100)
    assert sites["status"].iloc[0] == "attached"
    lead = new.edges[new.edges["kind"] == "lead_in"]
    assert len(lead) == 1
    assert lead["length_m"].iloc[0] == pytest.approx(37.5)  # the perpendicular distance
    split = new.nodes[new.nodes["kind"] == "split"]
    assert len(split) == 1 and split.geometry.iloc[0].equals_exact(shapely.Point(400, 0), 1e-6)
    road = new.edges[new.edges["kind"] == "road"].sort_values("length_m")
    assert road["length_m"].tolist() == pytest.approx([400, 600])
    assert len(new.component_sizes) == 1


def test_several_sites_on_one_edge_and_far_site():
    net = build_network(lines([(0, 0), (1000, 0)]))
    new, sites = attach_sites(net, sites_at((200, 10), (700, -20), (500, 500)), max_distance_m=100)
    assert sites["status"].tolist() == ["attached", "attached", "too_far"]
    assert sites["node_id"].isna().tolist() == [False, False, True]
    road = new.edges[new.edges["kind"] == "road"]
    assert sorted(road["length_m"].round(6)) == [200, 300, 500]
    assert new.edges["length_m"].sum() == pytest.approx(1000 + 10 + 20)


def test_site_at_road_end_uses_existing_node():
    net = build_network(lines([(0, 0), (100, 0)]))
    new, sites = attach_sites(net, sites_at((100, 5)), max_distance_m=50)
    assert (new.nodes["kind"] == "split").sum() == 0
    assert len(new.edges) == 2


def test_roads_network_reports_components_and_projects_to_utm(fixtures):
    roads = gpd.GeoDataFrame({"highway": ["primary"] * 2},
                             geometry=[shapely.LineString([(98.95, 18.79), (98.96, 18.79)]),
                                       shapely.LineString([(98.95, 18.80), (98.96, 18.80)])], crs=4326)
    net = roads_network(roads)
    assert net.crs == "EPSG:32647"
    assert list(net.component_sizes.values()) == [2, 2]
    assert net.edges["length_m"].iloc[0] == pytest.approx(1054, rel=0.01)


def test_empty_roads_is_an_error():
    with pytest.raises(InputDataError):
        roads_network(lines().iloc[:0])


def test_no_site_within_reach_leaves_network_unchanged():
    net = build_network(lines([(0, 0), (100, 0)]))
    new, sites = attach_sites(net, sites_at((50, 500), (60, 900)), max_distance_m=100)
    assert sites["status"].tolist() == ["too_far", "too_far"]
    assert len(new.edges) == len(net.edges)


def test_node_lines_joins_every_t_junction_at_any_offset_and_angle():
    """A lane ending short of (or exactly on) a street's interior is joined whatever the
    angle and gap: the snapped end and the street hold the same coordinate after rounding
    to the 1 mm node grid (rounding them separately left ~4 % of such junctions apart)."""
    rng = np.random.default_rng(7)
    coords = []
    for k in range(400):
        a = np.array([500_000.0 + 300 * k + rng.random(), 2_000_000.0 + 1000 * rng.random()])
        angle = rng.random() * np.pi
        d = np.array([np.cos(angle), np.sin(angle)])
        normal = np.array([-d[1], d[0]])
        foot = a + rng.uniform(10, 90) * d
        gap = 0.0 if k % 4 == 0 else rng.uniform(0.0005, 0.95)
        coords += [[a, a + 100 * d], [foot + normal * (gap + 50), foot + normal * gap]]
    net = build_network(node_lines(lines(*coords), tolerance_m=1.0))
    assert len(net.component_sizes) == 400  # each street joined to its lane
    assert len(net.edges) == 3 * 400  # the street split in two at the junction
    assert net.edges["length_m"].sum() == pytest.approx(150 * 400, abs=400 * 1.0)


def test_component_labels_numbered_by_smallest_node():
    """The one components helper: labels 0, 1, ... in the order of each component's smallest node."""
    from connectivity.steiner.graph import component_labels
    rng = np.random.default_rng(3)
    n = 200
    u, v = rng.integers(0, n, 120), rng.integers(0, n, 120)
    label = component_labels(n, u, v)
    first = [int(np.flatnonzero(label == c)[0]) for c in range(label.max() + 1)]
    assert first == sorted(first) and label[0] == 0
    assert all(label[a] == label[b] for a, b in zip(u, v))
    assert len(component_labels(0, [], [])) == 0 and list(component_labels(3, [], [])) == [0, 1, 2]


def test_node_lines_snaps_many_ends_onto_one_street_and_both_ends_of_a_lane():
    """Several lanes end short of, or overshoot, the same street (each end becomes a vertex of it),
    and one lane is short at both ends (two streets): everything joins at the feet."""
    street_a, street_b = [(0, 0), (300, 0)], [(0, 100), (300, 100)]
    short = [(50, 0.4), (50, 60)]            # first end 0.4 m short of street A
    over = [(120, 80), (120, -0.7)]          # last end 0.7 m past street A
    both = [(200, 0.3), (200, 99.6)]         # short of A and of B
    net = build_network(node_lines(lines(street_a, street_b, short, over, both), tolerance_m=1.0))
    assert len(net.component_sizes) == 1
    assert len(net.edges) == 4 + 2 + 3       # A split three times, B once, the three lanes
    xy = np.round(shapely.get_coordinates(net.nodes.geometry.values), 3)
    deg = np.bincount(np.r_[net.edges["u"], net.edges["v"]], minlength=len(xy))
    assert sorted(map(tuple, xy[deg == 3].tolist())) == [(50.0, 0.0), (120.0, 0.0), (200.0, 0.0), (200.0, 100.0)]


@pytest.mark.parametrize("with_empty", [False, True])
def test_line_ends_are_the_first_and_last_points(with_empty):
    rng = np.random.default_rng(3)
    lines = [shapely.LineString(rng.random((int(rng.integers(2, 6)), 2)) * 100) for _ in range(50)]
    if with_empty:
        lines[7] = shapely.LineString()
    geoms = np.array(lines, dtype=object)
    first, last = line_ends(geoms)
    want_first = shapely.get_coordinates(shapely.get_point(geoms, 0))
    want_last = shapely.get_coordinates(shapely.get_point(geoms, -1))
    np.testing.assert_array_equal(first, want_first)
    np.testing.assert_array_equal(last, want_last)
    assert len(first) == 50 - with_empty


# --------------------------------------------------------------------------- levels (bridges, tunnels, layer)
def degree_at(net, xy) -> dict[tuple[float, float], int]:
    """Degree of the network's node at each point of ``xy`` (0 where there is no node)."""
    nodes = np.round(shapely.get_coordinates(net.nodes.geometry.values), 3)
    deg = np.bincount(np.r_[net.edges["u"], net.edges["v"]], minlength=len(nodes))
    at = {tuple(p): int(d) for p, d in zip(nodes.tolist(), deg)}
    return {tuple(p): at.get(tuple(p), 0) for p in xy}


def test_a_street_under_a_bridge_is_not_joined_to_it_mid_span():
    """Three streets and two side streets; a bridge (layer 1) crosses the middle street and
    ends on the outer streets mid-block: it joins them at its ends, never the street beneath."""
    streets = [[(0, y), (200, y)] for y in (-100, 0, 100)] + [[(x, -100), (x, 100)] for x in (0, 200)]
    roads = lines(*streets, [(100, -100), (100, 100)],
                  bridge=[None] * 5 + ["yes"], layer=[None] * 5 + ["1"])
    net = build_network(node_lines(roads, tolerance_m=1.0))
    assert degree_at(net, [(100, 0), (100, -100), (100, 100)]) == {(100, 0): 0, (100, -100): 3, (100, 100): 3}
    bridge = net.edges[net.edges["bridge"]]
    assert bridge["length_m"].tolist() == pytest.approx([200.0])      # one edge, end to end
    middle = net.edges[(net.edges.geometry.centroid.y.abs() < 1e-6) & ~net.edges["bridge"]]
    assert middle["length_m"].tolist() == pytest.approx([200.0])      # the street beneath is whole
    assert len(net.component_sizes) == 1 and len(net.edges) == 2 * 2 + 1 + 2 * 2 + 1


@pytest.mark.parametrize(("a", "b", "noded"), [
    ({}, {}, True),                                                     # two streets
    ({}, {"bridge": "yes"}, False),                                     # a bridge (layer 1 by default)
    ({}, {"bridge": "viaduct", "layer": "2"}, False),
    ({}, {"tunnel": "yes"}, False),                                     # a tunnel (layer -1)
    ({}, {"layer": "-1"}, False),
    ({}, {"bridge": "yes", "layer": "0"}, False),                       # a bridge is never at grade with a street
    ({"bridge": "yes"}, {"bridge": "true", "layer": "1"}, True),        # two bridges on one layer
    ({"bridge": "yes", "layer": "1"}, {"bridge": "yes", "layer": "2"}, False),
    ({"bridge": "no", "tunnel": "no", "layer": "0"}, {}, True),         # tags that say ground
])
def test_lines_cross_at_grade_only_on_one_level(a, b, noded):
    roads = lines([(0, 0), (100, 0)], [(50, -50), (50, 50)],
                  **{k: [a.get(k), b.get(k)] for k in ("bridge", "tunnel", "layer")})
    net = build_network(node_lines(roads, tolerance_m=1.0))
    assert len(net.edges) == (4 if noded else 2)
    assert len(net.component_sizes) == (1 if noded else 2)


def test_line_levels_read_osm_values():
    from connectivity.network import line_levels
    roads = lines(*[[(0, k), (10, k)] for k in range(8)],
                  bridge=[None, "yes", "viaduct", "1", None, None, "no", "yes"],
                  tunnel=[None, None, None, None, "yes", "building_passage", None, None],
                  layer=[None, None, "1", "2;3", None, "-2", "0", "high"])
    lv = line_levels(roads)
    assert lv[0] == 0 and lv[6] == 0                    # ground
    assert lv[1] == lv[2] == lv[7] != 0                 # bridges on layer 1 (given, or by default)
    assert len({lv[3], lv[4], lv[5], lv[1]}) == 4 and lv[4] < 0 < lv[3]
    assert (line_levels(lines([(0, 0), (1, 0)])) == 0).all()   # no such columns: all ground


def test_a_bridge_end_short_of_a_street_joins_it_and_a_street_end_prefers_its_own_level():
    """A bridge stopping 0.6 m short of a street mid-block is snapped onto it and the street split
    there; a lane ending 0.4 m short of a street, 0.2 m from a bridge above it, joins the street."""
    street, bridge = [(0, 0), (200, 0)], [(100, 0.6), (100, 300)]
    lane = [(150, 50), (150, 0.4)]
    over = [(140, 0.2), (160, 0.2)]          # a short bridge along the street, 0.2 m off its centre line
    net = build_network(node_lines(lines(street, bridge, lane, over, bridge=[None, "yes", None, "yes"]),
                                   tolerance_m=1.0))
    assert degree_at(net, [(100, 0), (150, 0)]) == {(100, 0): 3, (150, 0): 3}
    lane_edge = net.edges[net.edges.geometry.length.round(1) == 50.0]
    assert len(lane_edge) == 1 and not lane_edge["bridge"].iloc[0]


def test_a_street_split_right_under_a_bridge_stays_under_it():
    """Two street lines meeting on a bridge's centre line (a split of one street, as OSM ways
    often are): their shared end is a junction of the street, not a ramp onto the bridge;
    a lane that ends on the bridge and nowhere else does join it."""
    roads = lines([(0, 0), (100, 0)], [(100, 0), (200, 0)], [(100, -100), (100, 100)], [(300, 50), (300, -50)],
                  [(250, 0), (300, 0)], bridge=[None, None, "yes", "yes", None])
    net = build_network(node_lines(roads, tolerance_m=1.0))
    assert degree_at(net, [(100, 0), (300, 0)]) == {(100, 0): 2, (300, 0): 3}
    assert len(net.component_sizes) == 3        # the street, the first bridge, the second bridge and its lane


@pytest.mark.parametrize("level", ["none", "one level"])
def test_lines_of_one_level_are_noded_as_without_the_columns(level):
    """Same pieces, same order, same attributes: all-ground columns (or every line a bridge) change nothing."""
    rng = np.random.default_rng(11)
    coords = [rng.random((int(rng.integers(2, 5)), 2)) * 500 for _ in range(120)]
    plain = node_lines(lines(*coords, name=[f"r{k}" for k in range(120)]), tolerance_m=1.0)
    tags = {"none": {"bridge": [None] * 120, "tunnel": ["no"] * 120, "layer": ["0"] * 120},
            "one level": {"bridge": ["yes"] * 120, "layer": [None] * 120}}[level]
    tagged = node_lines(lines(*coords, name=[f"r{k}" for k in range(120)], **tags), tolerance_m=1.0)
    assert len(plain) > 300
    assert shapely.equals_exact(plain.geometry.values, tagged.geometry.values, tolerance=0).all()
    assert tagged["name"].tolist() == plain["name"].tolist()


def test_a_line_of_no_length_is_no_edge():
    """A zero-length line (an OSM way of two nodes at one point) beside a road: no edge from a
    node to itself, no node of its own; alone, one error naming the file (was an IndexError)."""
    point = [(50, 50), (50, 50)]
    net = build_network(lines([(0, 0), (100, 0)], point))
    assert len(net.edges) == 1 and len(net.nodes) == 2
    assert (net.edges["u"] < net.edges["v"]).all()
    with pytest.raises(InputDataError, match=r"^in\.osm: no roads .*shorter than 1 mm"):
        build_network(lines(point), source="in.osm")


def test_road_lines_that_collapse_when_noded_name_their_file():
    """Lines all within 0.2 mm of each other round to one node: the error names the road file."""
    grid = [[(98.96 + 1e-9 * i, 18.79 + 1e-9 * k) for i in range(3)] for k in range(3)]
    roads = gpd.GeoDataFrame({"highway": ["residential"] * 3}, geometry=[shapely.LineString(c) for c in grid], crs=4326)
    with pytest.raises(InputDataError, match=r"^roads\.geojson: no roads .*shorter than 1 mm"):
        roads_network(roads, tolerance_m=1.0, source="roads.geojson")


@pytest.mark.parametrize("lat,polar", [(89.9, "EPSG:32661"), (-85.0, "EPSG:32761")])
def test_auto_crs_beyond_the_utm_zones_is_an_error(lat, polar):
    """No UTM zone north of 84 or south of 80 degrees: crs = "auto" is an error naming the file, the
    option, the roads' extent and a polar CRS to set instead (was pyproj's RuntimeError)."""
    roads = gpd.GeoDataFrame({"highway": ["residential"]},
                             geometry=[shapely.LineString([(0.0, lat), (0.01, lat)])], crs=4326)
    with pytest.raises(CRSError) as err:
        roads_network(roads, source="in.osm")
    message = str(err.value)
    for words in ("in.osm: ", 'options.crs = "auto"', f"lat {lat:g} to {lat:g}", "lon 0 to 0.01", polar):
        assert words in message, (words, message)
    assert roads_network(roads, crs=polar).crs == polar   # the CRS suggested plans the roads
