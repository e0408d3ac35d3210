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
import functools
import hashlib
import json
import logging
import multiprocessing
import os
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from connectivity.errors import LOG_FORMAT, ConfigError, log_warning

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


def _complete(folder: Path, digest: str) -> dict[str, Any] | None:
    """The folder's ``area.json`` when it holds a whole plan of inputs hashing to ``digest``; else None."""
    try:
        meta = json.loads((folder / AREA_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("hash") != digest:
        return None
    return meta if all((folder / f).is_file() for f in REQUIRED_FILES) else None


@contextlib.contextmanager
def area_logs(area: str) -> Iterator[list[str]]:
    """While planning ``area``, the package's warnings and errors start with ``<area>: `` (the
    logs of many areas, serial or from the workers, say which area they are about), and so do the
    libraries' Python warnings, logged as one line each (:func:`~connectivity.errors.log_warning`).
    Yields the list that collects their messages (without the prefix), for ``areas.csv``."""
    previous = logging.getLogRecordFactory()
    prefix = f"{area}: "

    def record(*args, **kwargs) -> logging.LogRecord:
        rec = previous(*args, **kwargs)
        if rec.name.startswith("connectivity") and rec.levelno >= logging.WARNING and isinstance(rec.msg, str):
            rec.msg = (prefix.replace("%", "%%") if rec.args else prefix) + rec.msg   # %-formatted later
        return rec

    warned: list[str] = []

    class Collect(logging.Handler):
        def emit(self, rec: logging.LogRecord) -> None:
            text = rec.getMessage()
            warned.append(text[len(prefix):] if text.startswith(prefix) else text)

    ours = logging.getLogger("connectivity")
    collect = Collect(logging.WARNING)
    logging.setLogRecordFactory(record)
    ours.addHandler(collect)
    shown, warnings.showwarning = warnings.showwarning, functools.partial(log_warning, logger="connectivity.library")
    try:
        yield warned
    finally:
        warnings.showwarning = shown
        ours.removeHandler(collect)
        logging.setLogRecordFactory(previous)


def _in_worker() -> bool:
    """Whether this runs in a Dask worker's task."""
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return False
    return True


def worker_logging() -> None:
    """Where no logging is set up (a Dask worker process: no handler on the root logger nor on
    the package's), print the package's warnings and errors on stderr as the command line does
    (:data:`~connectivity.errors.LOG_FORMAT`), not as Python's bare last-resort lines."""
    ours = logging.getLogger("connectivity")
    if logging.getLogger().handlers or ours.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.setLevel(logging.WARNING)
    ours.addHandler(handler)
    ours.propagate = False


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
        when ok), ``warnings`` (the lines the package logged while planning it, also kept in
        ``area.json`` for a rerun that skips it), ``skipped`` (unchanged since an earlier run), ``summary`` (the plan's
        ``summary.json`` content, None when failed), ``seconds`` (wall-clock of the task), ``cpu_seconds`` (its CPU time).
    """
    from connectivity.atomic import write_text
    from connectivity.config import load_scenario
    from connectivity.errors import ConnectivityError
    from connectivity.pipeline import run, write_outputs

    started, cpu, own = time.perf_counter(), time.process_time(), _thread_cpu()
    if _in_worker():
        worker_logging()
    root = Path(task["out"])
    folder = root / task["folder"]
    result = {"area": task["area"], "folder": task["folder"], "status": "failed", "reason": "", "warnings": [],
              "skipped": False, "summary": None, "seconds": 0.0}
    try:
        scenario = load_scenario(task["scenario"])
        digest = input_hash(scenario)
        meta = _complete(folder, digest) if not task.get("force") else None
        if meta is not None:
            result.update(status="ok", skipped=True, warnings=list(meta.get("warnings", [])),
                          summary=json.loads((folder / "summary.json").read_text(encoding="utf-8")))
        else:
            (folder / AREA_FILE).unlink(missing_ok=True)  # a run killed from here on is not complete
            with area_logs(task["area"]) as warned:
                result["warnings"] = warned
                plan = run(scenario)
            write_outputs(plan, folder)
            result["warnings"] = [_relative(w, root) for w in warned]   # reproducible: no output folder in them
            write_text(folder / AREA_FILE, json.dumps({"area": task["area"], "hash": digest,
                                                       "warnings": result["warnings"]},
                                                      ensure_ascii=False, indent=2) + "\n")
            result.update(status="ok", summary=json.loads(json.dumps(plan.summary, default=str)))
        if not result["summary"].get("sites_connected"):  # planned, or skipped: the same status
            result.update(status="failed", reason="no site connected in this area", summary=None)
    except ConnectivityError as exc:
        result["reason"] = _relative(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, root)
    except OSError as exc:  # the machine (a full disk, no permission), not a bug: one line, no traceback
        result["reason"] = _relative(f"{exc.filename or folder}: {exc.strerror or exc}".splitlines()[0], root)
    except Exception as exc:  # a bug in one area must not stop the others: reported, traceback in the log
        log.error("area %s: %s", task["area"], traceback.format_exc())
        result["reason"] = _relative(f"internal error: {type(exc).__name__}: {exc}".splitlines()[0], root)
    result["warnings"] = [_relative(w, root) for w in result["warnings"]]
    release_memory()
    result["seconds"] = round(time.perf_counter() - started, 3)
    result["cpu_seconds"] = round(time.process_time() - cpu, 3)
    result["thread_cpu_seconds"] = round(_thread_cpu() - own, 3)
    return result


def _thread_cpu() -> float:
    """CPU seconds (user + system) of the calling thread alone (a worker's task thread, without
    its event loop; the serial process's main thread, without the design stage's own threads)."""
    import resource

    r = resource.getrusage(resource.RUSAGE_THREAD)
    return r.ru_utime + r.ru_stime


def release_memory() -> None:
    """Collect the area's garbage (reference cycles) and hand the freed heap back to the system
    (glibc ``malloc_trim``), so that a worker does not carry one area's memory into the next."""
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


Report = Callable[[dict[str, Any], int, int], None]


def _noop(result: dict[str, Any], done: int, total: int) -> None:
    return None


def warm_up() -> int:
    """Import the pipeline and what its outputs use, and load the Steiner solver's compiled
    (numba) kernels from their cache by solving a tiny instance: what a fresh process pays
    before its first area. Run on each worker while the driver cuts the inputs. Returns the
    process id."""
    # the imports of a plan, and those its outputs make on first use (maps, report, folium, h3,
    # pyogrio: some 1.5 CPU s that each worker's first area paid, measured on 2,000-edge areas)
    import folium
    import h3
    import numpy as np
    import pyogrio

    import connectivity.maps
    import connectivity.pipeline
    import connectivity.report
    from connectivity.steiner import solve

    n = 6  # a 6 x 6 grid, four corner terminals
    u = [i * n + j for i in range(n) for j in range(n - 1)] + [i * n + j for i in range(n - 1) for j in range(n)]
    v = [i * n + j + 1 for i in range(n) for j in range(n - 1)] + [(i + 1) * n + j for i in range(n - 1)
                                                                   for j in range(n)]
    solve(n * n, np.array(u), np.array(v), np.linspace(1.0, 2.0, len(u)), np.array([0, n - 1, n * n - n, n * n - 1]))
    return os.getpid()


# The local cluster's workers: one thread each, and no library starting threads of its own (the
# nanny's defaults, numba's too, the design stage's solves: CONNECTIVITY_THREADS); no statistical profiler sampling the worker's thread every 10 ms;
# forked from a fork server that imported the pipeline (:func:`_preload_forkserver`; the nanny sets the
# variables above before the server starts, so it and every worker forked from it have them).
# Not the nanny's MALLOC_TRIM_THRESHOLD_: setting it turns off glibc's adaptive mmap threshold, so
# every large numpy temporary is a fresh mapping (three times the page faults of `connectivity
# plan`); release_memory() trims the heap after each area instead.
WORKER_CONFIG = {
    "distributed.nanny.pre-spawn-environ": {"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1,
                                            "NUMBA_NUM_THREADS": 1, "CONNECTIVITY_THREADS": 1},
    "distributed.worker.profile.enabled": False,
    # (spawn where there is no fork server: Windows)
    "distributed.worker.multiprocessing-method": ("forkserver" if "forkserver" in multiprocessing.get_all_start_methods()
                                                  else "spawn"),
}


#: Modules the local cluster's fork server imports once, before it forks the workers: each
#: worker starts with them loaded instead of importing them itself (about 1 CPU s a worker).
FORKSERVER_PRELOAD = ("distributed", "connectivity.pipeline", "connectivity.maps", "connectivity.report",
                      "connectivity.areas.run", "folium", "h3", "pyogrio")


def _preload_forkserver() -> None:
    """Have the workers forked from a server that imported :data:`FORKSERVER_PRELOAD` (under
    ``distributed.worker.multiprocessing-method = forkserver``, set in :data:`WORKER_CONFIG`);
    without effect once this process's fork server runs."""
    from distributed.utils import get_mp_context

    ctx = get_mp_context()
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(list(FORKSERVER_PRELOAD))


#: Seconds to wait for the Dask scheduler at a ``--scheduler`` address (``plan`` and ``plan-areas``).
SCHEDULER_TIMEOUT_S = 10.0


class Workers:
    """Where the areas are planned, made ready in the background while the driver cuts the inputs.

    ``workers=0`` (and no ``scheduler``): this process, nothing to start. Otherwise a thread
    starts a ``distributed.LocalCluster`` of ``workers`` processes (None: one per core this
    process may use, :func:`~connectivity.design.threads.usable_cores`), one
    thread each, or connects to the ``scheduler`` address, and gives each worker a
    :func:`warm_up` task (imports, compiled kernels) that runs before its first area.
    :meth:`client` waits for it; :meth:`close` shuts down what was started here.
    """

    def __init__(self, workers: int | None = None, scheduler: str | None = None):
        import threading

        self.serial = scheduler is None and workers == 0
        self._workers, self._scheduler = workers, scheduler
        self._client = self._cluster = self._error = None
        self._warm: list = []
        self._thread = None
        self._lock = threading.Lock()
        if not self.serial:
            self._thread = threading.Thread(target=self._start, name="areas-cluster", daemon=True)
            self._thread.start()

    def _start(self) -> None:
        try:
            from distributed import Client, LocalCluster

            if self._scheduler is None:
                import dask

                from connectivity.design.threads import usable_cores

                n = self._workers or usable_cores()
                with dask.config.set(WORKER_CONFIG):  # read by each nanny when it starts its worker
                    _preload_forkserver()
                    self._cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                                 dashboard_address=":0")
                self._client = Client(self._cluster)
            else:
                try:
                    self._client = Client(self._scheduler, timeout=f"{SCHEDULER_TIMEOUT_S:g}s")
                except Exception as exc:   # the connection only: not a file error of --out, nor a bug below
                    raise no_scheduler(self._scheduler, exc) from None
            self._warm = [self._client.submit(warm_up, key=f"warm-up-{k}", workers=[w], allow_other_workers=False,
                                              pure=False)
                          for k, w in enumerate(sorted(self._client.scheduler_info()["workers"]))]
        except BaseException as exc:  # raised in the driver's thread by client()
            self._error = exc

    @property
    def failed(self) -> bool:
        """Whether the cluster failed to start (no area was planned on it)."""
        return self._error is not None

    def ready(self) -> bool:
        """Whether the cluster is up (or failed to start): :meth:`client` would not wait."""
        return self._thread is None or not self._thread.is_alive()

    def client(self):
        """The Dask client, once the cluster is up (re-raises an error met while starting it)."""
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        return self._client

    def close(self) -> None:
        """Close the client and the local cluster started here (once; safe from any thread)."""
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            if self._warm:  # a worker closed in the middle of a task logs a warning: let the warm-up end
                from distributed import wait

                with contextlib.suppress(Exception):
                    wait(self._warm, timeout=30)
                self._warm = []
            for closing in (self._client, self._cluster):
                if closing is not None:
                    with contextlib.suppress(Exception):
                        closing.close()
            self._client = self._cluster = None


def run_tasks(tasks: Iterable[dict[str, Any]], *, workers: int | None = None, scheduler: str | None = None,
              report: Report = _noop, started: Callable[[str], None] = lambda _: None,
              pool: Workers | None = None, total: int | None = None) -> list[dict[str, Any]]:
    """Run :func:`plan_area` on every task; results in the order of ``tasks``.

    ``tasks`` may be a generator (the areas as they are cut, :func:`connectivity.areas.split.cut`):
    each task goes to the cluster as soon as it comes (or waits for the cluster to be up), and
    areas planned meanwhile are reported while the next ones are made.

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
    pool
        :class:`Workers` started earlier (``workers`` and ``scheduler`` are then ignored); the
        caller closes it.
    total
        The number of tasks, for ``report`` (default: ``len(tasks)``).
    """
    own = pool is None
    pool = Workers(workers, scheduler) if own else pool
    try:
        return _run(tasks, pool, report, started, len(tasks) if total is None else total)  # type: ignore[arg-type]
    finally:
        if own:
            pool.close()


def _lost(task: dict[str, Any], exc: BaseException) -> dict[str, Any]:
    """The result of an area whose worker died (memory, killed): failed, the others go on."""
    return {"area": task["area"], "folder": task["folder"], "status": "failed",
            "reason": f"worker lost: {type(exc).__name__}: {exc}".splitlines()[0],
            "skipped": False, "summary": None, "seconds": 0.0, "cpu_seconds": 0.0}


def _run(tasks: Iterable[dict[str, Any]], pool: Workers, report: Report,
         started: Callable[[str], None], total: int) -> list[dict[str, Any]]:
    results: list[dict[str, Any] | None] = []
    if pool.serial:
        for task in tasks:  # (the first task is made before saying so: bad inputs raise before)
            if not results:
                started("planning in this process, one area after the other")
            results.append(plan_area(task))
            report(results[-1], len(results), total)
        return results  # type: ignore[return-value]
    from distributed import as_completed

    given: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    client = waiting = None
    done = 0

    def submit(i: int) -> None:
        fut = client.submit(plan_area, given[i], key=f"plan-area-{given[i]['folder']}", pure=False)
        index[fut.key] = i
        waiting.add(fut)

    def collect(futures) -> None:
        nonlocal done
        for fut in futures:
            i = index[fut.key]
            try:
                results[i] = fut.result()
            except Exception as exc:  # the worker died: this area failed, the others go on
                results[i] = _lost(given[i], exc)
            fut.release()  # nothing of a finished area stays in the cluster
            done += 1
            report(results[i], done, total)

    def connect() -> None:
        nonlocal client, waiting
        client = pool.client()
        waiting = as_completed(loop=client.loop)
        link = client.dashboard_link if _has_dashboard(client) else "none (bokeh is missing)"
        started(f"Dask scheduler {client.scheduler.address}, dashboard {link}")
        for i in range(len(given)):  # the areas cut while the cluster started
            submit(i)

    for task in tasks:
        given.append(task)
        results.append(None)
        if client is None:
            if pool.ready():
                connect()
        else:
            submit(len(given) - 1)
            collect(waiting.next_batch(block=False) if waiting.has_ready() else [])
    if client is None:
        connect()
    for batch in waiting.batches():
        collect(batch)
    return results  # type: ignore[return-value]


def no_scheduler(address: str, exc: Exception) -> ConfigError:
    """The one-line error of a ``--scheduler`` address that no Dask scheduler answers at: nothing
    listens or it times out (an OSError; a TimeoutError is one), a malformed address (ValueError,
    TypeError), or another program answers (a web server, the dashboard's port: Dask reads its
    reply as a frame length of exbibytes, a MemoryError, or fails to decode it)."""
    why = type(exc).__name__ if isinstance(exc, (OSError, ValueError, TypeError)) else \
        "another program answers there, not a scheduler: the dashboard's port?"
    return ConfigError(f"--scheduler {address}: no Dask scheduler answers ({why})")


@contextlib.contextmanager
def dask_executor(scheduler: str, *, timeout_s: float = SCHEDULER_TIMEOUT_S) -> Iterator[Executor]:
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
    except Exception as exc:
        raise no_scheduler(scheduler, exc) from None
    try:
        yield client.get_executor(pure=False)
    finally:
        client.close()


def _has_dashboard(client) -> bool:
    try:
        import bokeh  # the dashboard needs it
    except ImportError:
        return False
    return bool(client.dashboard_link)
