"""Determinism: the same scenario planned twice (separate processes, different hash seeds)
gives byte-identical files, map.html included; exports of the same plan are identical too.

Excluded on purpose: ``timings.json`` (wall-clock times: ``seconds``, ``design_seconds``),
which only holds run times; ``summary.json`` holds none and no absolute path; GeoPackage and Shapefile files carry write timestamps
(gpkg_contents.last_change, the DBF header date), so they are compared by content.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pyogrio
import pytest

from connectivity.export import export
from tests.conftest import FIXTURES, REPO, SCENARIOS

def drop_timing(data):
    """``data`` without wall-clock fields (``seconds``, ``*_seconds``) at any depth."""
    if isinstance(data, dict):
        return {k: drop_timing(v) for k, v in data.items() if not (k == "seconds" or k.endswith("_seconds"))}
    if isinstance(data, list):
        return [drop_timing(v) for v in data]
    return data


def _plan(scenario, out, hash_seed, *extra):
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed)}
    subprocess.run([sys.executable, "-m", "connectivity.cli", "plan", str(scenario), "--out", str(out), "--quiet",
                    *extra], check=True, cwd=REPO, env=env, timeout=600, capture_output=True)


def _no_timing_or_absolute_path(data, where="summary.json"):
    """No wall-clock field and no absolute path anywhere in ``data``."""
    if isinstance(data, dict):
        for k, v in data.items():
            assert not (k == "seconds" or k.endswith("_seconds")), f"{where}: {k} is a run time"
            _no_timing_or_absolute_path(v, f"{where}.{k}")
    elif isinstance(data, list):
        for i, v in enumerate(data):
            _no_timing_or_absolute_path(v, f"{where}[{i}]")
    elif isinstance(data, str):
        assert not os.path.isabs(data) and not re.match(r"^[A-Za-z]:[\\/]", data), f"{where}: absolute path {data}"


def _assert_same_outputs(a, b):
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    assert {"ducts.geojson", "sites.geojson", "summary.json", "map.html", "timings.json", "report.html",
            "tornado.svg"} <= set(names)
    for name in names:
        x, y = (a / name).read_bytes(), (b / name).read_bytes()
        if name == "timings.json":  # the one file with run times: same keys, any values
            tx, ty = json.loads(x), json.loads(y)
            assert set(tx) == set(ty) == {"seconds", "design_seconds"}
            assert all(isinstance(v, (int, float)) and v >= 0 for v in tx.values())
        else:
            assert x == y, f"{name} differs between two runs"
    _no_timing_or_absolute_path(json.loads((a / "summary.json").read_text()))


def test_summary_paths_are_portable(tmp_path):
    """The cost model path is relative to the scenario (or the file name of the packaged default)."""
    costs = tmp_path / "model" / "costs.toml"
    costs.parent.mkdir()
    costs.write_text((REPO / "connectivity" / "data" / "costs" / "default.toml").read_text(encoding="utf-8"))
    scen = tmp_path / "scen" / "s.toml"
    scen.parent.mkdir()
    text = (FIXTURES / "tiny.toml").read_text(encoding="utf-8")
    text = text.replace("[inputs]\n", '[inputs]\ncost_model = "../model/costs.toml"\n')
    for name in ("tiny.osm", "operators.toml", "sites.csv"):
        text = text.replace(f'"{name}"', f'"{(FIXTURES / name).as_posix()}"')
    scen.write_text(text, encoding="utf-8")
    _plan(scen, tmp_path / "a", 1)
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["cost_model"]["path"] == "../model/costs.toml"
    _no_timing_or_absolute_path(summary)
    _plan(FIXTURES / "tiny.toml", tmp_path / "b", 1)
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["cost_model"]["path"] == "default.toml"


@pytest.mark.parametrize("scenario,extra", [
    (FIXTURES / "tiny.toml", ()),
    (FIXTURES / "tiny.toml", ("--sites", str(FIXTURES / "sites.csv"))),
])
def test_tiny_twice_byte_identical(tmp_path, scenario, extra):
    _plan(scenario, tmp_path / "a", 1, *extra)
    _plan(scenario, tmp_path / "b", 2, *extra)
    _assert_same_outputs(tmp_path / "a", tmp_path / "b")


def test_chiang_mai_twice_byte_identical(tmp_path, shared_data):
    _plan(SCENARIOS / "chiang_mai_nimman.toml", tmp_path / "a", 3)
    _plan(SCENARIOS / "chiang_mai_nimman.toml", tmp_path / "b", 4)
    _assert_same_outputs(tmp_path / "a", tmp_path / "b")


def test_exports_deterministic(tmp_path):
    plan_dir = tmp_path / "plan"
    _plan(FIXTURES / "tiny.toml", plan_dir, 5)
    for fmt in ("geojson", "csv"):
        a = export(plan_dir, tmp_path / f"{fmt}1", fmt=fmt)
        b = export(plan_dir, tmp_path / f"{fmt}2", fmt=fmt)
        assert [p.relative_to(tmp_path / f"{fmt}1") for p in a] == [p.relative_to(tmp_path / f"{fmt}2") for p in b]
        for x, y in zip(a, b):
            assert x.read_bytes() == y.read_bytes(), x
    for fmt in ("gpkg", "shp"):
        a = export(plan_dir, tmp_path / f"1.{fmt}", fmt=fmt)
        b = export(plan_dir, tmp_path / f"2.{fmt}", fmt=fmt)
        for x, y in zip(a, b):
            if x.suffix in (".gpkg", ".shp"):
                layers = [n for n, _ in pyogrio.list_layers(x)]
                assert layers == [n for n, _ in pyogrio.list_layers(y)]
                for layer in layers:
                    dx = pyogrio.read_dataframe(x, layer=layer)
                    dy = pyogrio.read_dataframe(y, layer=layer)
                    assert dx.equals(dy), (x, layer)
            elif x.suffix in (".txt", ".csv", ".prj", ".cpg"):
                assert x.read_bytes() == y.read_bytes(), x
