"""CLI: JSON output, exit code 2 on a bad file."""

import argparse
import json
import subprocess
import sys
from pathlib import Path

from connectivity.steiner import cli

REPO = Path(__file__).resolve().parents[2]


def _write(tmp_path):
    f = tmp_path / "tri.stp"
    f.write_text("SECTION Graph\nNodes 3\nEdges 3\nE 1 2 1\nE 2 3 1\nE 1 3 5\nEND\n"
                 "SECTION Terminals\nTerminals 2\nT 1\nT 3\nEND\nEOF\n")
    return f


def test_add_parser_and_run_print_json(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="connectivity")
    sub = parser.add_subparsers(dest="command")
    cli.add_parser(sub)
    args = parser.parse_args(["steiner", str(_write(tmp_path)), "--time-limit", "5"])
    assert args.func(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["instance"] == "tri"
    assert (out["nodes"], out["edges"], out["terminals"]) == (3, 3, 2)
    assert out["cost"] == 2 and out["lower_bound"] == 2
    assert {"seconds", "gap_pct"} <= set(out)


def test_module_entry_point_exit_codes(tmp_path):
    env_cmd = [sys.executable, "-m", "connectivity.steiner"]
    ok = subprocess.run(env_cmd + [str(_write(tmp_path))], capture_output=True, text=True, cwd=REPO)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["cost"] == 2
    bad = tmp_path / "bad.gr"
    bad.write_text("SECTION Graph\nNodes 3\nE 1 x 2\nEND\n")
    res = subprocess.run(env_cmd + [str(bad)], capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 2
    assert res.stderr.strip() == f"connectivity: error: {bad}:3: node id 'x' is not an integer"


def _stp(tmp_path, name, nodes, edges, terminals):
    f = tmp_path / name
    f.write_text(f"SECTION Graph\nNodes {nodes}\nEdges {len(edges)}\n" + "".join(f"E {u} {v} {w}\n" for u, v, w in edges)
                 + f"END\nSECTION Terminals\nTerminals {len(terminals)}\n" + "".join(f"T {t}\n" for t in terminals)
                 + "END\nEOF\n")
    return f


def test_never_prints_infinity_or_nan(tmp_path):
    """Weights whose sums overflow are refused (exit 2, the file named), never printed as Infinity."""
    f = _stp(tmp_path, "big.stp", 3, [(1, 2, "1e308"), (2, 3, "1e308")], [1, 3])
    r = subprocess.run([sys.executable, "-m", "connectivity.steiner", str(f)], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 2 and r.stdout == ""
    assert "big.stp" in r.stderr and "too large" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    ok = _stp(tmp_path, "ok.stp", 3, [(1, 2, "1e290"), (2, 3, "1e290")], [1, 3])
    r = subprocess.run([sys.executable, "-m", "connectivity.steiner", str(ok)], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert "Infinity" not in r.stdout and "NaN" not in r.stdout
    assert json.loads(r.stdout)["cost"] == 2e290


def test_disconnected_names_file_and_one_based_ids(tmp_path):
    f = _stp(tmp_path, "split.stp", 5, [(1, 2, 1), (2, 3, 1), (4, 5, 1)], [2, 5])
    r = subprocess.run([sys.executable, "-m", "connectivity.cli", "steiner", str(f)], capture_output=True, text=True,
                       cwd=REPO)
    assert r.returncode == 2 and r.stdout == ""
    line = r.stderr.strip()
    assert "\n" not in line and "split.stp" in line and "terminal 5" in line and "terminal 2" in line, line


def test_node_counts_too_large(tmp_path):
    for nodes in ("9" * 30, str(2**63), "5000000000"):
        f = _stp(tmp_path, "huge.stp", nodes, [(1, 2, 1)], [1, 2])
        r = subprocess.run([sys.executable, "-m", "connectivity.steiner", str(f)], capture_output=True, text=True,
                           cwd=REPO, timeout=60)
        assert r.returncode == 2, r.stderr
        assert "huge.stp:2" in r.stderr and "Traceback" not in r.stderr


def test_node_count_beyond_memory(tmp_path, monkeypatch):
    import pytest
    from connectivity.errors import InputDataError
    from connectivity.steiner import instance
    monkeypatch.setattr(instance, "_memory_bytes", lambda: 2**30)
    f = _stp(tmp_path, "mem.stp", 50_000_000, [(1, 2, 1)], [1, 2])
    with pytest.raises(InputDataError, match=r"mem.stp:2: Nodes 50000000 does not fit in memory"):
        instance.read_instance(f)


def _grid_stp(tmp_path, side=14, n_terms=8, seed=1):
    """A weighted grid (integer weights 100-1000) with random terminals, as a SteinLib file."""
    import numpy as np

    rng = np.random.default_rng(seed)
    ids = np.arange(side * side).reshape(side, side) + 1
    eu = np.concatenate((ids[:-1].ravel(), ids[:, :-1].ravel()))
    ev = np.concatenate((ids[1:].ravel(), ids[:, 1:].ravel()))
    w = rng.integers(100, 1000, len(eu))
    terms = rng.choice(side * side, n_terms, replace=False) + 1
    return _stp(tmp_path, "grid.stp", side * side, list(zip(eu.tolist(), ev.tolist(), w.tolist())), terms.tolist())


def test_bound_roots_and_tighten_raise_the_printed_bound(tmp_path):
    """--bound-roots and --tighten reach solve(): the printed lower bound rises (never above the
    cost), and bad values exit 2 with one line."""
    f = _grid_stp(tmp_path)
    cmd = [sys.executable, "-m", "connectivity.steiner", str(f)]
    plain = json.loads(subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=True).stdout)
    tight = json.loads(subprocess.run(cmd + ["--bound-roots", "4", "--tighten", "16"], capture_output=True, text=True,
                                      cwd=REPO, check=True).stdout)
    assert plain["lower_bound"] < tight["lower_bound"] <= tight["cost"]
    bad = subprocess.run(cmd + ["--tighten", "-1"], capture_output=True, text=True, cwd=REPO)
    assert bad.returncode == 2 and "--tighten" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
