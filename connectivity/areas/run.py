"""Planning the areas: one task per area (plain data in and out), run serially or on Dask.

:func:`plan_area` is the task: it plans one area's scenario with the same pipeline functions
as ``connectivity plan`` and writes ``DIR/<area>/`` plus ``area.json`` (the hash of what the
plan was made from). A rerun whose hash is unchanged and whose folder is complete is
skipped. An area that fails is returned with its one-line reason; it never stops the others.

:func:`run_tasks` is the only place that knows Dask: in-process and serial
(``workers=0``), a ``distributed.LocalCluster`` of processes (one thread each), or an
existing cluster (``scheduler`` address). Results come back in the order of the tasks,
whatever the order in which they complete.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
import traceback
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from connectivity.errors import ConfigError

log = logging.getLogger(__name__)

AREA_FILE = "area.json"
# files every plan folder has (coverage_map.html only with coverage, timings.json always)
REQUIRED_FILES = ("ducts.geojson", "sites.geojson", "summary.json", "map.html", "cost_map.html")


def input_hash(scenario) -> str:
    """SHA-256 of everything an area's plan depends on: the package version and the bytes of
    the scenario TOML and of every file it reads (clipped inputs, operators, cost model)."""
    import connectivity
    from connectivity.pipeline import scenario_inputs

    h = hashlib.sha256(f"connectivity {connectivity.__version__}\n".encode())
    for p in scenario_inputs(scenario):
        h.update(p.name.encode() + b"\0")
        h.update(p.read_bytes() if p.is_file() else b"<missing>")
        h.update(b"\0")
    return h.hexdigest()


def _relative(text: str, root: Path) -> str:
    """``text`` with the absolute output folder taken out of paths (reasons go into reproducible files)."""
    for prefix in {str(root) + os.sep, str(root.resolve()) + os.sep}:
        text = text.replace(prefix, "")
    return text


def _complete(folder: Path, digest: str) -> bool:
    try:
        meta = json.loads((folder / AREA_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return meta.get("hash") == digest and all((folder / f).is_file() for f in REQUIRED_FILES)


def plan_area(task: dict[str, Any]) -> dict[str, Any]:
    """Plan one area (a Dask task: plain, picklable data in and out).

    Parameters
    ----------
    task
        ``area`` (name), ``folder`` (its folder name), ``scenario`` (path of its scenario
        TOML), ``out`` (the national output folder), ``force`` (replan even when unchanged).

    Returns
    -------
    dict
        ``area``, ``folder``, ``status`` (``ok`` or ``failed``), ``reason`` (one line, empty
        when ok), ``skipped`` (unchanged since an earlier run), ``summary`` (the plan's
        ``summary.json`` content, None when failed), ``seconds`` (wall-clock of the task).
    """
    from connectivity.atomic import write_text
    from connectivity.config import load_scenario
    from connectivity.errors import ConnectivityError
    from connectivity.pipeline import run, write_outputs

    started = time.perf_counter()
    root = Path(task["out"])
    folder = root / task["folder"]
    result = {"area": task["area"], "folder": task["folder"], "status": "failed", "reason": "", "skipped": False,
              "summary": None, "seconds": 0.0}
    try:
        scenario = load_scenario(task["scenario"])
        digest = input_hash(scenario)
        if not task.get("force") and _complete(folder, digest):
            result.update(status="ok", skipped=True,
                          summary=json.loads((folder / "summary.json").read_text(encoding="utf-8")))
        else:
            (folder / AREA_FILE).unlink(missing_ok=True)  # a run killed from here on is not complete
            plan = run(scenario)
            write_outputs(plan, folder)
            write_text(folder / AREA_FILE, json.dumps({"area": task["area"], "hash": digest}, ensure_ascii=False,
                                                      indent=2) + "\n")
            result.update(status="ok", summary=json.loads(json.dumps(plan.summary, default=str)))
        if not result["summary"].get("sites_connected"):  # planned, or skipped: the same status
            result.update(status="failed", reason="no site connected in this area", summary=None)
    except ConnectivityError as exc:
        result["reason"] = _relative(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, root)
    except Exception as exc:  # a bug in one area must not stop the others: reported, traceback in the log
        log.error("area %s: %s", task["area"], traceback.format_exc())
        result["reason"] = _relative(f"internal error: {type(exc).__name__}: {exc}".splitlines()[0], root)
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


Report = Callable[[dict[str, Any], int, int], None]


def _noop(result: dict[str, Any], done: int, total: int) -> None:
    return None


def run_tasks(tasks: Sequence[dict[str, Any]], *, workers: int | None = None, scheduler: str | None = None,
              report: Report = _noop, started: Callable[[str], None] = lambda _: None) -> list[dict[str, Any]]:
    """Run :func:`plan_area` on every task; results in the order of ``tasks``.

    Parameters
    ----------
    workers
        0: in this process, one area after the other. None or N > 0: a
        ``distributed.LocalCluster`` of N worker processes (None: one per CPU), one thread each.
    scheduler
        Address of a running Dask scheduler (``tcp://host:8786``); ``workers`` is then ignored.
    report
        Called in the driver with each result as it completes, the count done and the total.
    started
        Called once with a line saying where the work runs (the Dask dashboard address).
    """
    results: list[dict[str, Any] | None] = [None] * len(tasks)
    if scheduler is None and workers == 0:
        started("planning in this process, one area after the other")
        for i, task in enumerate(tasks):
            results[i] = plan_area(task)
            report(results[i], i + 1, len(tasks))
        return results  # type: ignore[return-value]
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        n = workers or os.cpu_count() or 1
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0")
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        link = client.dashboard_link if _has_dashboard(client) else "none (bokeh is missing)"
        started(f"Dask scheduler {client.scheduler.address}, dashboard {link}")
        futures = client.map(plan_area, list(tasks), key=[f"plan-area-{t['folder']}" for t in tasks], pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        done = 0
        for fut in as_completed(futures):
            i = index[fut.key]
            try:
                results[i] = fut.result()
            except Exception as exc:  # the worker died (memory, killed): this area failed, the others go on
                results[i] = {"area": tasks[i]["area"], "folder": tasks[i]["folder"], "status": "failed",
                              "reason": f"worker lost: {type(exc).__name__}: {exc}".splitlines()[0],
                              "skipped": False, "summary": None, "seconds": 0.0}
            done += 1
            report(results[i], done, len(tasks))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return results  # type: ignore[return-value]


@contextlib.contextmanager
def dask_executor(scheduler: str, *, timeout_s: float = 10.0) -> Iterator[Executor]:
    """A :class:`concurrent.futures.Executor` on the running Dask cluster at ``scheduler``
    (``tcp://host:8786``), e.g. for the coalition plans of one large area
    (``pipeline.run(..., executor=...)``).

    Raises
    ------
    ConfigError
        When no scheduler answers at that address within ``timeout_s`` seconds.
    """
    from distributed import Client

    try:
        client = Client(scheduler, timeout=f"{timeout_s:g}s")
    except (OSError, ValueError, TypeError) as exc:   # TimeoutError is an OSError
        raise ConfigError(f"--scheduler {scheduler}: no Dask scheduler answers ({type(exc).__name__})") from None
    try:
        yield client.get_executor(pure=False)
    finally:
        client.close()


def _has_dashboard(client) -> bool:
    try:
        import bokeh  # noqa: F401 - the dashboard needs it
    except ImportError:
        return False
    return bool(client.dashboard_link)
