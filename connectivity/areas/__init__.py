"""Many areas planned at once (provinces, municipalities, zones), on Dask: ``plan_areas``.

The sequence of a national run, downstream of :mod:`connectivity.pipeline` (each area is
planned by ``pipeline.run`` / ``pipeline.write_outputs``, exactly as ``connectivity plan``):

1. :mod:`.split`: read the areas file and the scenario's inputs once; cut the inputs into
   ``DIR/.inputs/<area>/`` with a scenario TOML per area, handing out each area as soon as
   it is cut (largest first);
2. :mod:`.run`: one task per area (plain data in and out), serially or on a Dask cluster,
   each submitted as it comes, so the cluster plans the first areas while the others are cut;
   an area that fails is reported, the others go on; unchanged areas are skipped on a rerun;
3. :mod:`.national`: ``areas.csv``, ``summary.json``, ``ducts.gpkg``, ``overview.html``.
"""
from __future__ import annotations

import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from connectivity.areas.split import DEFAULT_MARGIN_M, NATIONAL_FILES, WORK_FOLDER, Area, read_areas

__all__ = ["plan_areas", "AreasRun", "Area", "read_areas", "DEFAULT_MARGIN_M", "NATIONAL_FILES", "WORK_FOLDER"]


@dataclass(frozen=True)
class AreasRun:
    """What :func:`plan_areas` did: the areas, each one's result (in name order) and the files written."""

    areas: list[Area]
    results: list[dict[str, Any]]
    written: list[Path]

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.results if r["status"] != "ok"]


def refuse_corridors(scenario) -> None:
    """Refuse a scenario in corridor mode (``[corridors]``), before any work: the corridor is one
    project, and cut into areas its streets in a shared margin would be planned (and counted) twice.

    Raises
    ------
    ConfigError
        Naming the scenario file.
    """
    from connectivity.errors import ConfigError

    if scenario.corridors is not None:
        raise ConfigError(f"{scenario.path}: plan-areas does not cut corridor mode ([corridors]) into areas: "
                          "plan the corridor with `connectivity plan`")


def check_output(scenario, areas: list[Area], areas_file: Path, out: Path) -> Path:
    """The output-folder guard for a national run (before any work): ``out`` may hold only what a
    national run writes, each existing area folder only what a plan writes."""
    from connectivity.areas.run import AREA_FILE
    from connectivity.atomic import stale_names
    from connectivity.outdir import check_output_folder
    from connectivity.pipeline import PLAN_FILES, scenario_inputs

    own = set(NATIONAL_FILES) | {a.folder for a in areas}
    own |= set(stale_names(out, own))   # area folders a killed run was writing: removed when this one starts
    out = check_output_folder(out, inputs=[*scenario_inputs(scenario), areas_file], own_names=own, what="--out folder")
    for a in areas:
        if (out / a.folder).exists():
            check_output_folder(out / a.folder, own_names=PLAN_FILES | {AREA_FILE}, what=f"area folder {a.folder}")
    return out


def plan_areas(scenario_path: str | Path, areas_file: str | Path, out: str | Path, *, name_column: str = "name",
               margin_m: float = DEFAULT_MARGIN_M, workers: int | None = None, scheduler: str | None = None,
               force: bool = False, report: Callable[[dict[str, Any], int, int], None] | None = None,
               started: Callable[[str], None] | None = None) -> AreasRun:
    """Plan every area of ``areas_file`` with the scenario's inputs and options; write ``out``.

    Parameters
    ----------
    margin_m
        Roads and overhead lines within this distance (metres) outside an area are part of it.
    workers, scheduler
        Where the areas are planned (:func:`connectivity.areas.run.run_tasks`): 0 = serially in
        this process, N = a local Dask cluster of N processes (None: one per CPU), or a scheduler address.
    force
        Replan every area, even those unchanged since an earlier run into ``out``.
    report, started
        Progress callbacks (see ``run_tasks``).

    Raises
    ------
    ConfigError, InputDataError
        On a bad scenario (also one in corridor mode, ``[corridors]``: one corridor project, planned
        by ``connectivity plan``), areas file, input or output folder (before any area is planned).
        An area that fails does not raise: it is ``failed`` in the results and in ``areas.csv``.
    """
    from connectivity.areas import national, split
    from connectivity.areas.run import Workers, run_tasks
    from connectivity.atomic import atomic_files, clean_stale
    from connectivity.config import load_scenario
    from connectivity.errors import ConfigError, InputDataError
    from connectivity.output import write_json
    from connectivity.pipeline import check_scenario

    t0 = time.perf_counter()
    if not (0 <= margin_m < 1e6):
        raise ConfigError(f"--margin must be a distance in metres from 0 to 1,000,000, got {margin_m!r}")
    scenario = load_scenario(scenario_path)
    refuse_corridors(scenario)
    check_scenario(scenario)   # a bad cost model or [rent]: one error up front, not a failure of every area
    areas_file = Path(areas_file)
    areas = read_areas(areas_file, name_column=name_column)
    out = check_output(scenario, areas, areas_file, Path(out))
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    for a in areas:
        clean_stale(out / a.folder)   # what a killed run was writing (it resumes)
    pool = Workers(workers, scheduler)  # the cluster starts and warms up while the inputs are read
    try:
        split_s = time.perf_counter() - t0  # reading and cutting: the first areas are planned meanwhile
        handed: list[int] = []   # areas handed out to be planned

        def tasks():
            nonlocal split_s
            t = time.perf_counter()
            for k, path in split.cut(scenario, areas, out, margin_m=margin_m):
                split_s += time.perf_counter() - t
                handed.append(k)
                yield {"area": areas[k].name, "folder": areas[k].folder, "scenario": str(path), "out": str(out),
                       "force": force}
                t = time.perf_counter()
            split_s += time.perf_counter() - t

        ducts_read: dict[str, Any] = {}
        spans_read: dict[str, Any] = {}

        def done(result: dict[str, Any], count: int, total: int) -> None:
            if report is not None:
                report(result, count, total)
            ducts_read[result["area"]] = national.area_ducts(result, out)  # while the other areas run
            spans_read[result["area"]] = national.area_spans(result, out)

        kwargs = {"started": started} if started is not None else {}
        results = run_tasks(tasks(), pool=pool, total=len(areas), report=done, **kwargs)
        areas_s = time.perf_counter() - t0 - split_s
        closing = threading.Thread(target=pool.close, name="areas-cluster-close", daemon=True)
        closing.start()  # the cluster shuts down while the national files are written
        spans = [spans_read[r["area"]] if r["area"] in spans_read else national.area_spans(r, out) for r in results]
        ducts = national.all_ducts(results, out, ducts_read)
        with atomic_files(out, work=out / WORK_FOLDER) as tmp:   # all national files, or (a full disk) none changed
            written = list(national.write_tables(results, tmp, scenario=scenario.name, areas_file=areas_file.name,
                                                 margin_m=margin_m, overhead_share=national.removed_share(spans)))
            written.append(national.write_ducts(ducts, tmp / "ducts.gpkg"))
            written.append(national.write_overview(results, areas, ducts, national.operators_of(results),
                                                   tmp / "overview.html", title=f"{scenario.name}: {len(areas)} areas"))
        written = [out / p.name for p in written]
        national_s = time.perf_counter() - t0 - split_s - areas_s
        closing.join()
    except (ConfigError, InputDataError):
        # a bad input found before any area is planned, or a cluster that never started: no output folder left
        if created and (not handed or pool.failed):
            shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        pool.close()
    timings = {"seconds": round(time.perf_counter() - t0, 3), "split_seconds": round(split_s, 3),
               "areas_seconds": round(areas_s, 3), "national_seconds": round(national_s, 3),
               "areas": {r["area"]: r["seconds"] for r in sorted(results, key=lambda r: r["area"])},
               "areas_cpu": {r["area"]: r.get("cpu_seconds") for r in sorted(results, key=lambda r: r["area"])},
               "areas_thread_cpu": {r["area"]: r.get("thread_cpu_seconds") for r in sorted(results, key=lambda r: r["area"])}}
    write_json(timings, out / "timings.json")
    written.append(out / "timings.json")
    return AreasRun(areas=areas, results=sorted(results, key=lambda r: r["area"]), written=written)

