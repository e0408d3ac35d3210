"""Independent Steiner solves on threads: the engine's numba kernels release the GIL, so the
operators' trees of one step (a subgradient step, the stand-alone trees) run side by side.
Results and their order are those of the serial loop."""
from __future__ import annotations

import functools
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Most threads used, whatever the machine (the steps have few operators).
MAX_THREADS = 4


def solve_threads() -> int:
    """Threads for independent solves: the cores this process may use, at most
    :data:`MAX_THREADS`; the environment variable ``CONNECTIVITY_THREADS`` (a positive
    integer) overrides it, e.g. 1 in a Dask worker that already has a core of its own."""
    env = _threads_from_env(os.environ.get("CONNECTIVITY_THREADS", ""))
    return env if env is not None else max(1, min(MAX_THREADS, usable_cores()))


@functools.lru_cache(maxsize=None)
def _threads_from_env(value: str) -> int | None:
    """``CONNECTIVITY_THREADS`` as a positive integer; any other value is ignored, with one
    warning per value (not one per solve)."""
    if value.strip().isdigit() and int(value) > 0:
        return int(value)
    if value.strip():
        logging.getLogger(__name__).warning("CONNECTIVITY_THREADS=%r is not a positive integer: ignored "
                                            "(the usable cores, at most %d)", value, MAX_THREADS)
    return None


def usable_cores() -> int:
    """The cores this process may use (its CPU affinity where the system tells it)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def thread_map(fn: Callable[[T], R], items: Iterable[T], threads: int | None = None) -> list[R]:
    """``[fn(x) for x in items]`` on up to ``threads`` threads (default :func:`solve_threads`)."""
    items = list(items)
    threads = solve_threads() if threads is None else threads
    if threads <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=min(threads, len(items))) as pool:
        return list(pool.map(fn, items))
