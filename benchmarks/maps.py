"""Benchmark: size and open time of the cost and coverage maps of a large synthetic plan.

Usage::

    python benchmarks/maps.py [--segments 100000] [--out DIR]  (default: a temporary folder)

Builds a synthetic grid plan (see ``tests/maps_fixtures.py``), runs the coverage
analysis, writes both maps and opens each in headless Chromium
(``/usr/bin/chromium``), timing from navigation start until the page sets
``window.__mapReady`` (every layer added and drawn). Targets: under 25 MB and
under 5 s for 100,000 segments.
"""

from __future__ import annotations

import argparse
import tempfile
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from connectivity import maps  # noqa: E402
from connectivity.coverage import analyse  # noqa: E402
from maps_fixtures import OPERATORS, grid_plan  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]


def open_time(browser, path: Path, repeat: int) -> tuple[float, int]:
    """Best of ``repeat`` open times in seconds and the number of blocked requests."""
    best, blocked = float("inf"), 0
    for _ in range(repeat):
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        stray = []
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:")
                   else (stray.append(r.request.url), r.abort()))
        page.goto(path.resolve().as_uri(), wait_until="commit", timeout=120_000)
        page.wait_for_function("window.__mapReady === true", timeout=120_000, polling=50)
        seconds = page.evaluate("performance.now()") / 1000.0
        best, blocked = min(best, seconds), max(blocked, len(stray))
        page.close()
    return best, blocked


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=100_000)
    parser.add_argument("--buildings-per-block", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "maps-bench")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    t = time.perf_counter()
    plan = grid_plan(args.segments, buildings_per_block=args.buildings_per_block, manhole_step=1)
    print(f"plan: {len(plan['ducts']):,} segments, {len(plan['buildings']):,} buildings, "
          f"{len(plan['manholes']):,} manholes, {len(plan['sites']):,} sites "
          f"({time.perf_counter() - t:.1f} s)")

    t = time.perf_counter()
    cov = analyse(plan["ducts"], plan["buildings"], plan["sites"])
    print(f"coverage.analyse: {time.perf_counter() - t:.1f} s, {len(cov.hexagons):,} hexagons, "
          f"{cov.summary['buildings_passed_pct']:.1f}% passed")

    outputs = {}
    t = time.perf_counter()
    m = maps.cost_map(plan["ducts"], plan["manholes"], plan["sites"], operators=list(OPERATORS))
    outputs["cost_map"] = maps.save_map(m, args.out / "cost_map.html")
    print(f"cost_map build+save: {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    m = maps.coverage_map(cov.hexagons, cov.buildings, plan["ducts"], plan["sites"])
    outputs["coverage_map"] = maps.save_map(m, args.out / "coverage_map.html")
    print(f"coverage_map build+save: {time.perf_counter() - t:.1f} s")

    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for name, path in outputs.items():
            seconds, blocked = open_time(browser, path, args.repeat)
            size_mb = path.stat().st_size / 1e6
            print(f"{name}: {size_mb:.1f} MB, opens in {seconds:.2f} s (best of {args.repeat}), "
                  f"{blocked} non-file requests")
        browser.close()


if __name__ == "__main__":
    main()
