"""Many areas planned at once (``connectivity plan-areas``): the real Chiang Mai and Phuket data cut
into areas plus a broken one; resume; identical results serially and on a local Dask cluster."""
from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tomllib

import geopandas as gpd
import pytest
import shapely

from connectivity.areas import WORK_FOLDER, plan_areas, read_areas
from connectivity.areas.split import dump_toml, folder_name
from connectivity.cli import main
from connectivity.errors import InputDataError
from tests.conftest import SCENARIOS

# Chiang Mai extract (Nimmanhaemin / CMU): two pieces of it, and a field with no road
CM_AREAS = [("Nimman West", (98.9516, 18.7880, 98.9620, 18.8086)),
            ("Nimman North-East", (98.9620, 18.7980, 98.9745, 18.8086)),
            ("Empty Field", (98.80, 18.70, 98.81, 18.71))]
NATIONAL = ("areas.csv", "summary.json", "overview.html", "ducts.gpkg")


def write_areas(path, rows, *, column="name"):
    gpd.GeoDataFrame({column: [r[0] for r in rows]}, geometry=[shapely.box(*r[1]) for r in rows],
                     crs="EPSG:4326").to_file(path)
    return path


@pytest.fixture(scope="module")
def cm_run(shared_data, tmp_path_factory):
    """One serial national run over the Chiang Mai areas, through the command line."""
    tmp = tmp_path_factory.mktemp("cm")
    areas = write_areas(tmp / "areas.geojson", CM_AREAS)
    out = tmp / "out"
    code, _ = run_cli_captured(["plan-areas", str(SCENARIOS / "chiang_mai_nimman.toml"), "--areas", str(areas),
                                "--out", str(out), "--serial", "--quiet"])
    return tmp, areas, out, code


def run_cli_captured(argv):
    """``connectivity`` in this process: exit code and what it printed on stderr."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(argv)
    return code, err.getvalue()


def test_broken_area_is_reported_and_the_others_planned(cm_run):
    _, _, out, code = cm_run
    assert code == 3  # some areas failed
    summary = json.loads((out / "summary.json").read_text())
    rows = {r["area"]: r for r in summary["per_area"]}
    assert [r["area"] for r in summary["per_area"]] == sorted(rows)  # ordered by name
    assert rows["Empty Field"]["status"] == "failed" and "no roads" in rows["Empty Field"]["reason"]
    assert "\n" not in rows["Empty Field"]["reason"] and "/tmp" not in rows["Empty Field"]["reason"]
    assert summary["failed"] == [{"area": "Empty Field", "reason": rows["Empty Field"]["reason"]}]
    for name in ("Nimman West", "Nimman North-East"):
        assert rows[name]["status"] == "ok" and rows[name]["trench_km"] > 0
        plan = json.loads((out / folder_name(name) / "summary.json").read_text())
        assert rows[name]["total_cost"] == plan["total_cost"]
    assert not (out / "Empty_Field").exists()
    # the totals add the areas up; the certified gap is that of the sums
    ok = [r for r in summary["per_area"] if r["status"] == "ok"]
    total = summary["total"]
    assert total["total_cost"] == pytest.approx(sum(r["total_cost"] for r in ok), abs=0.01)
    assert total["sites_connected"] == sum(r["sites_connected"] for r in ok)
    assert total["network_cost"] == pytest.approx(sum(r["network_cost"] for r in ok), abs=0.01)
    assert total["gap_pct"] == pytest.approx(100 * (total["network_cost"] / total["lower_bound"] - 1), abs=1e-3)
    csv = (out / "areas.csv").read_text().splitlines()
    assert csv[0].startswith("area,folder,status,reason,warnings,") and len(csv) == 4
    # what was logged while an area was planned, on its row (the area's name is the row's)
    west = rows["Nimman West"]["warnings"]
    assert "road network has" in west and "not connected: EGAT-way/97987797" in west and "Nimman West" not in west
    assert json.loads((out / "Nimman_West" / "area.json").read_text())["warnings"] == west.split("; ")


def test_sites_and_pois_belong_to_one_area_only(cm_run):
    """A point of interest in two areas' margins becomes a site of one area only."""
    _, _, out, _ = cm_run
    ids = []
    for name in ("Nimman West", "Nimman North-East"):
        sites = gpd.read_file(out / folder_name(name) / "sites.geojson")
        ids += sites["site_id"].tolist()
    assert len(ids) == len(set(ids)) > 0


def test_area_folder_equals_connectivity_plan_on_the_clipped_inputs(cm_run, tmp_path):
    _, _, out, _ = cm_run
    folder = folder_name("Nimman North-East")
    scenario = out / WORK_FOLDER / folder / "scenario.toml"
    assert main(["plan", str(scenario), "--out", str(tmp_path / "plan"), "--quiet"]) == 0
    mine = {p.name for p in (out / folder).iterdir()} - {"area.json", "timings.json"}
    theirs = {p.name for p in (tmp_path / "plan").iterdir()} - {"timings.json"}
    assert mine == theirs and "ducts.geojson" in mine
    for name in sorted(mine):
        assert (out / folder / name).read_bytes() == (tmp_path / "plan" / name).read_bytes(), name


def test_cut_hands_out_each_area_as_soon_as_its_inputs_are_written_largest_first(shared_data, tmp_path):
    """The inputs are split once; then each area is handed out (to be planned) before the next is cut,
    the one with the most roads first, the empty one last."""
    from connectivity.areas import split
    from connectivity.config import load_scenario

    areas = read_areas(write_areas(tmp_path / "areas.geojson", CM_AREAS))
    work = tmp_path / "out" / WORK_FOLDER
    seen = []
    for k, path in split.cut(load_scenario(SCENARIOS / "chiang_mai_nimman.toml"), areas, tmp_path / "out"):
        seen.append(areas[k].name)
        assert path == work / areas[k].folder / "scenario.toml" and path.is_file()
        assert {a.name for a in areas if (work / a.folder / "scenario.toml").exists()} == set(seen)
    roads = {a.name: (work / a.folder / "roads.osm.pbf").stat().st_size for a in areas}
    assert seen == sorted(roads, key=lambda n: -roads[n]) and seen[-1] == "Empty Field"


def test_rerun_skips_unchanged_areas_and_replans_a_changed_one(cm_run, tmp_path):
    tmp, areas, out, _ = cm_run
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    before = {n: (copy / n).read_bytes() for n in NATIONAL}
    code, err = run_cli_captured(["plan-areas", str(SCENARIOS / "chiang_mai_nimman.toml"), "--areas", str(areas),
                                  "--out", str(copy), "--serial"])
    assert code == 3 and {n: (copy / n).read_bytes() for n in NATIONAL} == before
    lines = [ln for ln in err.splitlines() if "/3 " in ln]  # one progress line per area
    assert len(lines) == 3 and all(": unchanged, skipped" in ln for ln in lines if "Nimman" in ln)
    assert any("Empty Field: failed: " in ln for ln in lines)
    # a larger West area: its clipped inputs change, it is planned again; the other is skipped
    rows = [(n, (b[0] - 0.002, *b[1:]) if n == "Nimman West" else b) for n, b in CM_AREAS]
    run = plan_areas(SCENARIOS / "chiang_mai_nimman.toml", write_areas(tmp_path / "bigger.geojson", rows), copy,
                     workers=0)
    skipped = {r["area"]: r["skipped"] for r in run.results if r["status"] == "ok"}
    assert skipped == {"Nimman West": False, "Nimman North-East": True}


def test_local_cluster_and_other_order_give_identical_national_files(cm_run, tmp_path):
    tmp, _, out, _ = cm_run
    reordered = write_areas(tmp_path / "areas.geojson", CM_AREAS[::-1])
    lines = []
    run = plan_areas(SCENARIOS / "chiang_mai_nimman.toml", reordered, tmp_path / "out", workers=2,
                     started=lines.append)
    assert [r["skipped"] for r in run.results] == [False] * 3
    assert lines and "dashboard http://" in lines[0]   # the local cluster's Dask dashboard address
    for name in NATIONAL:
        assert (tmp_path / "out" / name).read_bytes() == (out / name).read_bytes(), name
    a = gpd.read_file(out / "ducts.gpkg")
    b = gpd.read_file(tmp_path / "out" / "ducts.gpkg")
    assert a.equals(b) and sorted(a["area"].unique()) == ["Nimman North-East", "Nimman West"]
    assert (a["attribution"] == "© OpenStreetMap contributors").all()


def test_overview_map_is_offline_with_attribution(cm_run):
    page = (cm_run[2] / "overview.html").read_text()
    assert "OpenStreetMap" in page and "contributors" in page
    assert "https://cdn" not in page and "<script src=" not in page
    assert "Nimman West" in page and "Areas by cost per km" in page and "TOT ducts" in page


def test_phuket_vector_inputs_are_clipped(shared_data, tmp_path):
    """A road line file is cut at each area's buffered outline; points of interest go to one area."""
    rows = [("Kathu", (98.30, 7.88, 98.36, 7.93)), ("Patong", (98.28, 7.87, 98.30, 7.93)),
            ("Nowhere", (98.30, 8.01, 98.31, 8.02))]  # roads, but no public building
    areas = write_areas(tmp_path / "areas.gpkg", rows, column="amphoe")
    out = tmp_path / "out"
    run = plan_areas(SCENARIOS / "phuket_backbone.toml", areas, out, name_column="amphoe", margin_m=300, workers=0)
    assert [r["area"] for r in run.results] == ["Kathu", "Nowhere", "Patong"]
    assert run.results[1]["status"] == "failed"   # no site at all is an error naming the area's points of interest
    assert run.results[1]["reason"] == (f"{WORK_FOLDER}/Nowhere/pois.geojson: no sites to connect: "
                                        "no point of interest to choose them from")
    pois = gpd.read_file(shared_data / "osm" / "phuket" / "phuket-poi.geojson")
    inside = pois.representative_point().intersects(shapely.union_all([shapely.box(*b) for _, b in rows]))
    clipped = [gpd.read_file(out / WORK_FOLDER / a / "pois.geojson") for a in ("Kathu", "Patong")]
    assert sum(len(c) for c in clipped) == int(inside.sum())
    for (name, box), roads in zip(rows, [gpd.read_file(out / WORK_FOLDER / a / "roads.geojson")
                                         for a in ("Kathu", "Patong")]):
        grown = gpd.GeoSeries([shapely.box(*box)], crs=4326).to_crs(32647).buffer(300.5).to_crs(4326).iloc[0]
        assert len(roads) and roads.within(grown).all()
        assert roads.intersects(shapely.box(*box)).any()
    assert run.results[0]["status"] == "ok"


def test_scenario_toml_round_trip():
    raw = tomllib.loads((SCENARIOS / "chiang_mai_phased.toml").read_text())
    assert tomllib.loads(dump_toml(raw)) == raw


@pytest.mark.parametrize("rows, column, words", [
    ([("A", None)], "name", ["row 1", "polygons", "Point"]),
    ([("A", (0, 0, 1, 1))], "province", ["missing column `name`", "--name-column"]),
    ([("A", (0, 0, 1, 1)), ("A", (1, 0, 2, 1))], "name", ["row 2", "duplicate area name 'A'", "row 1"]),
    ([("A/B", (0, 0, 1, 1)), ("a_b", (1, 0, 2, 1))], "name", ["row 2", "same folder 'a_b'", "'A/B'"]),
    ([(" ", (0, 0, 1, 1))], "name", ["row 1", "empty area name"]),
    ([("North\nSouth", (0, 0, 1, 1))], "name", ["row 1", "'North\\nSouth' holds a control character"]),
    ([("summary.json", (0, 0, 1, 1))], "name", ["row 1", "cannot be a folder name"]),
    ([("x" * 300, (0, 0, 1, 1))], "name", ["row 1", "too long for a folder name", "300 bytes"]),
    ([("ขอนแก่น" * 10, (0, 0, 1, 1))], "name", ["row 1", "too long for a folder name", "210 bytes"]),
])
def test_bad_areas_file_is_one_line_error(tmp_path, rows, column, words):
    geoms = [shapely.Point(0, 0) if b is None else shapely.box(*b) for _, b in rows]
    path = tmp_path / "areas.geojson"
    gpd.GeoDataFrame({column: [r[0] for r in rows]}, geometry=geoms, crs="EPSG:4326").to_file(path)
    with pytest.raises(InputDataError) as exc:
        read_areas(path)
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)
    for w in words:
        assert w in str(exc.value)


def test_geometry_is_not_a_name_column(tmp_path):
    path = tmp_path / "areas.geojson"
    gpd.GeoDataFrame({"name": ["A"]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:4326").to_file(path)
    with pytest.raises(InputDataError, match="missing column `geometry`"):
        read_areas(path, name_column="geometry")


def test_bad_areas_file_exits_2_with_one_line_and_writes_nothing(fixtures, tmp_path):
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "connectivity.cli", "plan-areas", str(fixtures / "tiny.toml"),
                        "--areas", str(tmp_path / "missing.geojson"), "--out", str(out), "--serial"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("connectivity: error:") and "missing.geojson" in lines[0]
    assert not out.exists()


def test_folder_names():
    assert folder_name("Chiang Mai") == "Chiang_Mai"
    assert folder_name("เชียงใหม่") == "เชียงใหม่"
    assert folder_name("../etc") == "_etc" and folder_name("a:b*c") == "a_b_c"


def test_osm_split_gives_each_tagged_object_to_one_area(fixtures, tmp_path):
    """Streets in every area whose grown outline they reach; points of interest, poles and
    buildings (tags kept) in exactly one area; the union is the whole file's."""
    from connectivity import load
    from connectivity.areas.split import Area, buffered, split_osm

    areas = [Area("East", "East", shapely.box(98.9605, 18.789, 98.9630, 18.793)),
             Area("West", "West", shapely.box(98.9595, 18.789, 98.9605, 18.793))]
    names = split_osm(fixtures / "tiny.osm", areas, [buffered(a, 100.0) for a in areas], tmp_path)
    whole = load.read_osm(fixtures / "tiny.osm")
    parts = [load.read_osm(tmp_path / a.folder / n) for a, n in zip(areas, names)]
    for layer in ("pois", "poles", "buildings"):
        ids = [i for p in parts for i in getattr(p, layer)["osm_id"]]
        assert sorted(ids) == sorted(getattr(whole, layer)["osm_id"]), layer
    ways = [set(p.roads["osm_id"]) for p in parts]
    assert ways[0] & ways[1] and ways[0] | ways[1] == set(whole.roads["osm_id"])
    # the hospital is east, the westmost pole west; the school on the shared edge goes to the first by name
    assert {"node/50", "node/51"} <= set(parts[0].pois["osm_id"]) and "node/40" in set(parts[1].poles["osm_id"])


TINY_AREAS = [("East", (98.9605, 18.789, 98.9630, 18.793)), ("West", (98.9595, 18.789, 98.9605, 18.793))]


def test_scheduler_address_uses_a_running_cluster(fixtures, tmp_path):
    from distributed import LocalCluster

    areas = write_areas(tmp_path / "areas.geojson", TINY_AREAS)
    serial = plan_areas(fixtures / "tiny.toml", areas, tmp_path / "serial", workers=0, margin_m=100)
    lines = []
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        run = plan_areas(fixtures / "tiny.toml", areas, tmp_path / "dask", scheduler=cluster.scheduler_address,
                         margin_m=100, started=lines.append)
    assert lines and cluster.scheduler_address in lines[0]
    assert [r["status"] for r in run.results] == [r["status"] for r in serial.results]
    for name in NATIONAL:
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "serial" / name).read_bytes(), name


def test_osm_split_keeps_multipolygon_buildings_whole_in_one_area(tmp_path):
    """A building drawn as a multipolygon relation (an untagged ring way) goes, with its ring and
    nodes, to the area holding it, even when the ring reaches outside that area's streets."""
    from connectivity import load
    from connectivity.areas.split import Area, buffered, split_osm

    ring = [(98.9700, 18.7900), (98.9712, 18.7900), (98.9712, 18.7910), (98.9700, 18.7910)]
    street = [(98.9600, 18.7895), (98.9650, 18.7895), (98.9705, 18.7895)]
    nodes = "".join(f'<node id="{i + 1}" lat="{y}" lon="{x}"/>' for i, (x, y) in enumerate(ring + street))
    osm = (f'<?xml version="1.0" encoding="UTF-8"?><osm version="0.6">{nodes}'
           '<way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/></way>'
           '<way id="11"><nd ref="5"/><nd ref="6"/><nd ref="7"/><tag k="highway" v="residential"/></way>'
           '<relation id="20"><member type="way" ref="10" role="outer"/><tag k="type" v="multipolygon"/>'
           '<tag k="building" v="yes"/></relation></osm>')
    (tmp_path / "town.osm").write_text(osm)
    areas = [Area("East", "East", shapely.box(98.9680, 18.7880, 98.9750, 18.7950)),
             Area("West", "West", shapely.box(98.9590, 18.7880, 98.9680, 18.7950))]
    split_osm(tmp_path / "town.osm", areas, [buffered(a, 10.0) for a in areas], tmp_path)
    east, west = (load.read_osm(tmp_path / a.folder / "roads.osm.pbf") for a in areas)
    assert list(east.buildings["osm_id"]) == ["relation/20"] and len(west.buildings) == 0
    assert list(east.roads["osm_id"].unique()) == list(west.roads["osm_id"].unique()) == ["way/11"]


def _osm_digest(path) -> str:
    """SHA-256 (16 hex) of an OSM file's objects in file order: ids, fixed-point locations, node
    refs, members and sorted tags (what a reader sees, not the bytes of the encoding)."""
    import hashlib

    import osmium

    h = hashlib.sha256()
    for o in osmium.FileProcessor(str(path)):
        tags = sorted((t.k, t.v) for t in o.tags)
        if o.is_node():
            rec = ("n", o.id, o.location.x, o.location.y, tags)
        elif o.is_way():
            rec = ("w", o.id, [n.ref for n in o.nodes], tags)
        else:
            rec = ("r", o.id, [(m.type, m.ref, m.role) for m in o.members], tags)
        h.update(repr(rec).encode())
    return h.hexdigest()[:16]


def test_osm_split_reads_the_file_once_and_gives_what_the_two_pass_split_gave(shared_data, tmp_path, monkeypatch):
    """One streaming pass over the Chiang Mai extract; each area's file holds the same objects as
    the two-pass split of commit 8fe45e8 wrote (digests recorded from it), overlapping areas and
    an empty one included."""
    import osmium

    from connectivity.areas.split import Area, buffered, split_osm

    source = shared_data / "osm" / "chiang_mai" / "chiang_mai_nimman_cmu_2023-02-27.osm.pbf"
    boxes = [("Nimman West", (98.9516, 18.7880, 98.9620, 18.8086)),
             ("Nimman North-East", (98.9620, 18.7980, 98.9745, 18.8086)),
             ("South", (98.9500, 18.7700, 98.9800, 18.7980)), ("Empty", (98.80, 18.70, 98.81, 18.71)),
             ("Big", (98.90, 18.75, 99.05, 18.85))]
    areas = [Area(n, folder_name(n), shapely.box(*b)) for n, b in boxes]
    opened = []
    real = osmium.FileProcessor

    def counting(path, *args, **kwargs):
        opened.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(osmium, "FileProcessor", counting)
    names = split_osm(source, areas, [buffered(a, 500.0) for a in areas], tmp_path)
    assert opened.count(str(source)) == 1
    digests = {a.name: _osm_digest(tmp_path / a.folder / n) for a, n in zip(areas, names)}
    assert digests == {"Big": "f62bfd684185f586", "Empty": "e3b0c44298fc1c14",
                       "Nimman North-East": "ff55da4a43ebe3c4", "Nimman West": "a37773488731046c",
                       "South": "e102fe1d1f095985"}
    assert sorted(p.name for p in (tmp_path / "Big").iterdir()) == ["roads.osm.pbf"]  # no part file left


@pytest.mark.parametrize("where", ["--serial", "--workers=1"])
def test_broken_osm_pbf_exits_2_with_one_line_naming_the_file(fixtures, tmp_path, where):
    """A truncated ``.osm.pbf``: one line naming the file and exit code 2, no traceback, also while
    a local cluster is starting in the background."""
    import osmium

    whole = tmp_path / "whole.osm.pbf"
    with osmium.SimpleWriter(str(whole)) as w:
        for obj in osmium.FileProcessor(str(fixtures / "tiny.osm")):
            if obj.is_node():
                w.add_node(obj)
            elif obj.is_way():
                w.add_way(obj)
            else:
                w.add_relation(obj)
    data = whole.read_bytes()
    (tmp_path / "broken.osm.pbf").write_bytes(data[: len(data) * 2 // 3])
    scenario = tmp_path / "broken.toml"
    scenario.write_text((fixtures / "tiny.toml").read_text().replace('"tiny.osm"', '"broken.osm.pbf"').replace(
        '"operators.toml"', json.dumps(str(fixtures / "operators.toml"))))
    areas = write_areas(tmp_path / "areas.geojson", TINY_AREAS)
    r = subprocess.run([sys.executable, "-m", "connectivity.cli", "plan-areas", str(scenario), "--areas", str(areas),
                        "--out", str(tmp_path / "out"), where], capture_output=True, text=True, timeout=300)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2, r.stderr
    assert len(lines) == 1 and lines[0].startswith("connectivity: error:") and "broken.osm.pbf" in lines[0], lines


def test_local_cluster_workers_run_one_thread_each_without_profiler_and_warm_up_first(monkeypatch):
    """The local cluster started for plan-areas: one worker per core this process may use (not per
    CPU of the host), one thread per worker, numba, OpenMP and BLAS at one thread, glibc's adaptive
    mmap threshold kept (no MALLOC_TRIM_THRESHOLD_), no statistical profiler; each worker's warm-up
    task (imports, compiled kernels) has run in that worker."""
    from connectivity.areas.run import Workers
    from connectivity.design import threads

    monkeypatch.setattr(threads, "usable_cores", lambda: 1)   # a process pinned to one core of a larger host
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    pool = Workers()
    try:
        client = pool.client()

        def settings():
            import os
            import sys

            import dask
            return ({k: os.environ.get(k) for k in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                    "CONNECTIVITY_THREADS", "MALLOC_TRIM_THRESHOLD_")},
                    dask.config.get("distributed.worker.profile.enabled"), "connectivity.pipeline" in sys.modules)

        info = client.scheduler_info()["workers"]
        assert [w["nthreads"] for w in info.values()] == [1]
        assert [f.result(timeout=120) for f in pool._warm] == list(client.run(os.getpid).values())
        env, profiler, imported = next(iter(client.run(settings).values()))
        # (a variable of the driver's own environment wins, e.g. one an earlier default cluster set)
        assert env == {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                       "CONNECTIVITY_THREADS": "1", "MALLOC_TRIM_THRESHOLD_": os.environ.get("MALLOC_TRIM_THRESHOLD_")}
        assert profiler is False and imported
    finally:
        pool.close()
    assert pool._client is None


def test_area_warnings_name_their_area(fixtures, tmp_path, caplog):
    """Warnings logged while an area is planned start with the area's name; outside, unchanged."""
    import logging

    from connectivity.areas.run import area_logs

    log = logging.getLogger("connectivity.network")
    with caplog.at_level(logging.INFO):
        with area_logs("Nimman 100%"):
            log.warning("road network has %d disconnected components", 3)
            log.warning("no args, 50% done")
            log.info("an info line")
            logging.getLogger("distributed.worker").warning("not ours")
        log.warning("after the area")
    assert [r.getMessage() for r in caplog.records] == [
        "Nimman 100%: road network has 3 disconnected components", "Nimman 100%: no args, 50% done",
        "an info line", "not ours", "after the area"]
    areas = write_areas(tmp_path / "areas.geojson", TINY_AREAS)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="connectivity"):
        plan_areas(fixtures / "tiny.toml", areas, tmp_path / "out", workers=0, margin_m=100)
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("connectivity.") and "areas" not in r.name]
    assert ours and all(m.startswith(("East: ", "West: ")) for m in ours), ours


@pytest.mark.parametrize("box", [(0.0, 0.0, 179.0, 89.0), (-180.0, -90.0, 180.0, 90.0)], ids=["hemisphere", "world"])
def test_an_area_wider_than_a_utm_zone_is_planned(fixtures, tmp_path, box):
    """An area far wider than its UTM zone: its margin was grown through the zone (infinite or folded
    coordinates: the hemisphere ended in an internal error, exit 1, the world box lost every road) and
    so was its outline on the overview map."""
    from connectivity.areas.split import Area, buffered

    area = Area(name="Big", folder="Big", geometry=shapely.box(*box), province=None)
    grown = buffered(area, 500.0)
    assert grown.covers(area.geometry) and grown.covers(shapely.Point(98.96, 18.79))
    areas = write_areas(tmp_path / "areas.geojson", [("Big", box)])
    run = plan_areas(fixtures / "tiny.toml", areas, tmp_path / "out", workers=0, margin_m=100)
    assert [r["status"] for r in run.results] == ["ok"]
    assert (tmp_path / "out" / "overview.html").is_file()


def test_removed_share_counts_a_span_two_margins_share_once():
    """The union of the areas' removed spans over their summed length: overlapping copies of one
    line cut at different margins count once; separate lines add up (WGS84 ellipsoid)."""
    from pyproj import Geod

    from connectivity.areas.national import removed_share, totals

    line = shapely.LineString([(98.950, 18.800), (98.960, 18.801), (98.970, 18.800)])
    west = shapely.intersection(line, shapely.box(98.94, 18.79, 98.9637, 18.81))   # cut mid-segment
    east = shapely.intersection(line, shapely.box(98.9583, 18.79, 98.98, 18.81))   # overlaps west
    other = shapely.LineString([(98.950, 18.790), (98.951, 18.790)])
    km = Geod(ellps="WGS84").geometry_length
    assert removed_share([[west], [east]]) == pytest.approx(km(line) / (km(west) + km(east)), rel=1e-6)
    assert km(west) + km(east) > 1.2 * km(line)    # the plain sum counts the overlap twice
    both = removed_share([[west], None, [east, other]])
    assert both == pytest.approx((km(line) + km(other)) / (km(west) + km(east) + km(other)), rel=1e-6)
    assert removed_share([[west], [other]]) == pytest.approx(1.0) and removed_share([None, []]) == 1.0
    rows = [{"status": "ok", "overhead_km_removed": 0.6}, {"status": "ok", "overhead_km_removed": 0.6}]
    assert totals(rows, overhead_share=0.5)["overhead_km_removed"] == pytest.approx(0.6)
    assert totals([{"status": "ok"}], overhead_share=0.5).get("overhead_km_removed") is None


def test_overhead_spans_in_shared_margins_count_once_in_the_total(shared_data, tmp_path):
    """Two Chiang Mai areas split across the overhead power line, margins overlapping: both take
    down the spans in the shared margin, the national total counts them once."""
    scenarios = SCENARIOS.resolve()
    osm = shared_data / "osm" / "chiang_mai" / "chiang_mai_nimman_cmu_2023-02-27.osm"
    text = (scenarios / "chiang_mai_nimman.toml").read_text()
    text = text.replace('osm = "../../../shared/data/osm/chiang_mai/chiang_mai_nimman_cmu_2023-02-27.osm"',
                        f'osm = "{osm.resolve()}"')
    text = text.replace('operators = "../operators/default.toml"',
                        f'operators = "{(scenarios / "../operators/default.toml").resolve()}"')
    scenario = tmp_path / "aerial.toml"
    scenario.write_text(text + "\n[design]\nunderground_aerial = true\n")
    areas = write_areas(tmp_path / "areas.geojson", [("West", (98.9516, 18.7880, 98.9612, 18.8086)),
                                                     ("East", (98.9612, 18.7880, 98.9745, 18.8086))])
    out = tmp_path / "out"
    run = plan_areas(scenario, areas, out, workers=0, margin_m=300)
    assert [r["status"] for r in run.results] == ["ok", "ok"]
    summary = json.loads((out / "summary.json").read_text())
    per_area = [r["overhead_km_removed"] for r in summary["per_area"]]
    total = summary["total"]["overhead_km_removed"]
    assert min(per_area) > 0                       # both areas take spans of the line down
    assert max(per_area) <= total < sum(per_area)  # the shared margin's spans once
    assert total == pytest.approx(per_area[0], abs=0.002)  # here both took the whole line down


def _in_a_fresh_worker(configured: bool, body: str) -> tuple[list[str], str]:
    """Run ``body`` (lines indented under ``with area_logs('Town 1') as warned:``) in a new Python
    process after :func:`worker_logging`, with logging already set up (``other: ...``) when
    ``configured``; returns its stderr lines and what ``warned`` collected (printed)."""
    code = ("import logging, warnings\n"
            + ("logging.basicConfig(format='other: %(message)s')\n" if configured else "")
            + "from connectivity.areas.run import area_logs, worker_logging\n"
            "worker_logging()\n"
            "with area_logs('Town 1') as warned:\n" + body + "print(warned)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stderr.strip().splitlines(), r.stdout.strip()


@pytest.mark.parametrize("configured", [False, True])
def test_worker_prints_warnings_as_the_command_line_does(configured):
    """A Dask worker nobody set up logging in prints the package's warnings with the command line's
    prefix (not Python's bare last-resort lines); a process with logging set up is left alone."""
    log = "    logging.getLogger('connectivity.network')"
    err, warned = _in_a_fresh_worker(configured, f"{log}.warning('road network has %d components', 3)\n"
                                                 f"{log}.info('not shown')\n")
    expected = ("other: " if configured else "connectivity: WARNING: ") + "Town 1: road network has 3 components"
    assert err == [expected]
    assert warned == "['road network has 3 components']"


@pytest.mark.parametrize("key, frame, words", [
    ("buildings", {"name": ["road"], "geometry": [shapely.LineString([(98.96, 18.79), (98.961, 18.79)])]},
     ["row 1", "buildings must be polygons or points", "LineString"]),
    ("poles", {"kind": ["pole"], "geometry": [shapely.Point(98.96, 18.79)]}, ["missing column `owner`"]),
    ("sites", {"site_id": ["s1", "s1"], "operator": ["NT", "NT"],
               "geometry": [shapely.Point(98.96, 18.79), shapely.Point(98.962, 18.79)]},
     ["row 2", "duplicate site_id 's1'"]),
])
def test_bad_vector_input_exits_2_up_front_with_one_line(fixtures, tmp_path, key, frame, words):
    """A bad row in one of the scenario's vector inputs is found when plan-areas reads the file (once,
    with the checks of ``connectivity plan``): one line naming file and row, exit code 2, no area
    planned and nothing written; not a failure of every area (exit code 3)."""
    bad = tmp_path / f"bad_{key}.geojson"
    gpd.GeoDataFrame(frame, crs="EPSG:4326").to_file(bad)
    scenario = tmp_path / "bad.toml"
    scenario.write_text((fixtures / "tiny.toml").read_text()
                        .replace('"tiny.osm"', json.dumps(str(fixtures / "tiny.osm")))
                        .replace('"operators.toml"', json.dumps(str(fixtures / "operators.toml")) + f"\n{key} = "
                                 + json.dumps(str(bad))))
    areas = write_areas(tmp_path / "areas.geojson", TINY_AREAS)
    out = tmp_path / "out"
    code, err = run_cli_captured(["plan-areas", str(scenario), "--areas", str(areas), "--out", str(out), "--serial"])
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("connectivity: error:") and str(bad) in lines[0], lines
    for w in words:
        assert w in lines[0]
    assert not out.exists()


def test_rerun_after_a_kill_resumes_past_its_temporary_folders(fixtures, tmp_path):
    """A run killed while it wrote an area folder (or the national files) leaves hidden temporary
    folders: the next run into the same --out accepts them, removes them and completes."""
    areas = write_areas(tmp_path / "areas.geojson", TINY_AREAS)
    out = tmp_path / "out"
    plan_areas(fixtures / "tiny.toml", areas, out, workers=0, margin_m=100)
    before = (out / "areas.csv").read_bytes()
    killed = [out / ".East.abcd1234.tmp", out / WORK_FOLDER / ".files.abcd1234.tmp"]
    for k in killed:
        k.mkdir()
        (k / "summary.json").write_text("{")   # half written
    plan_areas(fixtures / "tiny.toml", areas, out, workers=0, margin_m=100)
    assert not any(k.exists() for k in killed)
    assert (out / "areas.csv").read_bytes() == before


def test_national_files_are_written_all_or_none(fixtures, tmp_path, monkeypatch):
    """A failure while the national files are written (here: the overview map, as on a full disk)
    leaves those of the run before as they were, none half-written nor from two runs."""
    from connectivity.areas import national

    areas = write_areas(tmp_path / "areas.geojson", TINY_AREAS)
    out = tmp_path / "out"
    plan_areas(fixtures / "tiny.toml", areas, out, workers=0, margin_m=100)
    before = {n: (out / n).read_bytes() for n in NATIONAL}
    (out / "areas.csv").write_bytes(b"the earlier run's\n")   # a rerun would write it anew
    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(national, "write_overview", disk_full)
    with pytest.raises(OSError):
        plan_areas(fixtures / "tiny.toml", areas, out, workers=0, margin_m=100, force=True)
    assert (out / "areas.csv").read_bytes() == b"the earlier run's\n"
    assert all((out / n).read_bytes() == before[n] for n in NATIONAL if n != "areas.csv")
    # West holds no site: failed (no sites to connect) before anything was written
    assert sorted(p.name for p in out.iterdir()) == sorted([WORK_FOLDER, "East", *NATIONAL, "timings.json"])


def test_an_area_the_machine_fails_is_one_line_without_traceback(fixtures, tmp_path, monkeypatch, caplog):
    """An OSError while an area is planned or written (a full disk, no permission) is the area's
    one-line reason; it is no internal error and logs no traceback."""
    import logging

    from connectivity import pipeline

    def full(plan, folder, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pipeline, "write_outputs", full)
    areas = write_areas(tmp_path / "areas.geojson", TINY_AREAS)
    with caplog.at_level(logging.ERROR):
        run = plan_areas(fixtures / "tiny.toml", areas, tmp_path / "out", workers=0, margin_m=100)
    assert [(r["status"], r["reason"]) for r in run.results][0] == ("failed", "East: No space left on device")
    assert "no sites to connect" in run.results[1]["reason"]   # West holds no site: failed before writing
    assert not any("Traceback" in r.getMessage() for r in caplog.records)


def test_a_scheduler_that_does_not_answer_leaves_no_output_folder(fixtures, tmp_path):
    areas = write_areas(tmp_path / "areas.geojson", TINY_AREAS)
    code, err = run_cli_captured(["plan-areas", str(fixtures / "tiny.toml"), "--areas", str(areas),
                                  "--out", str(tmp_path / "out"), "--scheduler", "not a url", "--margin", "100"])
    assert code == 2 and "no Dask scheduler answers" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_a_web_server_as_scheduler_is_one_line_and_leaves_no_output_folder(fixtures, tmp_path, web_server_address):
    """--scheduler at a port where a web server answers (the dashboard's): Dask read the reply as a
    frame length of exbibytes (internal error: MemoryError, exit 1) and left the cut inputs in --out."""
    areas = write_areas(tmp_path / "areas.geojson", TINY_AREAS)
    code, err = run_cli_captured(["plan-areas", str(fixtures / "tiny.toml"), "--areas", str(areas), "--out",
                                  str(tmp_path / "out"), "--scheduler", web_server_address, "--margin", "100"])
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"--scheduler {web_server_address}: no Dask scheduler answers (another program answers there" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("extra, words", [
    ('cost_model = "costs.toml"', ["costs.toml", "[currency] unknown key(s) name"]),
    ('\n[rent]\noperators = { ACME = 100.0 }', ["tiny.toml", "rent.operators.ACME", "unknown operator"]),
])
def test_bad_cost_model_or_rent_exits_2_up_front(fixtures, tmp_path, extra, words):
    """The checks `connectivity plan` makes before its long work (cost model, [rent]) are made once
    up front: one line, exit 2, no output folder; not a failure of every area."""
    for name in ("tiny.osm", "operators.toml"):
        shutil.copy(fixtures / name, tmp_path / name)
    (tmp_path / "costs.toml").write_text('[currency]\nname = "THB"\n')
    text = (fixtures / "tiny.toml").read_text()
    text = text.replace('operators = "operators.toml"', 'operators = "operators.toml"\n' + extra) if "cost_model" in extra \
        else text + extra + "\n"
    (tmp_path / "tiny.toml").write_text(text)
    areas = write_areas(tmp_path / "areas.geojson", TINY_AREAS)
    code, err = run_cli_captured(["plan-areas", str(tmp_path / "tiny.toml"), "--areas", str(areas),
                                  "--out", str(tmp_path / "out"), "--serial", "--margin", "100"])
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert all(w in err for w in words), err
    assert not (tmp_path / "out").exists()


def test_osm_split_keeps_ways_of_nodes_with_negative_ids(tmp_path):
    """Unsaved JOSM edits have negative ids, which pyosmium's location cache does not keep: the
    split still gives each area the ways using them, with their nodes' locations."""
    from connectivity import load
    from connectivity.areas.split import Area, buffered, split_osm

    street = [(-1, 98.9600, 18.7895), (-2, 98.9650, 18.7895), (3, 98.9705, 18.7895)]
    nodes = "".join(f'<node id="{i}" lat="{y}" lon="{x}"/>' for i, x, y in street)
    osm = (f'<?xml version="1.0" encoding="UTF-8"?><osm version="0.6">{nodes}'
           '<way id="-11"><nd ref="-1"/><nd ref="-2"/><nd ref="3"/><tag k="highway" v="residential"/></way></osm>')
    (tmp_path / "edits.osm").write_text(osm)
    areas = [Area("All", "All", shapely.box(98.9590, 18.7880, 98.9750, 18.7950))]
    split_osm(tmp_path / "edits.osm", areas, [buffered(a, 10.0) for a in areas], tmp_path)
    roads = load.read_osm(tmp_path / "All" / "roads.osm.pbf").roads
    assert list(roads["osm_id"]) == ["way/-11"]
    assert {xy for g in roads.geometry for xy in g.coords} == {(x, y) for _, x, y in street}


def test_plan_areas_waits_for_a_scheduler_as_long_as_plan_does(monkeypatch):
    """--scheduler where nothing listens: plan-areas waited Dask's default 30 s, plan 10 s; both
    now wait SCHEDULER_TIMEOUT_S, and say so in one line."""
    import distributed

    from connectivity.areas import run as area_run
    from connectivity.errors import ConfigError

    asked = []

    def no_cluster(address, **kw):
        asked.append(kw.get("timeout"))
        raise OSError("timed out")

    monkeypatch.setattr(distributed, "Client", no_cluster)
    with pytest.raises(ConfigError, match="tcp://127.0.0.1:1: no Dask scheduler answers"):
        area_run.Workers(scheduler="tcp://127.0.0.1:1").client()
    with pytest.raises(ConfigError, match="no Dask scheduler answers"):
        with area_run.dask_executor("tcp://127.0.0.1:1"):
            pass
    assert asked == [f"{area_run.SCHEDULER_TIMEOUT_S:g}s"] * 2


def test_local_cluster_workers_are_forked_from_a_server_that_loaded_the_pipeline():
    """Each worker of the local cluster is forked from multiprocessing's fork server, which imported
    the pipeline and what its outputs use (GDAL through pyogrio, h3) before forking: a worker starts with them
    loaded instead of importing them itself."""
    import psutil

    from connectivity.areas.run import Workers

    pool = Workers(workers=1)
    try:
        client = pool.client()

        def parent() -> int:
            import os
            return os.getppid()

        server = psutil.Process(next(iter(client.run(parent).values())))
        assert server.pid != os.getpid() and "forkserver" in " ".join(server.cmdline())
        libraries = " ".join(m.path for m in server.memory_maps())
        assert "pyogrio" in libraries and "h3" in libraries, libraries[:500]
    finally:
        pool.close()


@pytest.mark.parametrize("existing", [False, True], ids=["new-out", "earlier-out"])
def test_corridor_mode_scenario_is_refused_up_front(tmp_path, existing):
    """A scenario in corridor mode is one corridor project: plan-areas refuses it before any work
    (one line naming the scenario, exit 2), and neither creates nor changes the output folder
    (cut into areas, the corridor streets of a shared margin were planned and counted twice)."""
    from connectivity.config import example_scenario

    scenario = example_scenario("chiang_mai_corridor").resolve()
    areas = write_areas(tmp_path / "areas.geojson", [("West", (98.9516, 18.7880, 98.9620, 18.8086)),
                                                     ("East", (98.9620, 18.7880, 98.9745, 18.8086))])
    out = tmp_path / "out"
    if existing:
        out.mkdir()
        (out / "timings.json").write_text("{}\n")
    code, err = run_cli_captured(["plan-areas", str(scenario), "--areas", str(areas), "--out", str(out), "--serial"])
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert lines[0] == (f"connectivity: error: {scenario}: plan-areas does not cut corridor mode ([corridors]) "
                        "into areas: plan the corridor with `connectivity plan`")
    if existing:
        assert sorted(p.name for p in out.iterdir()) == ["timings.json"] and (out / "timings.json").read_text() == "{}\n"
    else:
        assert not out.exists()


@pytest.mark.parametrize("layers, chosen", [
    ([("points", "Point"), ("areas", "Polygon")], "areas"),            # the one polygon layer
    ([("districts", "Polygon"), ("areas", "Polygon")], "areas"),       # of several polygon layers, the one named `areas`
])
def test_areas_geopackage_of_several_layers_is_read_at_the_areas_layer(tmp_path, layers, chosen):
    """A GeoPackage of several layers is read at the layer of the right geometry (polygons), or at the
    one named like the input (`areas`), as the scenario's inputs are (load.choose_layer)."""
    path = tmp_path / "areas.gpkg"
    for layer, kind in layers:
        geoms = [shapely.Point(0.5, 0.5), shapely.Point(1.5, 0.5)] if kind == "Point" else \
            [shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)]
        names = [f"{layer} {k}" for k in ("B", "A")]
        gpd.GeoDataFrame({"name": names}, geometry=geoms, crs="EPSG:4326").to_file(path, layer=layer)
    assert [a.name for a in read_areas(path)] == [f"{chosen} A", f"{chosen} B"]


def test_areas_geopackage_of_two_polygon_layers_none_named_areas_is_one_line_error(tmp_path):
    path = tmp_path / "regions.gpkg"
    for layer in ("districts", "provinces"):
        gpd.GeoDataFrame({"name": ["A"]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:4326").to_file(path, layer=layer)
    with pytest.raises(InputDataError) as exc:
        read_areas(path)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith(f"{path}: 2 layers found: districts (Polygon), provinces (Polygon)")
    assert "name it 'areas'" in msg


def test_sites_in_no_area_are_named(fixtures, tmp_path, caplog):
    """Sites of the scenario's sites file outside every area (or in a hole) are planned by no area: one
    warning names them, when the inputs are cut, and the areas get only their own."""
    from connectivity.areas.split import buffered, read_areas, vector_parts
    from connectivity.config import load_scenario

    sites = tmp_path / "sites.geojson"
    gpd.GeoDataFrame({"site_id": ["in_east", "in_west", "far"], "operator": ["TOT", "TOT", "CAT"],
                      "geometry": [shapely.Point(98.962, 18.791), shapely.Point(98.960, 18.791),
                                   shapely.Point(98.990, 18.791)]}, crs="EPSG:4326").to_file(sites)
    scenario = tmp_path / "s.toml"
    scenario.write_text((fixtures / "tiny.toml").read_text()
                        .replace('"tiny.osm"', json.dumps(str(fixtures / "tiny.osm")))
                        .replace('"operators.toml"', json.dumps(str(fixtures / "operators.toml"))
                                 + "\nsites = " + json.dumps(str(sites))))
    areas = read_areas(write_areas(tmp_path / "areas.geojson", TINY_AREAS))
    with caplog.at_level("WARNING", logger="connectivity.areas"):
        inputs, rows = vector_parts(load_scenario(scenario), areas, [buffered(a, 100.0) for a in areas])
    assert [inputs["sites"]["site_id"].iloc[r["sites"]].tolist() for r in rows] == [["in_east"], ["in_west"]]
    assert f"{sites}: 1 of 3 site(s) lie in no area of the areas file, so no area plans them: far" in caplog.text


@pytest.mark.parametrize("configured", [False, True])
def test_a_library_warning_while_planning_an_area_is_one_line_of_that_area(configured):
    """A Python warning raised while an area is planned (geopandas on a mixed column) is one log line
    with the area's name, in the worker's stderr and in the area's warnings for ``areas.csv``; not
    Python's two lines with a source line."""
    err, warned = _in_a_fresh_worker(configured, "    warnings.warn('Could not parse column  as JSON', UserWarning)\n")
    line = "Town 1: UserWarning: Could not parse column as JSON"
    assert err == [("other: " if configured else "connectivity: WARNING: ") + line]
    assert warned == "['UserWarning: Could not parse column as JSON']"
