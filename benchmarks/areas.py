"""Many areas at once on Dask (issue #14): 8 synthetic areas of ~20k road edges, serially and on 2 workers.

Targets (this 2-core machine): the 8 areas on 2 workers in <= 0.6x the serial wall time; the
peak memory of each worker within the single-area figure; identical national files.

What it does:

1. writes 8 synthetic towns (:mod:`benchmarks.towns`, seeds 0-7, ``--edges`` road edges and
   ``--sites`` sites each, plus a hub per operator as a site) side by side, 15 km apart, into
   one road file (GeoPackage, UTM 47N), one sites CSV and one scenario TOML, and an areas file
   of 8 rectangles, one around each town;
2. runs ``connectivity plan-areas`` serially (``--serial``) and on a ``LocalCluster`` of 2
   worker processes (``--workers 2``), each in a subprocess of this checkout (``PYTHONPATH``),
   sampling the RSS and CPU seconds of every process of its tree every 0.2 s (psutil) for the peak
   per process and the CPU seconds of the tree (or ``RUSAGE_CHILDREN``, where more: it misses the
   workers a fork server forks, sampling misses the last 0.2 s of each process); with ``--baseline DIR`` the same two
   runs of another checkout too, interleaved (serial, base serial, Dask, base Dask), so that a
   before/after comes from one run on the same load;
3. runs ``connectivity plan`` on the largest area's clipped scenario (the single-area figure:
   wall, CPU and peak RSS) and measures the floors under it: the RSS of a plain process and of
   an idle Dask worker, each after importing the pipeline and loading the compiled kernels;
4. prints wall and CPU seconds, the ratio, peak RSS per worker against the single area, whether
   the national files are byte-identical, the Dask run's split / areas / national seconds and
   the areas' CPU seconds serially and on the workers, and a paper estimate for the 74 PEA
   provinces on N workers from the measured seconds per area.

Run::

    python benchmarks/areas.py                      # 8 x 20k edges: about 30 min on 2 cores
    python benchmarks/areas.py --one-thread         # and a serial run at CONNECTIVITY_THREADS=1
    python benchmarks/areas.py --edges 3000 --sites 60   # a quick check
    base="$(mktemp -d)" && git archive 8fe45e8 | tar -x -C "$base" && python benchmarks/areas.py --baseline "$base"

The machine may be shared with other jobs: ``cpu_s`` against ``wall_s`` shows the waiting.

Run of 2026-11-26 17:18 (8 x 20k, load average 4.5-6.5 from other jobs on the 2 cores)::

    8 towns of 20000 edges / 300 sites written in 7 s
    run            wall_s    cpu_s     peak RSS MiB (main / biggest procs)
    single           23.2     11.2    358 / []
    serial          288.0     92.3    392 / []
    dask            218.8    120.0    290 / [466, 447, 15]
    ratio 2 workers / serial: 0.76 (target <= 0.6) NOT MET
    peak RSS per worker 466, 447 MiB vs single area 358 MiB: ABOVE (10 % slack)
    summary.json / areas.csv identical serial vs 2 workers: {'summary.json': True, 'areas.csv': True}
    seconds per area (serial, in-process): mean 33.9, min 21.7, max 53.0; split 9.4 s

Run of 17:35, areas handed out largest first (load average 4.2-6.8)::

    single           29.1     13.3    358 / []
    serial          333.2     99.5    392 / []
    dask            234.9    125.8    304 / [452, 451, 15]
    ratio 2 workers / serial: 0.70 (target <= 0.6) NOT MET
    seconds per area (serial, in-process): mean 39.4, min 26.5, max 61.4; split 10.6 s

Run of 20:38, ``--baseline`` 8fe45e8 (cluster started during the cut, warmed workers, no worker
profiler, no nanny MALLOC_TRIM_THRESHOLD_, heap trimmed per area, one-pass OSM split; load
average 3.6-5.3 from other jobs)::

    run                wall_s    cpu_s     peak RSS MiB (main / biggest procs)
    single               19.4     12.8    348 / []
    serial              124.0     91.4    419 / []
    base serial         130.7     91.4    421 / []
    dask                158.4    120.3    331 / [433, 431, 15]
    base dask           146.5    126.2    321 / [491, 483, 15]
    this ratio 2 workers / serial: 1.28 (target <= 0.6) NOT MET; CPU 120.3 s vs 91.4 s (+28.9)
    base ratio 2 workers / serial: 1.12 (target <= 0.6) NOT MET; CPU 126.2 s vs 91.4 s (+34.8)
    floors after imports and warm-up: plain process 231 MiB, idle Dask worker 262 MiB (+31)
    2 workers: split 16.3 s, areas 136.8 s, national files 3.9 s; area CPU s serial 84.8 vs on workers 99.7

Runs of 23:03 and 23:23, ``--baseline`` 6c4341e ``--one-thread`` (areas handed out as they are
cut, warm-up with the outputs' imports; load average 2.2-4.0 from other jobs)::

    run                wall_s    cpu_s     peak RSS MiB (main / biggest procs)
    serial         94.8 / 91.0   94.2 / 100.5
    base serial   110.2 / 105.2 105.2 / 104.2
    dask           96.7 / 139.8 111.4 / 139.7   [388, 387] / [390, 388]
    base dask     107.5 / 135.3 112.7 / 148.4   [388, 387] / [392, 387]
    serial 1 thr   95.9 / 105.0  90.8 / 104.2
    single area    14.2 / 15.4   360 / 361 MiB
    areas' CPU s (process / task thread): serial 87.0/33.8, 94.3/35.8; serial 1 thread 84.1/84.1,
    95.9/95.9; on 2 workers 89.7/86.7, 113.9/108.2

Run of 2026-11-27 11:20 at 6a041ab, idle machine (load average about 1)::

    run                wall_s    cpu_s     peak RSS MiB (main / biggest procs)
    single                9.6     12.5    355 / []
    serial               64.2     82.9    455 / []
    dask                 53.3    103.1    331 / [394, 391, 15]
    ratio 2 workers / serial: 0.83 (target <= 0.6) NOT MET
    floors: plain process 274 MiB, idle Dask worker 305 MiB (+32); above them: single area 81 MiB, worker 88 MiB
    2 workers: split 6.0 s, areas 44.8 s more, national files 1.6 s; areas' CPU s serial 76.4 / 28.2 (task
    thread), on 2 workers 86.4 / 84.8; seconds per area (serial, in-process) mean 7.2

The serial run keeps 1.3 cores busy (its design stage's solves run on 2 threads), so 2 workers
can at best halve its CPU seconds: a ratio of about 0.65 before any overhead. At 11:42 a run with
``--baseline`` tried ``distributed.scheduler.worker-saturation = 1.0`` (no queued area's inputs
on a worker): worker peaks 386 / 386 MiB against 387 / 385 MiB without; not kept. Ratios 0.70
and 0.68 in that run (a slower host: the single area took 10.9 s).

Run of 2026-11-27 22:10 with ``--baseline`` 341a2ad (idle): workers forked from a fork server that
imported the pipeline once (before: each worker a fresh interpreter importing it)::

    run                wall_s    cpu_s     peak RSS MiB (main / biggest procs)
    single                4.7      6.1    350 / []
    serial               36.7     46.7    457 / []
    base serial          36.0     46.0    456 / []
    dask                 25.9     48.8    327 / [345, 334, 234, 15]
    base dask            27.0     51.9    330 / [391, 374, 15]
    this ratio 2 workers / serial: 0.70 (target <= 0.6) NOT MET; CPU 48.8 s vs 46.7 s (+2.2)
    base ratio 2 workers / serial: 0.75 (target <= 0.6) NOT MET; CPU 51.9 s vs 46.0 s (+5.9)

(234 MiB: the fork server itself.) A second run at 23:06 (same command): dask 27.0 s, base dask
26.6 s, serial 34.9 / base 36.1 s: ratio 0.77 against 0.74, so the wall time did not change beyond
run-to-run noise; worker peaks 335, 334 MiB against 394, 391 MiB (single area 343 MiB). With
``--one-thread`` at about 23:00: serial 35.4 s, dask 26.4 s, serial on one thread 43.8 s (0.60 of it).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from towns import CRS, make_town  # noqa: E402

PITCH_M = 15_000.0  # towns are placed this far apart (a 20k town is about 12.4 km wide)
PEA_PROVINCES = 74


def make_country(folder: Path, *, n_areas: int, edges: int, sites: int) -> tuple[Path, Path]:
    """Write ``n_areas`` towns side by side: ``roads.gpkg``, ``sites.csv``, ``country.toml``, ``areas.geojson``."""
    import geopandas as gpd
    import pandas as pd
    import shapely
    from pyproj import Transformer

    roads, site_rows, boxes = [], [], []
    to_utm = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    for k in range(n_areas):
        town = make_town(folder / f"town{k}", edges_target=edges, n_sites=sites, seed=k, details=True)
        dx, dy = (k % 4) * PITCH_M, (k // 4) * PITCH_M
        r = gpd.read_file(town.roads)
        r["geometry"] = r.geometry.translate(dx, dy)
        roads.append(r)
        s = pd.read_csv(town.sites)
        s["site_id"] = [f"T{k}-{v}" for v in s["site_id"]]
        s["x"], s["y"] = (s["x"] + dx).round(2), (s["y"] + dy).round(2)
        hubs = {}
        for line in town.scenario.read_text().split("[hubs]")[1].strip().splitlines():
            op, xy = line.split(" = ")
            hubs[op.strip()] = json.loads(xy)
        for op, (lon, lat) in hubs.items():
            x, y = to_utm.transform(lon, lat)
            s.loc[len(s)] = {"site_id": f"T{k}-{op}-hub", "operator": op, "kind": "hub", "name": f"{op} hub {k}",
                             "x": round(x + dx, 2), "y": round(y + dy, 2)}
        site_rows.append(s)
        x0, y0, x1, y1 = r.total_bounds
        boxes.append(shapely.box(x0 - 300, y0 - 300, x1 + 300, y1 + 300))
    gpd.GeoDataFrame(pd.concat(roads, ignore_index=True), crs=CRS).to_file(folder / "roads.gpkg")
    pd.concat(site_rows, ignore_index=True).to_csv(folder / "sites.csv", index=False)
    (folder / "operators.toml").write_bytes((folder / "town0" / "operators.toml").read_bytes())
    scenario = folder / "country.toml"
    scenario.write_text(
        f'name = "Synthetic country: {n_areas} towns of {edges} edges"\nprovince = "Chiang Mai"\n\n'
        f'[inputs]\nroads = "roads.gpkg"\nsites = "sites.csv"\ncrs = "{CRS}"\noperators = "operators.toml"\n\n'
        f'[options]\ncrs = "{CRS}"\nmax_site_distance_m = 250.0\nnode_tolerance_m = 1.0\n')
    areas = folder / "areas.geojson"
    gpd.GeoDataFrame({"name": [f"Town {k}" for k in range(n_areas)]}, geometry=boxes, crs=CRS).to_crs(
        "EPSG:4326").to_file(areas)
    return scenario, areas


class TreeSampler:
    """Peak RSS (MiB) of every process of a tree, sampled every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.2):
        import psutil

        self.root = psutil.Process(pid)
        self.peaks: dict[int, float] = {}
        self.cpu: dict[int, float] = {}   # CPU seconds (user + system) of each process at its last sample
        self.names: dict[int, str] = {}
        self.total_peak = 0.0
        self.interval = interval
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                procs = [self.root] + self.root.children(recursive=True)
            except psutil.Error:
                break
            total = 0.0
            for p in procs:
                try:
                    rss = p.memory_info().rss / 2**20
                    times = p.cpu_times()
                    self.cpu[p.pid] = times.user + times.system
                    if p.pid not in self.names:
                        self.names[p.pid] = " ".join(p.cmdline()[:6])
                except psutil.Error:
                    continue
                total += rss
                self.peaks[p.pid] = max(self.peaks.get(p.pid, 0.0), rss)
            self.total_peak = max(self.total_peak, total)
            time.sleep(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join()


def run(args: list[str], label: str, *, code: Path = REPO, env: dict | None = None) -> dict:
    """Run the CLI of the checkout ``code`` in a subprocess: wall and CPU seconds, peak RSS per process."""
    env = {**os.environ, **(env or {}), "PYTHONPATH": str(code)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "connectivity.cli", *map(str, args)], cwd=code, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = TreeSampler(proc.pid)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    sampler.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # the reaped processes' CPU seconds, or those sampled over the tree where more (workers forked by a
    # fork server are never reaped by this process)
    cpu = max((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), sum(sampler.cpu.values()))
    if proc.returncode not in (0, 3):
        print(f"{label}: exit {proc.returncode}\n{err[-2000:]}", file=sys.stderr)
    workers = sorted((v for pid, v in sampler.peaks.items() if "spawn_main" in sampler.names.get(pid, "")
                      or "multiprocessing" in sampler.names.get(pid, "")), reverse=True)
    return {"label": label, "code": proc.returncode, "wall_s": wall, "cpu_s": cpu,
            "rss_main_mib": sampler.peaks.get(proc.pid, float("nan")), "rss_procs_mib": workers,
            "rss_tree_mib": sampler.total_peak, "stderr": err}


BARE = """
import json, os, sys, psutil
mib = lambda: psutil.Process().memory_info().rss / 2**20
import connectivity.pipeline
from connectivity.areas.run import warm_up
warm_up()
plain = mib()
from distributed import LocalCluster, Client
with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
        Client(cluster) as client:
    client.submit(warm_up, pure=False).result()
    worker = list(client.run(mib).values())[0]
print(json.dumps({"plain": plain, "worker": worker}))
"""


def bare_rss() -> dict:
    """RSS (MiB) of a plain Python process and of an idle ``LocalCluster`` worker, each after importing
    the pipeline and loading the compiled kernels (``areas.run.warm_up``): the floors under one
    area's and under a worker's peak."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", BARE], env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def largest_area(inputs: Path) -> Path:
    """The scenario of the area with the largest clipped inputs (the one handed out first)."""
    sizes = {d: sum(f.stat().st_size for f in d.iterdir()) for d in inputs.iterdir() if d.is_dir()}
    return max(sorted(sizes), key=sizes.get) / "scenario.toml"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--areas", type=int, default=8)
    ap.add_argument("--edges", type=int, default=20_000)
    ap.add_argument("--sites", type=int, default=300)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", help="write into this folder and keep it")
    ap.add_argument("--one-thread", action="store_true",
                    help="also a serial run with CONNECTIVITY_THREADS=1 (the workers' setting): the areas' CPU "
                         "seconds without the design stage's own threads")
    ap.add_argument("--baseline", metavar="DIR",
                    help="another checkout (e.g. `git worktree add` of an earlier commit): its serial and "
                         "Dask runs are made too, interleaved with this checkout's, for a before/after of one run")
    a = ap.parse_args(argv)
    tmp = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="areas-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    scenario, areas = make_country(tmp / "country", n_areas=a.areas, edges=a.edges, sites=a.sites)
    print(f"{a.areas} towns of {a.edges} edges / {a.sites} sites written in {time.perf_counter() - t0:.0f} s -> {tmp}")
    codes = {"": REPO} | ({"base ": Path(a.baseline).resolve()} if a.baseline else {})
    runs: dict[str, dict] = {}
    for kind in ("serial", "dask"):
        for tag, code in codes.items():
            label = f"{tag}{kind}"
            how = ["--serial"] if kind == "serial" else ["--workers", a.workers]
            runs[label] = run(["plan-areas", scenario, "--areas", areas, "--out", tmp / label.replace(" ", "-"),
                               *how, "--force"], label, code=code)
            print(f"{label}: {runs[label]['wall_s']:.1f} s wall, {runs[label]['cpu_s']:.1f} s CPU", flush=True)
    if a.one_thread:
        runs["serial 1 thread"] = run(["plan-areas", scenario, "--areas", areas, "--out", tmp / "serial-1", "--serial",
                                       "--force"], "serial 1 thread", env={"CONNECTIVITY_THREADS": "1",
                                                                           "NUMBA_NUM_THREADS": "1"})
        print(f"serial 1 thread: {runs['serial 1 thread']['wall_s']:.1f} s wall, "
              f"{runs['serial 1 thread']['cpu_s']:.1f} s CPU", flush=True)
    big = largest_area(tmp / "serial" / ".inputs")
    single = run(["plan", big, "--out", tmp / "single", "-q"], "single")
    print(f"single area ({big.parent.name}, the largest): {single['wall_s']:.1f} s wall, "
          f"{single['rss_main_mib']:.0f} MiB", flush=True)
    bare = bare_rss()
    serial, dask = runs["serial"], runs["dask"]

    same = {n: (tmp / "serial" / n).read_bytes() == (tmp / "dask" / n).read_bytes()
            for n in ("summary.json", "areas.csv", "ducts.gpkg", "overview.html")}
    timings = json.loads((tmp / "serial" / "timings.json").read_text())
    per_area = list(timings["areas"].values())
    summary = json.loads((tmp / "serial" / "summary.json").read_text())
    edges = [r.get("trench_km") for r in summary["per_area"]]
    print()
    print(f"areas planned: {summary['areas_ok']}/{summary['areas']}; trench km per area: {edges}")
    print(f"{'run':<16}{'wall_s':>9}{'cpu_s':>9}{'peak RSS MiB (main / biggest procs)':>40}")
    for r in (single, *runs.values()):
        procs = ", ".join(f"{v:.0f}" for v in r["rss_procs_mib"][:4])
        print(f"{r['label']:<16}{r['wall_s']:>9.1f}{r['cpu_s']:>9.1f}    {r['rss_main_mib']:.0f} / [{procs}]")
    for tag in codes:
        s, d = runs[f"{tag}serial"], runs[f"{tag}dask"]
        ratio = d["wall_s"] / s["wall_s"]
        peaks = d["rss_procs_mib"][: a.workers]
        print(f"{tag or 'this '}ratio {a.workers} workers / serial: {ratio:.2f} (target <= 0.6) "
              f"{'MET' if ratio <= 0.6 else 'NOT MET'}; CPU {d['cpu_s']:.1f} s vs {s['cpu_s']:.1f} s "
              f"(+{d['cpu_s'] - s['cpu_s']:.1f}); peak RSS per worker {', '.join(f'{v:.0f}' for v in peaks)} MiB")
    if a.one_thread:   # the serial run keeps its design stage's second thread busy; this one does not
        one = runs["serial 1 thread"]
        print(f"ratio {a.workers} workers / serial on one thread: {dask['wall_s'] / one['wall_s']:.2f} "
              f"({dask['wall_s']:.1f} s / {one['wall_s']:.1f} s)")
    worker_peaks = dask["rss_procs_mib"][: a.workers]
    print(f"single area (largest) {single['rss_main_mib']:.0f} MiB; worker peak {max(worker_peaks, default=0):.0f} MiB: "
          f"{'within' if max(worker_peaks, default=0) <= single['rss_main_mib'] * 1.1 else 'ABOVE'} (10 % slack)")
    print(f"floors after imports and warm-up: plain process {bare['plain']:.0f} MiB, idle Dask worker "
          f"{bare['worker']:.0f} MiB (+{bare['worker'] - bare['plain']:.0f}); above them: single area "
          f"{single['rss_main_mib'] - bare['plain']:.0f} MiB, worker {max(worker_peaks, default=0) - bare['worker']:.0f} MiB")
    print(f"national files identical serial vs {a.workers} workers: {same}")
    dt = json.loads((tmp / "dask" / "timings.json").read_text())
    print(f"{a.workers} workers: split {dt.get('split_seconds', 0):.1f} s (the first areas planned meanwhile), "
          f"areas {dt.get('areas_seconds', 0):.1f} s more, national files {dt.get('national_seconds', 0):.1f} s")

    def cpu(folder: str, key: str) -> str:
        path = tmp / folder / "timings.json"
        if not path.is_file():
            return "-"
        vals = json.loads(path.read_text()).get(key) or {}
        return f"{sum(v or 0 for v in vals.values()):.1f}" if vals and None not in vals.values() else "-"

    print("areas' CPU s (process / task thread alone): serial " + f"{cpu('serial', 'areas_cpu')} / "
          f"{cpu('serial', 'areas_thread_cpu')}" + (f", serial 1 thread {cpu('serial-1', 'areas_cpu')} / "
                                                       f"{cpu('serial-1', 'areas_thread_cpu')}" if a.one_thread else "")
          + f", on {a.workers} workers {cpu('dask', 'areas_cpu')} / {cpu('dask', 'areas_thread_cpu')}")
    mean = sum(per_area) / len(per_area)
    print(f"seconds per area (serial, in-process): mean {mean:.1f}, min {min(per_area):.1f}, max {max(per_area):.1f}; "
          f"split {timings['split_seconds']:.1f} s")
    print(f"\npaper estimate, {PEA_PROVINCES} PEA provinces, each cut into k areas of ~{a.edges} edges "
          f"({mean:.0f} s each, as measured here), makespan ceil({PEA_PROVINCES} k / N) x {mean:.0f} s:")
    print(f"{'N workers':>10}" + "".join(f"{f'k={k}':>12}" for k in (1, 5, 10)))
    for n in (2, 8, 32, 74, 256):
        cells = "".join(f"{_hours(math.ceil(PEA_PROVINCES * k / n) * mean):>12}" for k in (1, 5, 10))
        print(f"{n:>10}{cells}")
    return 0


def _hours(s: float) -> str:
    return f"{s / 3600:.1f} h" if s >= 3600 else f"{s / 60:.0f} min"


if __name__ == "__main__":
    sys.exit(main())
