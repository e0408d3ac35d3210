"""Partner pole, line and duct records read through the scenario's column mapping."""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point

from connectivity.corridors import RecordSpec, parse_corridors
from connectivity.errors import InputDataError
from connectivity.records import read_records

REPO = Path(__file__).resolve().parents[1]


def rec(path, **columns) -> RecordSpec:
    cols = {k: tuple(sorted(v.items())) if isinstance(v, dict) else v for k, v in columns.items()}
    return RecordSpec(file=Path(path), columns=tuple(sorted(cols.items())), crs="EPSG:32647")


def test_csv_poles_with_mapped_columns(tmp_path):
    path = tmp_path / "poles.csv"
    path.write_text("POLE_NO;OWNER_NAME;TEL;CIRC;E;N\nP1;PEA;TOT:2,CAT:1;2;496000;2077000\nP2;PEA;;;496040;2077000\n",
                    encoding="utf-8")
    frame = read_records(rec(path, id="POLE_NO", owner="OWNER_NAME", cables="TEL", circuits="CIRC", x="E", y="N"), "poles")
    assert frame["osm_id"].tolist() == ["P1", "P2"]
    assert frame["cables"].tolist() == [{"TOT": 2, "CAT": 1}, {}]
    assert frame["circuits"].iloc[0] == 2 and math.isnan(frame["circuits"].iloc[1])
    assert frame.crs.to_epsg() == 32647 and frame.geometry.iloc[1].x == 496040


@pytest.mark.parametrize("suffix", [".gpkg", ".shp", ".geojson"])
def test_vector_lines_with_cables_per_operator_columns(tmp_path, suffix):
    path = tmp_path / f"lines{suffix}"
    gpd.GeoDataFrame({"SPAN": ["S1", "S2"], "OWNR": ["PEA", "TOT"], "N_TOT": [2, 0], "N_CAT": [1, None]},
                     geometry=[LineString([(0, 0), (40, 0)]), LineString([(40, 0), (80, 0)])],
                     crs="EPSG:32647").to_file(path)
    frame = read_records(rec(path, id="SPAN", owner="OWNR", cables={"TOT": "N_TOT", "CAT": "N_CAT"}), "lines")
    assert frame["owner"].tolist() == ["PEA", "TOT"]
    assert frame["cables"].tolist() == [{"TOT": 2, "CAT": 1}, {"TOT": 0}]


def test_mapping_errors_name_the_file_and_the_column(tmp_path):
    path = tmp_path / "poles.csv"
    path.write_text("POLE_NO,OWNER_NAME,E,N,TEL\nP1,PEA,496000,2077000,TOT:x\n", encoding="utf-8")
    with pytest.raises(InputDataError, match=r"poles.csv: column 'OWNER' not found \(mapped to `owner`"):
        read_records(rec(path, owner="OWNER", x="E", y="N"), "poles")
    with pytest.raises(InputDataError, match=r"poles.csv: line 2: column 'TEL': 'TOT:x' is not a list"):
        read_records(rec(path, owner="OWNER_NAME", x="E", y="N", cables="TEL"), "poles")
    path.write_text("POLE_NO,OWNER_NAME,E,N,TEL\nP1,PEA,496000,2077000,\"TOT:1000000,CAT:1\"\n", encoding="utf-8")
    with pytest.raises(InputDataError, match=r"poles.csv: line 2: column 'TEL': 'TOT:1000000,CAT:1' .*counts from 0 to 10,000"):
        read_records(rec(path, owner="OWNER_NAME", x="E", y="N", cables="TEL"), "poles")
    with pytest.raises(InputDataError, match=r"poles.csv: column 'CIRCUITS' not found"):
        read_records(rec(path, owner="OWNER_NAME", x="E", y="N", circuits="CIRCUITS"), "poles")
    ducts = tmp_path / "ducts.geojson"
    gpd.GeoDataFrame({"OWNER": ["TOT"], "FREE": ["two"]}, geometry=[LineString([(0, 0), (1, 1)])],
                     crs="EPSG:32647").to_file(ducts)
    with pytest.raises(InputDataError, match=r"ducts.geojson: row 1: column 'FREE': 'two' is not a whole number"):
        read_records(rec(ducts, free="FREE"), "ducts")
    with pytest.raises(InputDataError, match="expected LineString geometry"):
        gpd.GeoDataFrame({"owner": ["TOT"], "free": [1]}, geometry=[Point(0, 0)], crs="EPSG:32647").to_file(ducts)
        read_records(rec(ducts), "ducts")


def test_cli_mapping_error_exits_2_with_one_line(tmp_path):
    poles = tmp_path / "poles.csv"
    poles.write_text("ID,WHO,E,N\nP1,PEA,496000,2077000\n", encoding="utf-8")
    osm = REPO / "connectivity" / "data" / "examples" / "chiang_mai_nimman" / "chiang_mai_nimman_cmu_2023-02-27.osm.pbf"
    scenario = tmp_path / "s.toml"
    scenario.write_text(f'[inputs]\nosm = "{osm.as_posix()}"\n[corridors]\nbbox = [98.963, 18.79, 98.969, 18.80]\n'
                        '[corridors.poles]\nfile = "poles.csv"\ncrs = "EPSG:32647"\n'
                        'columns = { owner = "OWNER_NAME", x = "E", y = "N" }\n', encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "connectivity.cli", "plan", str(scenario), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "poles.csv: column 'OWNER_NAME' not found" in lines[0]


def test_record_table_in_scenario_keeps_operator_cable_columns(tmp_path):
    s = parse_corridors({"names": ["x"], "poles": {"file": "p.shp", "columns": {"cables": {"TOT": "T", "CAT": "C"}}}},
                        base=tmp_path, source="s.toml", operators=["TOT", "CAT"])
    assert s.poles.file == (tmp_path / "p.shp").resolve()
    assert dict(s.poles.columns)["cables"] == (("CAT", "C"), ("TOT", "T"))


def test_csv_records_coordinates_checked_by_the_one_csv_point_reader(tmp_path):
    """Partner CSVs go through load.csv_points: an infinite x or a latitude of 95 names its row;
    mapped lon/lat columns are WGS84 and the coordinate columns stay in the table."""
    path = tmp_path / "poles.csv"
    path.write_text("ID,OWNER,E,N\nP1,PEA,496000,2077000\nP2,PEA,inf,2077000\n", encoding="utf-8")
    with pytest.raises(InputDataError, match=r"poles.csv: line 3: missing or non-numeric coordinates"):
        read_records(rec(path, id="ID", owner="OWNER", x="E", y="N"), "poles")
    path.write_text("ID,OWNER,LNG,LT\nP1,PEA,98.96,18.79\nP2,PEA,98.96,95\n", encoding="utf-8")
    with pytest.raises(InputDataError, match=r"poles.csv: line 3: lon/lat \(98.96, 95.0\) out of range"):
        read_records(rec(path, id="ID", owner="OWNER", lon="LNG", lat="LT"), "poles")
    path.write_text("ID,OWNER,LNG,LT\nP1,PEA,98.96,18.79\n", encoding="utf-8")
    frame = read_records(rec(path, id="ID", owner="OWNER", lon="LNG", lat="LT"), "poles")
    assert frame.crs.to_epsg() == 4326 and frame.geometry.iloc[0].y == pytest.approx(18.79)
