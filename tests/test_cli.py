"""The command line end to end on the tiny fixture, and its one-line errors."""
import json
import subprocess
import sys

import pytest

from connectivity.cli import main
from tests.conftest import FIXTURES


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "connectivity.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_plan_tiny_scenario(fixtures, tmp_path):
    out = tmp_path / "out"
    assert main(["plan", str(fixtures / "tiny.toml"), "--out", str(out), "--quiet"]) == 0
    assert {p.name for p in out.iterdir()} >= {"ducts.geojson", "sites.geojson", "summary.json", "map.html",
                                                "cost_map.html", "coverage_map.html", "coverage.geojson"}
    summary = json.loads((out / "summary.json").read_text())
    # TOT post office, CAT school + hospital, PEA hospital + PEA hub (the substation);
    # TOT's single site has no other TOT site for its ducts to join (design stage)
    assert summary["sites_per_operator"] == {"CAT": {"total": 2, "connected": 2}, "PEA": {"total": 2, "connected": 2},
                                             "TOT": {"total": 1, "connected": 0}}
    ducts = json.loads((out / "ducts.geojson").read_text())
    assert ducts["attribution"] == "© OpenStreetMap contributors" and "crs" not in ducts
    assert {"segment_id", "length_m", "operators"} <= set(ducts["features"][0]["properties"])
    sites = json.loads((out / "sites.geojson").read_text())
    assert all({"operator", "kind", "connected"} <= set(f["properties"]) for f in sites["features"])
    page = (out / "map.html").read_text()
    assert "openstreetmap.org/copyright" in page and "contributors" in page  # the credit (drawn by Leaflet)


def test_plan_with_sites_file_reports_far_site(fixtures, tmp_path):
    out = tmp_path / "out"
    assert main(["plan", str(fixtures / "tiny.toml"), "--sites", str(fixtures / "sites.csv"),
                 "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    # S5 is too far; CAT (S3) and PEA (S4) are then left with a single site each: an
    # operator's ducts only join its own sites, so only TOT's two sites are connected
    assert summary["sites_total"] == 5 and summary["sites_connected"] == 2
    assert summary["sites_not_connected"] == [{"site_id": "S3", "status": "one_location"},
                                              {"site_id": "S4", "status": "one_location"},
                                              {"site_id": "S5", "status": "too_far"}]


def _assert_clean_failure(result, out, *words):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("connectivity: error:"), result.stderr
    assert "Traceback" not in result.stderr
    for w in words:
        assert w in lines[0]
    assert not out.exists()


def test_missing_file(fixtures, tmp_path):
    out = tmp_path / "out"
    r = run_cli("plan", fixtures / "tiny.toml", "--osm", tmp_path / "missing.osm", "--out", out)
    _assert_clean_failure(r, out, "missing.osm", "not found")


def test_file_with_no_roads(fixtures, tmp_path):
    f = tmp_path / "empty.osm"
    f.write_text('<?xml version="1.0"?><osm version="0.6"><node id="1" lat="18.79" lon="98.96"/></osm>')
    out = tmp_path / "out"
    _assert_clean_failure(run_cli("plan", fixtures / "tiny.toml", "--osm", f, "--out", out), out, "empty.osm", "no roads")


def test_sites_csv_without_coordinates(fixtures, tmp_path):
    f = tmp_path / "sites.csv"
    f.write_text("site_id,operator,kind\nA,TOT,school\n")
    out = tmp_path / "out"
    _assert_clean_failure(run_cli("plan", fixtures / "tiny.toml", "--sites", f, "--out", out), out,
                          "sites.csv", "no coordinates")


def test_geographic_crs_where_metres_are_needed(fixtures, tmp_path):
    sc = tmp_path / "s.toml"
    sc.write_text(f'[inputs]\nosm = "{fixtures / "tiny.osm"}"\noperators = "{fixtures / "operators.toml"}"\n'
                  '[options]\ncrs = "EPSG:4326"\n')
    out = tmp_path / "out"
    _assert_clean_failure(run_cli("plan", sc, "--out", out), out, "projected CRS", "EPSG:4326")


def test_unknown_operator_in_sites(fixtures, tmp_path):
    f = tmp_path / "sites.csv"
    f.write_text("site_id,operator,lon,lat\nA,ACME,98.961,18.791\n")
    out = tmp_path / "out"
    _assert_clean_failure(run_cli("plan", fixtures / "tiny.toml", "--sites", f, "--out", out), out,
                          "line 2", "ACME")


def test_quiet_prints_nothing_and_summary_line_otherwise(fixtures, tmp_path):
    r = run_cli("plan", fixtures / "tiny.toml", "--out", tmp_path / "a")
    assert r.returncode == 0
    assert len(r.stdout.strip().splitlines()) == 1 and "sites connected" in r.stdout
    r = run_cli("plan", fixtures / "tiny.toml", "--out", tmp_path / "b", "--quiet")
    assert r.returncode == 0 and r.stdout == ""


def test_verbose_logs_stages_not_every_solve(fixtures, tmp_path):
    """-v gives stage-level lines; the engine's per-solve lines (hundreds on a real town) only with -v --debug."""
    def run(*flags):
        r = subprocess.run([sys.executable, "-m", "connectivity.cli", *flags, "plan", str(fixtures / "tiny.toml"),
                            "--out", str(tmp_path / "_".join(flags)), "--quiet"], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        return r.stderr.splitlines()
    verbose = run("-v")
    assert any("INFO: joint plan" in ln and "savings" in ln for ln in verbose)  # the stage's figures
    assert not [ln for ln in verbose if "steiner: cost" in ln or "joint plan of" in ln]
    debug = run("-v", "--debug")
    assert [ln for ln in debug if "DEBUG: steiner: cost" in ln] and [ln for ln in debug if "DEBUG: joint plan of" in ln]


def test_verbose_names_the_files_where_they_end_up(fixtures, tmp_path):
    """-v says where each map was written: in the output folder, not the hidden staging folder renamed into place."""
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "connectivity.cli", "-v", "plan", str(fixtures / "tiny.toml"),
                        "--out", str(out), "--quiet"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    wrote = [ln for ln in r.stderr.splitlines() if "INFO: wrote" in ln]
    assert sorted(ln.split("INFO: wrote ")[1].split(" (")[0] for ln in wrote) == sorted(
        str(out / name) for name in ("map.html", "cost_map.html", "coverage_map.html"))
    assert ".tmp" not in r.stderr
    assert all((out / name).is_file() for name in ("map.html", "cost_map.html", "coverage_map.html"))


def test_plan_coalitions_on_a_dask_scheduler_give_the_same_files(fixtures, tmp_path):
    """``plan --scheduler``: the coalition plans run on a Dask cluster; the plan folder is the same."""
    from distributed import LocalCluster

    from connectivity.cli import main

    assert main(["plan", str(fixtures / "tiny.toml"), "--out", str(tmp_path / "serial"), "-q"]) == 0
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        assert main(["plan", str(fixtures / "tiny.toml"), "--out", str(tmp_path / "dask"), "-q",
                     "--scheduler", cluster.scheduler_address]) == 0
    for name in ("summary.json", "ducts.geojson", "allocation.csv"):
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "serial" / name).read_bytes(), name


def test_plan_with_no_scheduler_there_is_one_line_exit_2(fixtures, tmp_path, capsys):
    from connectivity.cli import main

    code = main(["plan", str(fixtures / "tiny.toml"), "--out", str(tmp_path / "o"), "-q",
                 "--scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "no Dask scheduler answers" in err[0]
    assert not (tmp_path / "o").exists()


def test_plan_with_a_web_server_as_scheduler_is_one_line_exit_2(fixtures, tmp_path, capsys, web_server_address):
    """The dashboard's port given as --scheduler: was an internal error (MemoryError), exit 1."""
    code = main(["plan", str(fixtures / "tiny.toml"), "--out", str(tmp_path / "o"), "-q",
                 "--scheduler", web_server_address])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "no Dask scheduler answers (another program answers there" in err[0]
    assert not (tmp_path / "o").exists()


def test_library_info_logs_stay_out_unless_verbose(tmp_path):
    """Libraries that set their own loggers to INFO (Dask's cluster start and stop) print nothing
    without -v; warnings still show; with -v the INFO lines show too."""
    code = ("import logging, sys; from connectivity.cli import main; main(sys.argv[1:]); "
            "lib = logging.getLogger('distributed.scheduler'); lib.setLevel(logging.INFO); lib.info('State start'); "
            "logging.getLogger('connectivity').warning('a warning')")
    missing = str(tmp_path / "missing.stp")
    quiet = subprocess.run([sys.executable, "-c", code, "steiner", missing], capture_output=True, text=True)
    loud = subprocess.run([sys.executable, "-c", code, "-v", "steiner", missing], capture_output=True, text=True)
    assert "a warning" in quiet.stderr and "State start" not in quiet.stderr
    assert "a warning" in loud.stderr and "State start" in loud.stderr


def test_sites_file_of_an_operator_not_serving_the_province_are_left_out(fixtures, tmp_path):
    """The province rule of sites chosen from points of interest holds for a sites file too: sites of
    an operator that does not serve the scenario's province are left out, with one warning line
    (in summary.json's warnings) saying how many and why."""
    ops = (fixtures / "operators.toml").read_text().replace(
        'name = "PEA"\n', 'name = "PEA"\nexclude_provinces = ["Chiang Mai"]\n')
    (tmp_path / "operators.toml").write_text(ops)
    scenario = tmp_path / "tiny.toml"
    scenario.write_text((fixtures / "tiny.toml").read_text().replace('"tiny.osm"', json.dumps(str(fixtures / "tiny.osm"))))
    out = tmp_path / "out"
    assert main(["plan", str(scenario), "--sites", str(fixtures / "sites.csv"), "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sites_total"] == 4   # S4 (PEA) left out
    assert "PEA" not in summary["sites_per_operator"]
    lines = [w for w in summary["warnings"] if "PEA" in w]
    assert len(lines) == 1 and "1 site(s) of PEA left out" in lines[0] and "does not serve Chiang Mai" in lines[0]
    assert not lines[0].startswith("/") and lines[0].split(":")[0].endswith("sites.csv")   # relative: reproducible


def test_plan_areas_workers_capped_by_the_cores_this_process_may_use(monkeypatch, tmp_path, capsys):
    """--workers is checked against the cores of the process's CPU affinity, not the host's CPU count."""
    import os

    from connectivity.cli import main
    from connectivity.design import threads

    monkeypatch.setattr(threads, "usable_cores", lambda: 1)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    code = main(["plan-areas", str(tmp_path / "s.toml"), "--areas", str(tmp_path / "a.geojson"),
                 "--out", str(tmp_path / "o"), "-q", "--workers", "5"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--workers 5: at most 4" in err[0]
    assert main(["plan-areas", str(tmp_path / "s.toml"), "--areas", str(tmp_path / "a.geojson"),
                 "--out", str(tmp_path / "o"), "-q", "--workers", "4"]) == 2
    assert "at most" not in capsys.readouterr().err


def test_the_parser_loads_no_solver():
    """`connectivity --help` and argument errors answer without loading the Steiner engine (numba, scipy):
    the engine's names load on first use."""
    import subprocess
    import sys

    code = ("import sys; from connectivity.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('numba', 'scipy', 'connectivity.steiner.solver') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"
    from connectivity import steiner
    assert steiner.solve.__module__ == "connectivity.steiner.solver" and "solve" in steiner.__all__


@pytest.mark.parametrize("argv, words", [
    (["steiner", "x.stp", "--seed", "abc"], ["argument --seed: invalid int value: 'abc'", "connectivity steiner --help"]),
    (["plan-areas", "a.toml", "--areas", "a.geojson", "--workers", "x"], ["argument --workers", "'x'"]),
    (["frob"], ["invalid choice: 'frob'", "connectivity --help"]),
])
def test_bad_arguments_are_one_line_exit_2(argv, words, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("connectivity: error: "), err
    assert all(w in err for w in words), err


def test_python_dash_m_connectivity_is_the_command(fixtures, tmp_path):
    """``python -m connectivity`` runs the same command line, with its name and exit codes."""
    ok = subprocess.run([sys.executable, "-m", "connectivity", "--help"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and ok.stdout.startswith("usage: connectivity ") and "plan-areas" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "connectivity", "plan", str(tmp_path / "missing.toml")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("connectivity: error: ") and "missing.toml" in bad.stderr


def test_a_closed_stdout_breaks_no_run(fixtures, tmp_path):
    """`>&-`: the plan is written (exit 0) and steiner solves, with no traceback (Python's sys.stdout
    is None: the HiGHS banner's silencing and the exit hook's flush used to fail)."""
    out = tmp_path / "out"
    stp = tmp_path / "path.stp"
    stp.write_text("SECTION Graph\nNodes 3\nEdges 2\nE 1 2 1\nE 2 3 1\nEND\n\n"
                   "SECTION Terminals\nTerminals 2\nT 1\nT 3\nEND\n\nEOF\n")
    for argv in (["plan", fixtures / "tiny.toml", "--out", out, "--quiet"], ["steiner", stp]):
        r = subprocess.run(["sh", "-c", '"$@" >&-', "sh", sys.executable, "-m", "connectivity", *map(str, argv)],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        assert all(line.startswith("connectivity: WARNING: ") for line in r.stderr.splitlines()), r.stderr
    assert json.loads((out / "summary.json").read_text())["sites_connected"] == 4


def _mixed_column_roads(folder, *, null_geometry):
    """A scenario whose roads GeoJSON has a `highway` column mixing text with a list and an object
    (geopandas then warns "Could not parse column 'highway' as JSON"), and a row without geometry."""
    rows = [("residential", 18.79), (["a", "b"], 18.791), ({"x": 1}, 18.792), ("residential", None)]
    features = [{"type": "Feature", "properties": {"highway": h},
                 "geometry": None if y is None else {"type": "LineString", "coordinates": [[98.96, y], [98.962, y]]}}
                for h, y in rows[:4 if null_geometry else 3]]
    (folder / "roads.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    scenario = folder / "s.toml"
    scenario.write_text('name = "r"\nprovince = "Chiang Mai"\n[inputs]\nroads = "roads.geojson"\n'
                        f'sites = {json.dumps(str(FIXTURES / "sites.csv"))}\n'
                        f'operators = {json.dumps(str(FIXTURES / "operators.toml"))}\n')
    return scenario


@pytest.mark.parametrize("flags", [[], ["-v"], ["-v", "--debug"]])
def test_library_warnings_are_one_log_line(tmp_path, flags):
    """A library's warning (geopandas reading a mixed column) is one `connectivity: WARNING:` line, as
    the package's own warnings, shown with -v and --debug too: no two lines with a source line."""
    r = run_cli(*flags, "plan", _mixed_column_roads(tmp_path, null_geometry=False), "--out", tmp_path / "out", "-q")
    assert r.returncode == 0, r.stderr
    assert "connectivity: WARNING: UserWarning: Could not parse column 'highway' as JSON" in r.stderr, r.stderr
    assert all(line.startswith("connectivity: ") for line in r.stderr.splitlines()), r.stderr


def test_library_warnings_before_bad_input_are_dropped(tmp_path):
    """Bad input (a road without geometry) after a library's warning: the error line alone."""
    out = tmp_path / "out"
    r = run_cli("plan", _mixed_column_roads(tmp_path, null_geometry=True), "--out", out, "-q")
    _assert_clean_failure(r, out, "roads.geojson", "geometry")


def test_a_reader_that_closes_the_output_pipe_is_named_not_the_input(tmp_path):
    """``connectivity steiner good.stp | head -c0``: the reader closed our standard output; the one line
    names it (not the instance file, which is fine), with no second error at exit."""
    import os

    stp = tmp_path / "good.stp"
    stp.write_text("SECTION Graph\nNodes 3\nEdges 2\nE 1 2 1\nE 2 3 1\nEND\n\nSECTION Terminals\nTerminals 2\n"
                   "T 1\nT 3\nEND\n\nEOF\n", encoding="utf-8")
    r, w = os.pipe()
    os.close(r)   # the reader is gone before anything is written
    try:
        done = subprocess.run([sys.executable, "-m", "connectivity", "steiner", str(stp)], stdout=w,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(w)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["connectivity: error: standard output: broken pipe (its reader closed it)"]
