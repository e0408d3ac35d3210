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
