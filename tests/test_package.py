"""The package carries its data: cost model, operators, export schema and the embedded example."""
from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from connectivity.config import PACKAGE_DATA, example_names, example_scenario, load_scenario
from connectivity.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_package_data_lives_inside_the_package():
    import connectivity
    from connectivity.costs import DEFAULT_COST_MODEL, load_cost_model
    from connectivity.export import SCHEMA_PATH, load_schema

    pkg = Path(connectivity.__file__).parent
    for path in (DEFAULT_COST_MODEL, SCHEMA_PATH, PACKAGE_DATA / "operators" / "default.toml"):
        assert path.is_file() and pkg in path.parents
    assert load_cost_model().manhole_spacing_m > 0
    assert "ducts" in load_schema()


def test_example_scenario_reads_the_shipped_extract():
    assert "chiang_mai_nimman" in example_names()
    scenario = load_scenario(example_scenario("chiang_mai_nimman"))
    osm = scenario.inputs.osm
    assert osm.is_file() and osm.suffix == ".pbf" and osm.parent == example_scenario("chiang_mai_nimman").parent
    assert "OpenStreetMap contributors" in (osm.parent / "SOURCES.md").read_text()
    with pytest.raises(ConfigError, match="no example named 'nowhere'"):
        example_scenario("nowhere")


@pytest.mark.slow
def test_plan_example_from_the_command_line(tmp_path):
    out = tmp_path / "plan"
    run = subprocess.run([sys.executable, "-m", "connectivity.cli", "plan", "--example", "chiang_mai_nimman",
                          "--out", str(out), "--quiet"], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sites_connected"] > 50 and summary["total_cost"] > 0
    assert summary["attribution"] == "© OpenStreetMap contributors"


@pytest.mark.slow
def test_wheel_holds_the_data_files(tmp_path):
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    (wheel,) = tmp_path.glob("connectivity-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("connectivity/data/costs/default.toml", "connectivity/data/operators/default.toml",
                   "connectivity/data/schema/plan_schema.toml", "connectivity/data/templates/report.html",
                   "connectivity/data/examples/chiang_mai_nimman/scenario.toml",
                   "connectivity/data/examples/chiang_mai_nimman/chiang_mai_nimman_cmu_2023-02-27.osm.pbf"):
        assert needed in names
