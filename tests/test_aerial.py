"""Aerial to underground: matching lines and pole rows to roads, removal figures."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point

from connectivity.aerial import aerial_status, match_aerial, removal_summary, required_corridors
from connectivity.config import OperatorSpec
from connectivity.errors import CRSError

CRS = "EPSG:32647"


def roads():
    # three 200 m edges: east along y=0, then north, and a parallel road 100 m away
    return gpd.GeoDataFrame({"u": [0, 1, 3], "v": [1, 2, 4]}, geometry=[
        LineString([(0, 0), (200, 0)]), LineString([(200, 0), (200, 200)]), LineString([(0, 100), (200, 100)])],
        crs=CRS)


def test_line_along_road_matches_only_that_edge():
    lines = gpd.GeoDataFrame({"kind": ["power_line"], "owner": ["PEA"]},
                             geometry=[LineString([(0, 6), (200, 6)])], crs=CRS)
    m = match_aerial(roads(), lines, None, buffer_m=15, operator_kinds={"PEA": "power"})
    assert m.matched.tolist() == [True, False, False]
    assert m.share[0] == pytest.approx(1.0)
    assert m.share[1] == pytest.approx(21 / 200)   # only the corner is within the buffer
    assert m.group[0] == "power" and m.owner[0] == "PEA"


def test_pole_row_without_lines_and_no_data():
    poles = gpd.GeoDataFrame({"kind": ["pole"] * 4, "owner": ["TOT"] * 4},
                             geometry=[Point(205, y) for y in (20, 70, 120, 170)], crs=CRS)
    m = match_aerial(roads(), None, poles, buffer_m=15, operator_kinds={"TOT": "telecom"})
    assert m.matched.tolist() == [False, True, False]
    assert m.group[1] == "telecom"
    none = match_aerial(roads(), None, None)
    assert not none.matched.any()
    status = aerial_status(roads(), np.ones((1, 3), bool), ["TOT"], ["telecom"], streets=none.matched)
    assert len(status) == 0
    r = removal_summary(status)
    assert r["spans_removed_km"] == 0 and r["poles_removed"] == 0 and removal_summary(None) == r


def test_removal_counts_planned_matched_edges_only():
    lines = gpd.GeoDataFrame({"kind": ["power_line", "telecom_line"], "owner": ["", ""]},
                             geometry=[LineString([(0, 6), (200, 6)]), LineString([(0, 104), (200, 104)])], crs=CRS)
    poles = gpd.GeoDataFrame({"kind": ["pole"] * 3, "owner": [""] * 3},
                             geometry=[Point(50, 6), Point(150, 6), Point(100, 60)], crs=CRS)
    m = match_aerial(roads(), lines, poles, buffer_m=15)
    assert m.matched.tolist() == [True, False, True]
    assert m.group[2] == "telecom"
    use = np.zeros((2, 3), dtype=bool)
    use[1, [0, 1]] = True   # PEA lays ducts along the first two edges; nothing along the third
    status = aerial_status(roads(), use, ["TOT", "PEA"], ["telecom", "power"], streets=m.matched, lines=lines,
                           poles=poles, buffer_m=15, pole_distance_m=10)
    r = removal_summary(status)
    assert r["spans_removed_km"] == pytest.approx(0.2, abs=0.01)   # the power line; the telecom one stays
    assert r["poles_removed"] == 2
    poles_status = status[status["feature"] == "pole"]
    assert poles_status["removed"].tolist() == [True, True, False]
    assert poles_status["reason"].iloc[2] == "not on an undergrounded street"


def test_required_corridors_go_to_owner_or_first_active_of_group():
    lines = gpd.GeoDataFrame({"kind": ["power_line", "telecom_line"], "owner": ["EGAT", "CAT"]},
                             geometry=[LineString([(0, 6), (200, 6)]), LineString([(0, 104), (200, 104)])], crs=CRS)
    ops = [OperatorSpec("TOT", "telecom"), OperatorSpec("CAT", "telecom"), OperatorSpec("EGAT", "power"),
           OperatorSpec("PEA", "power")]
    m = match_aerial(roads(), lines, None, operator_kinds={o.name: o.kind for o in ops})
    req = required_corridors(m, operators=ops, active=["TOT", "CAT", "PEA"])
    assert {k: v.tolist() for k, v in req.items()} == {"PEA": [0], "CAT": [2]}


def test_crs_mismatch():
    lines = gpd.GeoDataFrame({"kind": ["power_line"]}, geometry=[LineString([(98.9, 18.8), (98.91, 18.8)])],
                             crs="EPSG:4326")
    with pytest.raises(CRSError):
        match_aerial(roads(), lines)
