"""A site whose nearest road is a small piece apart from the main network (a driveway, a clipped stub)
joins the main network when it lies within max_site_distance_m; otherwise the piece, as before."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from connectivity import load_scenario, run
from connectivity.network import MAIN_NETWORK, attach_sites, build_network, node_lines
from tests.test_odd_inputs import grid, write_scenario

UTM = "EPSG:32647"
PIECE = [[(100.0, -25.0), (150.0, -25.0)], [(150.0, -25.0), (200.0, -25.0)]]   # two edges, 25 m south of the grid
SITES = [("X", "TOT", 150, -20), ("XC", "CAT", 150.2, -20),   # 5 m from the piece, 20 m from the grid's street y = 0
         ("A", "TOT", 20, 10), ("B", "TOT", 280, 290), ("C", "CAT", 20, 290), ("D", "CAT", 280, 10)]


def _net(lines):
    return build_network(node_lines(gpd.GeoDataFrame({"highway": ["residential"] * len(lines)},
                                                     geometry=[shapely.LineString(line) for line in lines], crs=UTM)))


def _sites(rows):
    return gpd.GeoDataFrame({"site_id": [r[0] for r in rows], "operator": [r[1] for r in rows]},
                            geometry=[shapely.Point(r[2], r[3]) for r in rows], crs=UTM)


def test_a_site_nearest_to_a_road_piece_joins_the_main_network_within_reach():
    net = _net(grid(4) + PIECE)
    assert list(net.component_sizes.values()) == [16, 3]
    main = next(iter(net.component_sizes))
    new, att = attach_sites(net, _sites(SITES), max_distance_m=100, merge_m=1.0)
    at = att.set_index("site_id")
    assert at.loc["X", "status"] == at.loc["XC", "status"] == MAIN_NETWORK
    assert (at.loc[["A", "B", "C", "D"], "status"] == "attached").all()
    assert at.loc["X", "lead_in_m"] == pytest.approx(20)
    node = int(at.loc["X", "node_id"])
    assert new.nodes.loc[node, "component"] == new.nodes.loc[int(at.loc["B", "node_id"]), "component"]
    lead = new.edges[(new.edges["kind"] == "lead_in") & (new.edges["site_id"] == "X")].iloc[0]
    assert lead["site_ids"] == ("X", "XC") and lead["length_m"] == pytest.approx(20)
    assert new.nodes.geometry.loc[int(lead["u"])].equals_exact(shapely.Point(150, 0), 1e-6)
    # the piece is left as it was: its two edges, no split
    assert len(new.edges[(new.edges["kind"] == "road") & (new.edges["component"] != new.nodes.loc[node, "component"])]) == 2
    assert main == net.nodes.loc[0, "component"]


def test_the_main_network_beyond_reach_leaves_the_site_on_its_piece():
    new, att = attach_sites(_net(grid(4) + PIECE), _sites(SITES), max_distance_m=15, merge_m=1.0)
    at = att.set_index("site_id")
    assert at.loc["X", "status"] == "attached" and at.loc["X", "lead_in_m"] == pytest.approx(5)
    assert new.nodes.loc[int(at.loc["X", "node_id"]), "component"] != new.nodes.loc[int(at.loc["B", "node_id"]), "component"]


def test_sites_on_the_main_network_attach_as_before():
    """Only a location whose nearest edge is off the main network moves: the others keep their edge."""
    rows = [("A", "TOT", 20, 10), ("B", "TOT", 280, 290), ("D", "CAT", 120, -10)]   # D: 10 m from y = 0, 15 m from the piece
    with_piece, att = attach_sites(_net(grid(4) + PIECE), _sites(rows), max_distance_m=100, merge_m=1.0)
    assert (att["status"] == "attached").all()
    assert att.set_index("site_id").loc["D", "lead_in_m"] == pytest.approx(10)
    lead = with_piece.edges[with_piece.edges["kind"] == "lead_in"]
    assert np.allclose(sorted(lead["length_m"]), [10, 10, 10])


def test_the_plan_connects_the_site_and_warns(tmp_path):
    plan = run(load_scenario(write_scenario(tmp_path, grid(4) + PIECE, SITES)))
    sites = plan.sites.set_index("site_id")
    assert sites.loc[["X", "XC"], "connected"].all() and sites.loc["X", "lead_in_m"] == pytest.approx(20, abs=0.01)
    lines = [w for w in plan.summary["warnings"] if "main road network" in w]
    assert lines == ["2 site(s) were joined to the main road network instead of a nearer road piece not "
                     "connected to it: X, XC"]


def test_the_plan_beyond_reach_leaves_the_site_unconnected_without_the_warning(tmp_path):
    path = write_scenario(tmp_path, grid(4) + PIECE, SITES, options="max_site_distance_m = 15\n")
    plan = run(load_scenario(path))
    sites = plan.sites.set_index("site_id")
    assert not sites.loc["X", "connected"] and sites.loc["X", "status"] == "unreachable"
    assert sites.loc[["A", "B", "C", "D"], "connected"].all()
    assert not any("main road network" in w for w in plan.summary["warnings"])


def test_a_second_town_is_a_network_of_its_own_and_a_piece_joins_the_nearest_network():
    """Two towns in one extract (no road between them): a site by the smaller town's streets stays
    there, and a site by a stray piece next to the smaller town joins that town, not the larger one."""
    from connectivity.network import MAIN_MIN_NODES, main_components

    big = grid(8)                                                               # 64 nodes
    small = [[(x + 1200.0, y) for x, y in line] for line in grid(5)]            # 25 nodes, 800 m east
    piece = [[(1250.0, -25.0), (1300.0, -25.0)]]                                # 25 m south of the small town
    net = _net(big + small + piece)
    assert sorted(net.component_sizes.values()) == [2, 25, 64] and 25 >= MAIN_MIN_NODES
    assert len(main_components(net)) == 2
    rows = [("V", "TOT", 1210, 10), ("P", "TOT", 1275, -20), ("T", "TOT", 20, 10)]
    new, att = attach_sites(net, _sites(rows), max_distance_m=1000, merge_m=1.0)
    at = att.set_index("site_id")
    comp = {s: new.nodes.loc[int(at.loc[s, "node_id"]), "component"] for s in ("V", "P", "T")}
    assert at.loc["V", "status"] == "attached" and at.loc["P", "status"] == MAIN_NETWORK
    assert comp["P"] == comp["V"] != comp["T"]
    assert at.loc["P", "lead_in_m"] == pytest.approx(20)
