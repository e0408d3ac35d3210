"""Tests of connectivity.coverage."""

import geopandas as gpd
import h3
import numpy as np
import pytest
import shapely

from connectivity.coverage import Coverage, analyse
from connectivity.errors import CRSError, InputDataError
from maps_fixtures import CRS, grid_plan

X0, Y0 = 498_000.0, 2_075_000.0


def _ducts(lines, cost=None):
    n = len(lines)
    return gpd.GeoDataFrame(
        {
            "segment_id": range(n),
            "length_m": [ln.length for ln in lines],
            "operators": ["TOT"] * n,
            "n_ducts": [1] * n,
            "ducts": ["TOT:1"] * n,
            "trench_type": ["telecom"] * n,
            "cost_thb": cost if cost is not None else [1000.0] * n,
        },
        geometry=lines,
        crs=CRS,
    )


def _sites(rows):
    return gpd.GeoDataFrame(
        {"site_id": [f"S{i}" for i in range(len(rows))],
         "operator": [r[0] for r in rows], "connected": [r[1] for r in rows]},
        geometry=[shapely.Point(X0, Y0)] * len(rows),
        crs=CRS,
    )


def _box_at_gap(gap_m, size=10.0):
    """A square whose nearest edge is ``gap_m`` metres north of the line y = Y0."""
    return shapely.box(X0 + 100, Y0 + gap_m, X0 + 100 + size, Y0 + gap_m + size)


@pytest.fixture
def line_case():
    ducts = _ducts([shapely.LineString([(X0, Y0), (X0 + 300, Y0)])], cost=[60_000.0])
    gaps = [0.0, 5.0, 19.9, 20.0, 20.1, 35.0, 150.0]
    buildings = gpd.GeoDataFrame({"name": [f"b{g}" for g in gaps]},
                                 geometry=[_box_at_gap(g) for g in gaps], crs=CRS)
    return ducts, buildings, gaps


def test_buildings_within_pass_distance_are_passed(line_case):
    ducts, buildings, gaps = line_case
    cov = analyse(ducts, buildings, _sites([("TOT", True)]))
    assert isinstance(cov, Coverage)
    assert cov.buildings["passed"].tolist() == [g <= 20.0 for g in gaps]
    assert cov.summary["buildings_total"] == 7
    assert cov.summary["buildings_passed"] == 4
    assert cov.summary["buildings_passed_pct"] == pytest.approx(400 / 7)
    assert cov.summary["cost_per_building_passed"] == pytest.approx(60_000.0 / 4)


def test_pass_distance_is_an_option(line_case):
    ducts, buildings, gaps = line_case
    cov = analyse(ducts, buildings, _sites([]), pass_distance_m=40.0)
    assert cov.buildings["passed"].tolist() == [g <= 40.0 for g in gaps]


def test_total_cost_overrides_duct_costs(line_case):
    ducts, buildings, _ = line_case
    cov = analyse(ducts, buildings, _sites([]), total_cost_thb=1_000_000.0)
    assert cov.summary["cost_per_building_passed"] == pytest.approx(250_000.0)


def test_arguments_are_not_mutated(line_case):
    ducts, buildings, _ = line_case
    before_cols = list(buildings.columns)
    before_geom = buildings.geometry.copy()
    analyse(ducts, buildings, _sites([]))
    assert list(buildings.columns) == before_cols
    assert buildings.geometry.equals(before_geom)


def test_matches_brute_force_on_grid_plan():
    plan = grid_plan(60)
    cov = analyse(plan["ducts"], plan["buildings"], plan["sites"])
    union = shapely.union_all(plan["ducts"].geometry.values)
    expected = [b.distance(union) <= 20.0 for b in plan["buildings"].geometry]
    assert cov.buildings["passed"].tolist() == expected
    assert 0 < sum(expected) < len(expected)
    assert cov.buildings.index.equals(plan["buildings"].index)


def test_sites_connected_per_operator():
    sites = _sites([("TOT", True), ("TOT", False), ("TOT", True), ("CAT", False), ("PEA", True)])
    ducts = _ducts([shapely.LineString([(X0, Y0), (X0 + 10, Y0)])])
    empty = gpd.GeoDataFrame(geometry=[], crs=CRS)
    s = analyse(ducts, empty, sites).summary
    assert s["sites_total"] == {"CAT": 1, "PEA": 1, "TOT": 3}
    assert s["sites_connected"] == {"CAT": 0, "PEA": 1, "TOT": 2}
    assert s["sites_connected_pct"] == pytest.approx({"CAT": 0.0, "PEA": 100.0, "TOT": 200 / 3})


@pytest.mark.parametrize("crs", [CRS, None])
def test_empty_buildings(crs):
    ducts = _ducts([shapely.LineString([(X0, Y0), (X0 + 500, Y0)])])
    empty = gpd.GeoDataFrame(geometry=[], crs=crs)
    cov = analyse(ducts, empty, _sites([("TOT", True)]))
    assert cov.summary["buildings_total"] == 0
    assert cov.summary["buildings_passed"] == 0
    assert cov.summary["buildings_passed_pct"] is None
    assert cov.summary["cost_per_building_passed"] is None
    assert len(cov.buildings) == 0 and "passed" in cov.buildings.columns
    # the ducts still show in the hexagons
    assert cov.hexagons["duct_length_m"].sum() == pytest.approx(500.0)
    assert (cov.hexagons["buildings_total"] == 0).all()
    assert cov.hexagons["passed_pct"].isna().all()


def test_no_building_passed_gives_no_cost_per_building():
    ducts = _ducts([shapely.LineString([(X0, Y0), (X0 + 100, Y0)])])
    far = gpd.GeoDataFrame(geometry=[_box_at_gap(500.0)], crs=CRS)
    s = analyse(ducts, far, _sites([])).summary
    assert s["buildings_passed"] == 0
    assert s["cost_per_building_passed"] is None


def test_hexagons_aggregate_buildings_and_duct_length():
    plan = grid_plan(200)
    cov = analyse(plan["ducts"], plan["buildings"], plan["sites"], h3_resolution=9)
    hexes = cov.hexagons
    assert hexes.crs.to_epsg() == 4326
    assert list(hexes.columns[:5]) == ["h3", "buildings_total", "buildings_passed", "passed_pct", "duct_length_m"]
    assert hexes["h3"].is_unique
    assert all(h3.get_resolution(c) == 9 for c in hexes["h3"])
    assert hexes["buildings_total"].sum() == len(plan["buildings"])
    assert hexes["buildings_passed"].sum() == cov.summary["buildings_passed"]
    assert hexes["duct_length_m"].sum() == pytest.approx(plan["ducts"]["length_m"].sum(), rel=1e-9)
    with_b = hexes["buildings_total"] > 0
    np.testing.assert_allclose(
        hexes.loc[with_b, "passed_pct"],
        100 * hexes.loc[with_b, "buildings_passed"] / hexes.loc[with_b, "buildings_total"],
    )
    # each building centroid lies inside the hexagon it was counted in
    centroids = plan["buildings"].geometry.centroid.to_crs(4326)
    cells = cov.buildings["h3"]
    geom_by_cell = hexes.set_index("h3").geometry
    assert all(geom_by_cell[c].covers(p) for c, p in zip(cells, centroids))


def test_duct_length_is_split_between_cells():
    # a 3 km straight line crosses many res-9 cells (edge ~ 200 m)
    line = shapely.LineString([(X0, Y0), (X0 + 3000, Y0)])
    cov = analyse(_ducts([line]), gpd.GeoDataFrame(geometry=[], crs=CRS), _sites([]))
    hexes = cov.hexagons
    assert len(hexes) >= 8
    assert hexes["duct_length_m"].sum() == pytest.approx(3000.0)
    # no cell gets more than a cell's width (~2 x edge) of a straight line
    edge = h3.average_hexagon_edge_length(9, unit="m")
    assert hexes["duct_length_m"].max() <= 2.3 * edge


def test_geographic_crs_is_rejected(line_case):
    ducts, buildings, _ = line_case
    with pytest.raises(CRSError, match="geographic"):
        analyse(ducts.to_crs(4326), buildings, _sites([]))
    with pytest.raises(CRSError, match="buildings"):
        analyse(ducts, buildings.to_crs(4326), _sites([]))


def test_missing_crs_and_mismatch_are_rejected(line_case):
    ducts, buildings, _ = line_case
    with pytest.raises(CRSError, match="no CRS"):
        analyse(ducts.set_crs(None, allow_override=True), buildings, _sites([]))
    with pytest.raises(CRSError, match="differs"):
        analyse(ducts, buildings.to_crs(32648), _sites([]))


def test_bad_inputs_are_rejected(line_case):
    ducts, buildings, _ = line_case
    with pytest.raises(InputDataError, match="pass_distance_m"):
        analyse(ducts, buildings, _sites([]), pass_distance_m=-1)
    with pytest.raises(InputDataError, match="connected"):
        analyse(ducts, buildings, _sites([]).drop(columns="connected"))



def test_without_costs_there_is_no_cost_per_building(line_case):
    ducts, buildings, _ = line_case
    s = analyse(ducts.drop(columns="cost_thb"), buildings, _sites([])).summary
    assert s["buildings_passed"] == 4 and s["cost_per_building_passed"] is None


def test_scales_to_many_buildings():
    """100k buildings go through the vectorised path (correctness checked on a sample)."""
    plan = grid_plan(2000, buildings_per_block=2)
    rng = np.random.default_rng(0)
    xmin, ymin, xmax, ymax = plan["ducts"].total_bounds
    n = 100_000
    x, y = rng.uniform(xmin, xmax, n), rng.uniform(ymin, ymax, n)
    buildings = gpd.GeoDataFrame(geometry=shapely.box(x, y, x + 8, y + 8), crs=CRS)
    cov = analyse(plan["ducts"], buildings, plan["sites"])
    assert cov.summary["buildings_total"] == n
    sample = rng.choice(n, 300, replace=False)
    union = shapely.union_all(plan["ducts"].geometry.values)
    expected = [buildings.geometry.iloc[i].distance(union) <= 20.0 for i in sample]
    assert cov.buildings["passed"].to_numpy()[sample].tolist() == expected


def test_zero_length_segments_are_harmless():
    """A site exactly on a road node gives a zero-length lead-in (seen in the Chiang Mai plan)."""
    point = shapely.LineString([(X0, Y0), (X0, Y0)])
    line = shapely.LineString([(X0, Y0), (X0 + 100, Y0)])
    b = gpd.GeoDataFrame(geometry=[_box_at_gap(5.0)], crs=CRS)
    cov = analyse(_ducts([point, line]), b, _sites([]))
    assert cov.hexagons["duct_length_m"].sum() == pytest.approx(100.0)
    assert cov.summary["buildings_passed"] == 1


def test_no_buildings_layer_at_all():
    ducts = _ducts([shapely.LineString([(X0, Y0), (X0 + 200, Y0)])])
    cov = analyse(ducts, None, _sites([("PEA", True)]))
    assert cov.summary["buildings_total"] == 0 and len(cov.buildings) == 0
    assert cov.hexagons["duct_length_m"].sum() == pytest.approx(200.0)
