"""Seconds of the phasing stage of ``connectivity plan`` (issue #11 targets).

Rows (targets on 2 cores):

===== ============================================================== ========
cm    Chiang Mai, ``data/scenarios/chiang_mai_phased.toml`` (two phases)  <= 1 s
2k    synthetic town of ~2,300 duct segments, three phases                (scaling)
20k   synthetic town of ~20,000 duct segments, three phases               <= 10 s
===== ============================================================== ========

Each row plans its scenario in-process with the checkout this file belongs to (or
``--repo``) and reads the phasing stage's seconds from the pipeline's progress calls: from
``progress("phasing")`` to the return of ``pipeline.run`` (the stage is the last one). The
seconds of :func:`connectivity.phasing.phase_plan` (the greedy) within it are printed too, so
the rest of the stage (building the phasing input, per-phase BoQ, columns) shows.

The towns come from :mod:`benchmarks.towns` (20k: 70,000 road edges, 4,500 sites, about
20,800 segments; 2k: 8,000 edges, 500 sites, about 2,350 segments; ``[design] rounds = 1,
shapley = false`` to keep the design stage short). Each is planned once without phases to
learn its total cost, then with phases of 25 % and 35 % of it (priorities ``sites`` and
``buildings``) and the rest.

Results (this machine, 2 cores shared with other agents, 2026-11-26)
--------------------------------------------------------------------
Before = 8fe45e8 (``--repo`` on a ``git archive`` of it: phasing on the output frames, the
greedy in pure Python); after = this branch (phasing on the design result, the greedy's
frontier and densest-branch search in numba, its moves as arrays). The phases, the
summary and every output file are identical before and after. ``--rows cm 2k`` (after:
``--repeat 2``), 20:25-20:27::

     row  segments  phasing_s  greedy_s  other_s
    before
      cm       342       0.28      0.22     0.07
      2k      2348      13.72     13.60     0.12
    after
      cm       342       0.06      0.04     0.02
      2k      2348       1.04      0.92     0.12

``--rows 20k``: after 98.8 s (greedy 98.3 s, the rest 0.5 s; 20,847 segments), 20:28-20:30;
before: not finished (killed after 49 min of the run, 20:31-21:20, of which about 2 min
are the town and its plans; a test run shared the machine 20:33-20:46). The 1 s target is
met on Chiang Mai; the 10 s target at 20k segments is not: the greedy recomputes the whole
frontier (a Dijkstra over the plan) and a Dinkelbach search of up to 20 passes for every
move, up to 11 greedy runs per phase (the plain one, and one after each of the 5 most
valuable and 5 best-ratio first moves), and the moves grow with the plan (1,113 in the
first phase of the 20k town, profiled), so its time grows about with the square of the
plan. Meeting the target needs an incremental frontier or fewer runs at scale, either of
which may change the phases.

Then plans above 5,000 segments got the plain greedy by default (``phasing.FULL_SEARCH_SEGMENTS``),
idle machine, 21:31-21:33, ``--rows cm 20k``::

     row  segments  phasing_s  greedy_s  other_s  phase costs (MTHB)
      cm       342       0.05      0.04     0.01  20.3 62.0
     20k     20847      13.86     13.52     0.35  1768.7 2476.1 2830.1

The 10 s target at 20k segments was still missed (13.9 s): each move recomputes the frontier,
a Dijkstra that pushed every built node. Pushing only the built nodes that still have an unbuilt
segment to an unbuilt node (the others relax nothing; the phases are the same, array for array),
idle machine, 21:46-21:48, ``--rows cm 20k --repeat 2``::

     row  segments  phasing_s  greedy_s  other_s  phase costs (MTHB)
      cm       342       0.06      0.04     0.02  20.3 62.0
     20k     20847       5.75      5.55     0.20  1768.7 2476.1 2830.1

Both targets are met: Chiang Mai 0.06 s (<= 1 s), 20,847 segments 5.75 s (<= 10 s).

Run::

    python benchmarks/phasing_scale.py                  # cm and 20k
    python benchmarks/phasing_scale.py --rows cm 2k --repeat 3
    python benchmarks/phasing_scale.py --repo ../old    # another checkout (e.g. a git archive)
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOWNS = {"2k": {"edges_target": 8_000, "n_sites": 500}, "20k": {"edges_target": 70_000, "n_sites": 4_500}}
DESIGN = {"rounds": 1, "shapley": False}


def _timed_run(scenario, phasing_mod, pipeline_mod) -> dict:
    """Plan ``scenario``; returns the phasing stage's seconds, the greedy's, and the plan's size."""
    marks: dict[str, float] = {}
    greedy = [0.0]
    original = phasing_mod.phase_plan

    def timed_phase_plan(*args, **kwargs):
        t = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            greedy[0] += time.perf_counter() - t

    def progress(stage: str) -> None:
        marks.setdefault(stage, time.perf_counter())

    phasing_mod.phase_plan = timed_phase_plan
    try:
        plan = pipeline_mod.run(scenario, progress=progress)
    finally:
        phasing_mod.phase_plan = original
    end = time.perf_counter()
    return {"stage_s": end - marks["phasing"], "greedy_s": greedy[0], "segments": len(plan.ducts),
            "phases": [p["cost_thb"] for p in plan.summary["phases"]]}


def _town_scenario(folder: Path, size: str, config, pipeline_mod):
    """A town's scenario with phases of 25 % and 35 % of its total cost and the rest."""
    sys.path.insert(0, str(HERE))
    import towns

    path = towns.make_town(folder, **TOWNS[size], design=DESIGN)
    bare = config.load_scenario(path)
    total = pipeline_mod.run(bare).summary["total_cost"]
    phases = config.parse_phases([
        {"name": "Quick win", "budget_thb": round(0.25 * total), "priority": "sites"},
        {"name": "Buildings", "budget_thb": round(0.35 * total), "priority": "buildings"},
        {"name": "Rest"}])
    return dataclasses.replace(bare, phases=phases)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", nargs="+", default=["cm", "20k"], choices=["cm", *TOWNS])
    ap.add_argument("--repeat", type=int, default=1, help="runs per row (the best is printed)")
    ap.add_argument("--repo", default=str(HERE.parent), help="checkout whose package is timed")
    ns = ap.parse_args(argv)
    sys.path.insert(0, str(Path(ns.repo).resolve()))
    import logging

    logging.basicConfig(level=logging.ERROR)
    import connectivity
    from connectivity import config, phasing, pipeline

    print(f"package: {Path(connectivity.__file__).parent}")
    print(f"{'row':>4} {'segments':>9} {'phasing_s':>10} {'greedy_s':>9} {'other_s':>8}  phase costs (MTHB)")
    with tempfile.TemporaryDirectory(prefix="phasing-scale-") as tmp:
        for row in ns.rows:
            if row == "cm":
                scenario = config.load_scenario(HERE.parent / "data" / "scenarios" / "chiang_mai_phased.toml")
            else:
                scenario = _town_scenario(Path(tmp) / row, row, config, pipeline)
            runs = [_timed_run(scenario, phasing, pipeline) for _ in range(max(1, ns.repeat))]
            best = min(runs, key=lambda r: r["stage_s"])
            costs = " ".join(f"{c / 1e6:.1f}" for c in best["phases"])
            print(f"{row:>4} {best['segments']:>9} {best['stage_s']:>10.2f} {best['greedy_s']:>9.2f} "
                  f"{best['stage_s'] - best['greedy_s']:>8.2f}  {costs}", flush=True)


if __name__ == "__main__":
    main()
