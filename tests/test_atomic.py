"""Atomic outputs: a reader finds the old complete output or the new complete one (or, for an
instant, none), never half a file or a mix of two runs, even when the process is killed."""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from connectivity.atomic import atomic_dir, atomic_path, write_text
from tests.conftest import FIXTURES, REPO

TINY = FIXTURES / "tiny.toml"
OUTPUT_FILES = {"ducts.geojson", "sites.geojson", "summary.json", "map.html"}


def test_atomic_path_leaves_old_file_on_error(tmp_path):
    f = tmp_path / "a.json"
    write_text(f, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(f) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert f.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_atomic_dir_replaces_whole_folder_and_keeps_foreign_files(tmp_path):
    out = tmp_path / "plan"
    with atomic_dir(out) as tmp:
        (tmp / "ducts.geojson").write_text("v1")
        (tmp / "summary.json").write_text("v1")
    (out / "notes.txt").write_text("mine")
    (out / "exports").mkdir()
    (out / "exports" / "TOT.geojson").write_text("export")
    with atomic_dir(out) as tmp:
        (tmp / "ducts.geojson").write_text("v2")
        assert (out / "ducts.geojson").read_text() == "v1"  # old output untouched while writing
    assert (out / "ducts.geojson").read_text() == "v2"
    assert (out / "summary.json").read_text() == "v1"  # files the new run does not write stay, as before
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "exports" / "TOT.geojson").read_text() == "export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan"]  # no temporary siblings left
    with atomic_dir(out, own=frozenset({"summary.json", "aerial.geojson"})) as tmp:
        (tmp / "ducts.geojson").write_text("v3")
    assert not (out / "summary.json").exists()   # the writer's own file it did not write again: dropped
    assert (out / "notes.txt").read_text() == "mine" and (out / "exports" / "TOT.geojson").is_file()


def test_atomic_dir_leaves_old_folder_on_error(tmp_path):
    out = tmp_path / "plan"
    with atomic_dir(out) as tmp:
        (tmp / "a").write_text("old")
    with pytest.raises(KeyError):
        with atomic_dir(out) as tmp:
            (tmp / "a").write_text("new")
            raise KeyError("boom")
    assert (out / "a").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan"]


def test_atomic_dir_refuses_a_file(tmp_path):
    f = tmp_path / "plan"
    f.write_text("x")
    with pytest.raises(NotADirectoryError):
        with atomic_dir(f):
            pass
    assert f.read_text() == "x"


def _plan_cmd(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "connectivity.cli", "plan", str(TINY), "--out", str(out), "--quiet", *extra]


def _snapshot(out: Path) -> dict[str, object]:
    """Parsed content of every output file (timings.json: its keys only); fails on a half-written file."""
    snap: dict[str, object] = {}
    for p in sorted(out.iterdir()):
        text = p.read_text(encoding="utf-8")
        if p.suffix == ".svg":  # a chart (tornado.svg): whole when it ends with its closing tag
            assert text.startswith("<svg") and text.rstrip().endswith("</svg>"), f"{p} is cut short"
        if p.suffix in (".geojson", ".json"):
            data = json.loads(text)
            if p.name == "timings.json":  # run times only: present, values vary
                data = sorted(data)
            snap[p.name] = data
        elif p.suffix == ".html":
            assert text.rstrip().endswith("</html>"), f"{p} is cut short"
            snap[p.name] = len(text) > 1000
        else:
            snap[p.name] = text
    return snap


def test_killed_plan_leaves_old_or_new_output(tmp_path):
    """Plan A into a folder, then plan B into it and SIGKILL at random moments (bounded loop):
    afterwards the folder holds exactly A's files or exactly B's, each whole."""
    ref_a, ref_b, out = tmp_path / "a", tmp_path / "b", tmp_path / "out"
    sites = ("--sites", str(FIXTURES / "sites.csv"))
    subprocess.run(_plan_cmd(ref_a, *sites), check=True, cwd=REPO, timeout=300)
    started = time.perf_counter()
    subprocess.run(_plan_cmd(ref_b), check=True, cwd=REPO, timeout=300)
    full = time.perf_counter() - started
    snap_a, snap_b = _snapshot(ref_a), _snapshot(ref_b)
    assert snap_a != snap_b and set(snap_a) == set(snap_b) and OUTPUT_FILES <= set(snap_a)
    rng = random.Random(20240601)
    seen = {"old": 0, "new": 0, "none": 0}
    for i in range(10):
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(ref_a, out)  # the old output, A
        proc = subprocess.Popen(_plan_cmd(out), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # most kills land late in the run, where the files are written
        time.sleep(full * (rng.uniform(0.5, 1.1) if i % 2 else rng.uniform(0.85, 1.0)))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        if not out.exists():
            seen["none"] += 1
            continue
        snap = _snapshot(out)
        assert snap in (snap_a, snap_b), f"kill {i}: a mix of two runs or a partial output: {sorted(snap)}"
        seen["old" if snap == snap_a else "new"] += 1
    visible = [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")]
    assert sorted(visible) == ["a", "b", "out"] or sorted(visible) == ["a", "b"]
    assert sum(seen.values()) == 10
