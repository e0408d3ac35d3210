"""Whole ``connectivity plan`` time at town scale (issue #10).

Rows (targets for warm runs on 2 cores):

==== ============================================================= ====================
cm   Chiang Mai example, ``data/scenarios/chiang_mai_nimman.toml``    <= 3 s
ph   Phuket, ``data/scenarios/phuket_backbone.toml``                  (gap only)
cmua Chiang Mai with ``[design] underground_aerial = true``           (gap only)
corr Chiang Mai corridor example (undergrounding, existing route)     (gap only)
20k  synthetic town, ~20,000 road edges, 300 sites, 3 operators       <= 10 s
100k synthetic town, ~100,000 edges, 1,000 sites                      <= 60 s
300k synthetic town, ~300,000 edges, 3,000 sites                      <= 180 s, <= 4 GiB
==== ============================================================= ====================

The certified gap (``gap_pct``) target is <= 10 % on every row.

The towns come from :mod:`benchmarks.towns` (perturbed grid, street removals, OSM-like
highway classes, ways to node, service lanes joined by ``node_tolerance_m``, sites 5-60 m off
the streets, operators TOT / CAT / PEA with a hub each) and are written to a temporary folder
as road lines (GeoPackage) + sites CSV + scenario TOML, so the whole pipeline runs: loading,
noding, network, sites, design, coverage, writing. Other sizes: ``--sizes 5k`` gives a town
of ~5,000 edges with edges/70 sites.

Each row runs the CLI of the checkout under test in a subprocess,
``python -m connectivity.cli plan SCENARIO --out TMP`` with ``cwd`` and ``PYTHONPATH``
set to ``--repo`` (so that checkout's package is imported, not the pip-installed one; the
``connectivity`` entry point would import the editable install instead), under
``/usr/bin/time -v`` for the peak RSS. One untimed warm-up run per row (numba caches, file
cache), then the best of ``--repeat`` runs. Printed per row: wall seconds of the whole
command (interpreter start-up included) and its CPU seconds (user + system), ``design_seconds`` and ``gap_pct`` from
``summary.json``, total cost (THB), peak RSS, road edges after noding and network components
(``summary.json``), sites connected / total, and the seconds of each stage (read from the
CLI's progress lines, which it prints when stderr is a terminal: the benchmark gives it a
pseudo-terminal).

Run::

    python benchmarks/design_scale.py                       # cm 20k, best of 1
    python benchmarks/design_scale.py --sizes cm 20k 100k 300k --repeat 3 --timeout 900
    python benchmarks/design_scale.py --repo ../main --sizes 20k   # another checkout

Baseline (commit 84b6b3c, this machine, 2026-11-26)
---------------------------------------------------
The machine was shared with other agents (load average 5-7 on 2 cores during the runs), so
the wall seconds are inflated, up to about 2x; the same 20k town planned in-process at lower
load took 112 s (design 111 s). ``cpu_s`` was added after runs 1 and 2. 300k was not run
(100k already times out).

Run 1 (``--sizes cm 20k --repeat 2 --timeout 900``, 14:27)::

    town 20k: 20000 edges wanted, ~20225 expected after noding, 5221 ways, 300 sites + 3 hubs, 12.43 x 12.27 km

      row   wall_s  design_s  gap_pct  cost_MTHB  rss_MiB    edges  comps      sites  target_s  met  stages_s
       cm     25.3      15.0    54.37       83.7      288     2051     11      75/76         3   NO  load 4.7 network 0.3 sites 0.2 plan 0.0 design 15.1 coverage 0.1 write 2.3
      20k    267.3     250.7    57.49      928.8      374    20214     74    303/303        10   NO  load 0.5 network 2.7 sites 0.2 plan 0.0 design 251.2 coverage 0.4 write 8.3

Run 2 (``--sizes 100k --no-warmup --timeout 900``, 14:42; numba caches warm from run 1)::

    town 100k: 100000 edges wanted, ~100124 expected after noding, 25678 ways, 1000 sites + 3 hubs, 27.52 x 27.64 km

      row   wall_s  design_s  gap_pct  cost_MTHB  rss_MiB    edges  comps      sites  target_s  met  stages_s
     100k  timeout         -        -          -        -        -      -          -         -    -

Run 3 (``--sizes cm 20k --repeat 1 --timeout 900``, 14:57, load average 3.7-5; ``cpu_s`` well
below ``wall_s`` shows the waiting for a core)::

      row   wall_s   cpu_s  design_s  gap_pct  cost_MTHB  rss_MiB    edges  comps      sites  target_s  met  stages_s
       cm     17.3     9.7       7.6    54.37       83.7      288     2051     11      75/76         3   NO  load 4.7 network 0.4 sites 0.1 plan 0.1 design 7.7 coverage 0.0 write 1.8
      20k    181.0    98.8     172.8    57.49      928.8      374    20214     74    303/303        10   NO  load 0.2 network 1.3 sites 0.2 plan 0.0 design 173.1 coverage 0.3 write 3.8

After the chamber bound (issue #10, third session), idle machine, 2026-11-26: ``--sizes cm 20k
--repeat 2`` at 21:29-21:31 and ``--sizes cm 20k 100k`` at 21:24-21:29 (the 100k rows), each
for this checkout and for ``--repo`` at commit 8fe45e8 (before)::

      row   wall_s   cpu_s  design_s  gap_pct  cost_MTHB  rss_MiB    edges  comps      sites  target_s  met  stages_s
    before
       cm      7.7     8.1       4.3    18.61       82.3      307     2051     11      75/76         3   NO  load 0.4 network 0.2 sites 0.0 plan 0.0 design 4.4 coverage 0.0 write 1.2
      20k     11.5    11.8       6.5    42.75      929.5      363    20227      1    303/303        10   NO  load 0.1 network 0.9 sites 0.1 plan 0.0 design 6.7 coverage 0.0 write 2.8
     100k     37.2    37.5      19.4    52.46     3700.7      698   100124      1  1003/1003        60  yes  load 0.4 network 6.9 sites 0.2 plan 0.0 design 20.2 coverage 0.1 write 8.2
    after
       cm      6.8     7.8       3.6    12.61       82.3      305     2051     11      75/76         3   NO  load 0.3 network 0.2 sites 0.1 plan 0.0 design 3.6 coverage 0.1 write 1.3
      20k     11.6    13.0       5.9    24.14      929.5      370    20227      1    303/303        10   NO  load 0.1 network 1.1 sites 0.1 plan 0.0 design 6.1 coverage 0.1 write 3.0
     100k     39.5    44.5      22.2    27.92     3700.7      694   100124      1  1003/1003        60  yes  load 0.3 network 5.4 sites 0.3 plan 0.0 design 22.9 coverage 0.4 write 9.3

The certified gap falls by a third to a half at the same plans (the same costs); the 100k
bound takes 10 subgradient steps instead of 6 (3 s more), and the Lagrangian's operator solves
run on 2 threads (``cpu_s`` above ``wall_s``). Still missed: Chiang Mai 3 s (Python, geopandas,
numba and matplotlib imports alone take about 1.5 s), 20k 10 s, and every gap target (10 %).

Fifth session (threads for the joint plan's starts and their improvement, tornado chart as
SVG text without matplotlib, noding snap with array operations, the road layer encoded once
for both maps, GeoJSON through orjson), idle machine, 2026-11-26 23:47-00:00; ``before`` is
commit 7874daa through ``--repo``. cm and 20k: ``--repeat 3``, after and before interleaved
twice (the host's speed drifted between the pairs; both pairs shown); 100k and 300k: one run
each, ``--no-warmup``::

      row   wall_s   cpu_s  design_s  gap_pct  cost_MTHB  rss_MiB  stages_s
    pair 1, after / before
       cm      4.8     6.7       2.8    12.61       82.3      280  load 0.3 network 0.2 design 2.9 write 0.5
       cm      6.5     7.5       3.3    12.61       82.3      302  load 0.5 network 0.2 design 3.4 write 1.2
      20k      7.8    10.4       4.8    24.14      929.5      377  load 0.1 network 0.7 design 5.0 write 1.2
      20k     10.1    11.4       5.4    24.14      929.5      370  load 0.1 network 0.8 design 5.6 write 2.7
    pair 2, after / before
       cm      5.9     7.9       3.2    12.61       82.3      278  load 0.5 network 0.2 design 3.3 write 0.8
       cm      6.2     7.2       3.3    12.61       82.3      305  load 0.3 network 0.2 design 3.4 write 1.0
      20k      8.1    10.7       4.7    24.14      929.5      377  load 0.1 network 0.6 design 4.8 write 1.4
      20k      8.6     9.8       4.8    24.14      929.5      370  load 0.1 network 0.7 design 5.0 write 1.8
    after / before
     100k     27.3    36.5      15.6    27.92     3700.7      741  load 0.4 network 4.0 design 16.6 write 4.6
     100k     33.8    38.5      18.1    27.92     3700.7      684  load 0.4 network 6.0 design 18.8 write 6.7
     300k     79.9   109.0      47.9    27.45    10726.3     1630  load 0.9 network 13.6 design 50.1 write 13.4
     300k    147.1   157.4      92.1    27.45    10726.3     1582  load 1.2 network 26.4 design 97.7 write 18.7

Same plans and bounds (costs and gaps unchanged). Met: 20k <= 10 s, 100k <= 60 s, 300k <=
180 s and <= 4 GiB. Still missed: Chiang Mai <= 3 s (the interpreter, pandas, geopandas,
shapely, numba and scipy imports and the numba cache alone take about 1.9 s) and every gap
target but Phuket's (4.4 %).

Road edges after noding (load + noding + network only, no design): 20k town 20,214 (74
components), 100k town 100,138 (334), 300k town 300,669 (1,032; noding 50 s, 0.8 GiB).
Before the noding fix (branch rob3) all components but the largest were service lanes whose
end stops 0.4 m short of a street: ``network.node_lines`` snapped the end onto the street but
``set_precision`` (1 mm) then rounded the end and the street's vertices separately and left
about 10 % of such T-junctions unnoded. The snapped point is now also a vertex of the street:
the 20k town nodes into 20,227 edges in 1 component (noding 0.4 -> 0.6 s).

Seventh session (the joint dual ascent for the certified bound), idle machine, 2026-11-27;
``before`` is commit 100928f through ``--repo``. cm and 20k: ``--repeat 2`` at 04:42-04:50
(after, then before); 100k and 300k: one run each, ``--no-warmup``, at 04:55-04:58 (after, the
ascent capped at 60 steps per operator and node + edge) and 04:50-04:54 (before)::

      row   wall_s   cpu_s  design_s  gap_pct  cost_MTHB  rss_MiB  stages_s
    after / before
       cm      5.6     7.7       3.2    12.68       82.3      278  load 0.4 network 0.2 design 3.2 write 0.6
       cm      6.0     8.1       3.0    12.61       82.3      278  load 0.5 network 0.2 design 3.0 write 0.7
      20k      9.0    11.7       5.5    18.80      929.5      377  load 0.1 network 0.9 design 5.7 write 1.4
      20k      8.5    11.3       5.5    24.14      929.5      377  load 0.1 network 0.6 design 5.6 write 1.1
     100k     32.3    39.9      19.3    19.09     3700.7      703  load 0.3 network 4.1 design 20.5 write 5.9
     100k     31.5    42.0      18.4    27.92     3700.7      703  load 0.3 network 4.2 design 19.1 write 6.3
     300k     95.9   123.4      62.7    17.79    10726.3     1691  load 1.2 network 14.5 design 65.8 write 12.2
     300k     98.5   132.2      55.6    27.45    10726.3     1573  load 1.6 network 21.8 design 57.9 write 14.4

Same plans (same costs); the towns' certified gaps fall by a third (24-28 % -> 18-19 %),
Chiang Mai's rises by 0.07 points. The 300k design stage takes 7 s more (the ascent, 8 s).
Still missed: Chiang Mai <= 3 s and every gap target but Phuket's (3.6 %).

Ninth session (bounds with required streets and existing ducts: ``design.best_bound``), idle
machine, 2026-11-27 10:26-10:28, ``--sizes cm ph cmua corr 20k --repeat 1``; ``before`` is
commit 20e9962 through ``--repo``::

      row   wall_s   cpu_s  design_s  gap_pct  cost_MTHB  rss_MiB
    after / before
       cm      5.1     7.0       2.8    12.63       82.3      279
       cm      6.9     9.0       3.4    12.63       82.3      278
       ph      5.0     6.3       2.8     3.60     1448.9      299
       ph      5.4     6.7       2.6     3.60     1448.9      298
     cmua      5.6     7.3       3.0    12.90       85.5      280
     cmua      6.4     8.6       3.8    17.39       85.5      281
     corr      4.6     5.7       2.3     6.54       53.7      310
     corr      5.9     7.1       2.6    44.95       53.7      310
      20k     10.1    13.1       6.2    18.80      929.5      377
      20k      9.1    11.8       5.4    18.80      929.5      377

Same plans. The corridor example's gap falls from 45 % to 6.5 % and Chiang Mai's with
``underground_aerial`` from 17.4 % to 12.9 %; the other rows' bounds are unchanged and their
time differences are the host's (20k again, interleaved: 9.5 and 8.2 s after, 9.4 and 7.9 s
before).

Tenth session (a structure split into several edges is one bore; faster line ends and GeoJSON),
2026-11-27, load average about 1: ``--sizes cm ph cmua corr 20k`` this checkout then ``--repo``
at 6a041ab (before), 11:52-11:58; ``--sizes 100k 300k`` the same way, 12:01-12:09::

      row   wall_s   cpu_s  design_s  gap_pct  cost_MTHB  rss_MiB
    after / before
       cm      6.3     8.2       3.4    13.18       82.3      278
       cm      5.1     7.0       3.0    12.63       82.3      278
       ph      4.0     5.1       2.2     3.60     1448.9      298
       ph      4.9     6.1       2.6     3.60     1448.9      299
     cmua      5.2     7.1       3.1    12.50       85.5      280
     cmua      4.9     6.7       2.7    12.90       85.5      280
     corr      3.9     4.9       1.9     6.54       53.7      310
     corr      5.4     6.5       2.4     6.54       53.7      310
      20k      8.9    11.6       5.5    18.80      929.5      379
      20k      9.9    12.9       6.2    18.80      929.5      373
     100k     28.0    34.7      17.0    18.98     3700.7      743
     100k     27.8    34.1      17.3    18.98     3700.7      756
     300k     83.6   109.1      55.8    17.80    10726.3     1678
     300k     98.8   126.6      64.5    17.80    10726.3     1691

The host's speed varied by up to 30 % between runs minutes apart (the same code's stage CPU
seconds too), so the wall-time differences are mostly the host's. Chiang Mai's plan is 1,000 THB
cheaper (one bridge of two edges, one bore), and its bound's subgradient ends 0.55 point lower
(``cmua`` 0.4 point higher): the end point moves by about that much with any small price
change. In-process, CPU seconds, best of 5, on the 100k town: line ends of the 100,124 edges
0.327 -> 0.035 s (``network.line_ends``), the roads layer's GeoJSON 1.82 -> 1.50 s and the ducts'
0.197 -> 0.136 s, byte-identical.

Twelfth session (bound: joint ascent slack 1.5, few Lagrangian steps start from the ascent's
claims, steps stop once the step factor is below 1/64; inputs: noding per level, sites off
road pieces, negative OSM ids), 2026-11-27, quiet host (load average about 1): ``--sizes cm ph
cmua corr 20k 100k 300k`` this checkout (after) at 18:02-18:07, then ``--repo`` at e0e5ab8
(before) at 18:07-18:12::

      row   wall_s   cpu_s  design_s  gap_pct  cost_MTHB  rss_MiB
    after / before
       cm      2.7     3.8       1.6    11.99       82.3      279
       cm      2.9     4.0       1.6    13.18       82.3      280
       ph      2.7     3.4       1.5     3.44     1448.9      300
       ph      2.5     3.1       1.3     3.60     1448.9      300
     cmua      3.0     4.0       1.7    13.06       85.5      281
     cmua      2.8     3.8       1.5    12.50       85.5      280
     corr      2.4     2.9       1.0     6.54       53.7      311
     corr      2.5     3.1       1.1     6.54       53.7      311
      20k      4.7     6.2       2.8    17.88      929.5      378
      20k      4.9     6.4       2.8    18.80      929.5      378
     100k     15.9    19.6       8.9    18.53     3700.7      729
     100k     16.9    20.7       9.6    18.98     3700.7      757
     300k     55.1    70.6      34.0    17.59    10726.3     1673
     300k     57.8    74.0      35.9    17.80    10726.3     1674

Same plans (costs, edges, sites). Every time target is met on this quiet host (the earlier
tables were measured under a load of 1 to 6 from other jobs). The gaps fall by 0.2 to 1.2
points, but not ``cmua`` (0.56 higher: the ascent is path dependent); none of the synthetic
towns nor Chiang Mai reaches 10 %.

Thirteenth session (``steiner.graph.build_csr`` by counting in one numba pass instead of a
stable argsort), 2026-11-27 20:05-20:12, quiet host: ``--sizes cm ph 20k 100k 300k`` this
checkout (after), then ``--repo`` at 595da65 (before; its cm and ph rows cannot run from a
temporary copy, which has no ``../shared`` beside it)::

      row   wall_s   cpu_s  design_s  gap_pct  cost_MTHB  rss_MiB
    after / before
       cm      3.0     3.9       1.5    11.99       82.3      280
       ph      2.5     3.1       1.3     3.44     1448.9      301
      20k      4.6     6.1       2.6    17.88      929.5      378
      20k      5.0     6.5       2.8    17.88      929.5      378
     100k     16.3    20.3       9.1    18.53     3700.7      713
     100k     18.2    22.6      10.4    18.53     3700.7      702
     300k     59.0    75.5      36.9    17.59    10726.3     1678
     300k     63.5    81.6      39.4    17.59    10726.3     1676

Same plans and bounds. Beyond the targets, one run of a 1,000,000-edge town with 10,000 sites
(``towns.make_town(edges_target=1_000_000, n_sites=10_000)``, ``connectivity -v plan``, before
this change, load average about 3 from other jobs): 441 s whole run, design stage 350 s, peak
RSS 4.8 GiB, all 10,003 sites connected, gap 18.38 %. Its design stage (py-spy, samples of all
threads): local search 38 %, per-operator dual ascent 27 %, joint dual ascent 12 %, graph
building 7 % (this change); coalitions 130 s, certified and routing bounds 105 s, plan gaps 36 s.

Fourteenth session (``output.write_geojson`` turns 20,000 features at a time into text: the road
layer's objects and JSON text were whole in memory while written), 2026-11-27 22:40-22:49, quiet
host: ``--sizes cm ph cmua corr 20k 100k 300k`` this checkout (after, 84aa972), then ``--repo`` at
341a2ad (before, a worktree under /work)::

      row   wall_s   cpu_s  design_s  gap_pct  cost_MTHB  rss_MiB
    after / before
       cm      2.6     3.6       1.4    11.99       82.3      279
       cm      3.0     4.0       1.6    11.99       82.3      280
       ph      2.3     2.9       1.2     3.44     1448.9      300
       ph      2.5     3.1       1.3     3.44     1448.9      300
     cmua      2.7     3.6       1.4    13.06       85.5      280
     cmua      2.7     3.5       1.4    13.06       85.5      281
     corr      2.5     3.0       1.0     6.54       53.7      311
     corr      2.3     2.8       0.9     6.54       53.7      311
      20k      4.5     5.9       2.6    17.88      929.5      369
      20k      4.8     6.2       2.7    17.88      929.5      378
     100k     15.3    18.9       8.5    18.53     3700.7      566
     100k     16.5    20.3       9.1    18.53     3700.7      752
     300k     53.8    68.7      33.6    17.59    10726.3     1082
     300k     57.9    74.0      35.1    17.59    10726.3     1682

Same plans, costs and gaps; the GeoJSON files byte for byte the same. Peak RSS falls where the
road layer is large: 100k -25 %, 300k -36 %; the before copy missed the 3 s target of cm once
(3.0 s: run-to-run noise on a target met with little room). The 1,000,000-edge town (10,000 sites)
after it, one run on the quiet host, RSS sampled every 0.25 s: 270 s whole, design stage 185 s,
peak RSS 2835 MiB, reached early in the design stage (the 4.8 GiB above: before this change and
the build_csr one, under load; at 300k the old peak was the road layer's writing).

Fifteenth session (the Lagrangian's best multipliers evaluated again with dual ascents from up to
16 roots; one operator's bound at its whole trench; the joint plan's bounds beside the other
plans' on threads), 2026-11-28 01:32-01:38, load average 1.2-1.7: ``--sizes cm ph cmua corr 20k
--repeat 3`` and ``--sizes 100k 300k`` at a6d5384 (after), then ``--repo`` at af1be3d (before, a
worktree under /work)::

      row   wall_s   cpu_s  design_s  gap_pct  cost_MTHB  rss_MiB
    after / before
       cm      2.6     3.7       1.5    11.53       82.3      282
       cm      2.7     3.7       1.4    11.99       82.3      279
       ph      2.3     3.0       1.3     3.36     1448.9      302
       ph      2.4     3.0       1.2     3.44     1448.9      300
     cmua      2.6     3.5       1.4    13.00       85.5      283
     cmua      2.7     3.5       1.3    13.06       85.5      280
     corr      2.2     2.8       0.9     6.54       53.7      314
     corr      2.3     2.8       0.8     6.54       53.7      310
      20k      4.4     6.1       2.6    17.58      929.5      384
      20k      4.7     6.1       2.6    17.88      929.5      370
     100k     13.9    18.9       7.2    18.53     3700.7      608
     100k     15.6    19.4       8.7    18.53     3700.7      545
     300k     47.1    67.1      27.3    17.59    10726.3     1255
     300k     55.1    71.2      34.6    17.59    10726.3     1086

Same plans. The 100k and 300k rows are one run each, under some load: four alternating runs of
the design stage alone gave 300k 30.3/30.3/27.9/28.4 s after the threads change against
32.8/28.3/30.1/30.2 s before it. The peak RSS rises with the bounds side by side (300k: 1197 and
1302 MiB against 1053 and 1112 in two paired runs). An earlier single run of cm at 3.0 s (load
1.0) missed the 3 s target: it has about 0.3 s of room.

Sixteenth session (each operator's share of its group's chambers counts the other operators'
lead-ins, 76c8c0e), 2026-11-28 about 02:32-02:41, load average about 1: ``--sizes cm ph cmua corr 20k
--repeat 3`` and ``--sizes 100k 300k`` at 76c8c0e (after), then ``--repo`` at 693d1fb (before, a
worktree under /work)::

      row   wall_s   cpu_s  design_s  gap_pct  cost_MTHB  rss_MiB
    after / before
       cm      2.7     3.8       1.5    10.16       82.3      283
       cm      2.8     3.8       1.5    11.53       82.3      282
       ph      2.4     3.0       1.3     2.87     1448.9      302
       ph      2.3     3.0       1.2     3.36     1448.9      302
     cmua      2.9     3.9       1.6    11.03       85.5      283
     cmua      2.7     3.7       1.4    13.00       85.5      285
     corr      2.3     2.9       1.0     6.54       53.7      314
     corr      2.3     2.9       1.0     6.54       53.7      314
      20k      4.3     6.0       2.5    17.08      929.5      392
      20k      4.5     6.1       2.5    17.58      929.5      394
     100k     13.8    18.7       7.0    17.89     3700.7      617
     100k     13.4    18.2       6.9    18.53     3700.7      621
     300k     47.6    67.4      28.5    16.96    10726.3     1292
     300k     41.6    57.6      23.2    17.59    10726.3     1313

Same plans. The 100k and 300k rows are one run each: two alternating in-process runs of the
300k design stage (coalitions + bounds) gave 23.1 and 24.8 s after against 23.3 and 26.4 s
before, so the 300k wall difference above is run-to-run spread.

Seventeenth session (reduced-cost fixing at the Lagrangian's best multipliers up to 10,000 edges,
and the lead-in terms of operators with required edges), 2026-11-28, load average about 1:
``--sizes cm ph cmua corr 20k --repeat 3`` at e7fd122 (after, 04:44-04:45), then ``--repo`` at
1a138db (before, a worktree under /work, 04:45-04:46); ``--sizes 100k 300k`` the same way, one run
each (04:46-04:51; the after run's checkout had this session's later edits to the fixing's time
limit, which these sizes do not run)::

      row   wall_s   cpu_s  design_s  gap_pct  cost_MTHB  rss_MiB
    after / before
       cm      2.9     4.1       1.7     9.35       82.3      286
       cm      2.9     4.0       1.6    10.16       82.3      285
       ph      2.6     3.3       1.4     2.86     1448.9      304
       ph      2.5     3.2       1.3     2.87     1448.9      302
     cmua      2.9     4.0       1.7     9.53       85.5      286
     cmua      3.0     4.0       1.6    11.03       85.5      287
     corr      2.5     3.1       1.0     6.54       53.7      315
     corr      2.6     3.2       1.0     6.54       53.7      314
      20k      4.7     6.6       2.7    17.08      929.5      383
      20k      5.0     6.8       2.7    17.08      929.5      383
     100k     16.9    22.9       9.0    17.89     3700.7      570
     100k     16.7    22.4       8.9    17.89     3700.7      593
     300k     59.5    83.8      35.9    16.96    10726.3     1310
     300k     55.7    79.7      34.3    16.96    10726.3     1309

Same plans. The rows above 10,000 edges (the limit of the fixing then; 4,000 since, after a 5k-edge
town's bounds took 0.6 s more for no gain) run the same code as before; their
times differ from the sixteenth session's by the host (both checkouts slower today). Chiang Mai's
bounds, in-process, five alternating runs each: 0.79-0.83 s with the fixing for the joint plan
only (as landed in the end), 0.90-0.94 s with 4 rounds for the other plans too (as measured in
the table), 0.72-0.99 s without. A later run of cm (best of 2, 05:23) took 3.0 s with the 4 rounds.

As landed (fixing up to 4,000 edges, the joint plan's bound only), ``--sizes cm ph cmua corr 5k
--repeat 3`` at 3f7894a (after, 05:26-05:27), then ``--repo`` at 1a138db (before, 05:27-05:28),
load average about 1.4::

      row   wall_s   cpu_s  design_s  gap_pct  cost_MTHB  rss_MiB
    after / before
       cm      2.9     4.0       1.6     9.35       82.3      284
       cm      2.8     3.9       1.5    10.16       82.3      283
       ph      2.5     3.2       1.4     2.86     1448.9      303
       ph      2.5     3.1       1.3     2.87     1448.9      303
     cmua      2.8     3.8       1.5     9.53       85.5      285
     cmua      2.8     3.8       1.5    11.03       85.5      283
     corr      2.4     3.0       1.0     6.54       53.7      315
     corr      2.3     2.9       1.0     6.54       53.7      314
       5k      2.8     4.0       1.7    12.29      244.0      318
       5k      2.8     3.9       1.6    12.29      244.0      318

Then the stand-alone plans' bounds got the fixing too (7cbffd8); ``--sizes cm ph cmua --repeat 3``
at 05:53: cm 2.6 s (design 1.5 s, gap 9.35 %), ph 2.2 s (2.86 %), cmua 2.6 s (9.53 %).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from towns import make_town

SIZES = {"20k": (20_000, 300), "100k": (100_000, 1_000), "300k": (300_000, 3_000)}
#: Rows of real scenarios (paths in the checkout): the gap target (<= 10 %) holds for them too.
SCENARIOS = {"cm": "data/scenarios/chiang_mai_nimman.toml", "ph": "data/scenarios/phuket_backbone.toml",
             "corr": "connectivity/data/examples/chiang_mai_corridor/scenario.toml"}
TARGET_S = {"cm": 3.0, "20k": 10.0, "100k": 60.0, "300k": 180.0}
TARGET_RSS_MIB = {"300k": 4096.0}
PROGRESS = re.compile(r"\[\d+/\d+\] (\w+) \(([\d.]+) s\)")


@dataclass
class Run:
    status: str                      # ok, timeout, error
    wall_s: float = float("nan")
    rss_mib: float = float("nan")
    cpu_s: float = float("nan")      # user + system seconds of the subprocess
    summary: dict = field(default_factory=dict)
    stages: dict = field(default_factory=dict)
    error: str = ""


def _size(name: str) -> tuple[int, int]:
    if name in SIZES:
        return SIZES[name]
    m = re.fullmatch(r"(\d+)k", name)
    if not m:
        raise SystemExit(f"unknown size {name!r}: use cm, ph, cmua, corr, 20k, 100k, 300k or <N>k")
    edges = int(m.group(1)) * 1000
    return edges, max(20, edges // 70)


def _read_pty(fd: int, out: list[tuple[float, bytes]]) -> None:
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            return
        if not chunk:
            return
        out.append((time.perf_counter(), chunk))


def _stages(chunks: list[tuple[float, bytes]], end: float) -> dict[str, float]:
    """Seconds per stage from the progress lines ``[i/n] stage (t s)`` (t since the start); the last
    stage (write) lasts from the arrival of its line to the end of the process."""
    marks, arrived = [], []
    for at, chunk in chunks:
        for m in PROGRESS.finditer(chunk.decode(errors="replace")):
            marks.append((m.group(1), float(m.group(2))))
            arrived.append(at)
    out = {name: round(marks[k + 1][1] - t, 2) for k, (name, t) in enumerate(marks[:-1])}
    if marks:
        out[marks[-1][0]] = round(end - arrived[-1], 2)
    return out


def run_plan(repo: Path, scenario: Path, timeout: float) -> Run:
    """One ``connectivity plan`` of ``scenario`` with the package of ``repo``."""
    import pty

    out = Path(tempfile.mkdtemp(prefix="design-scale-out-"))
    timing = out / "time.txt"
    plan_dir = out / "plan"
    cmd = [sys.executable, "-m", "connectivity.cli", "plan", str(scenario), "--out", str(plan_dir)]
    use_time = Path("/usr/bin/time").is_file()
    if use_time:
        cmd = ["/usr/bin/time", "-v", "-o", str(timing)] + cmd
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(repo)] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
               NUMBA_NUM_THREADS=os.environ.get("NUMBA_NUM_THREADS", "2"))
    master, slave = pty.openpty()
    chunks: list[tuple[float, bytes]] = []
    reader = threading.Thread(target=_read_pty, args=(master, chunks), daemon=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=repo, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=slave, start_new_session=True)
    os.close(slave)
    reader.start()
    try:
        proc.communicate(timeout=timeout)
        wall = time.perf_counter() - t0
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the process group of the child we started
        proc.wait()
        reader.join(timeout=5)
        os.close(master)
        shutil.rmtree(out, ignore_errors=True)
        return Run("timeout")
    reader.join(timeout=5)
    os.close(master)
    text = b"".join(c for _, c in chunks).decode(errors="replace")
    run = Run("ok", wall_s=wall, stages=_stages(chunks, t0 + wall))
    if use_time and timing.is_file():
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", timing.read_text())
        run.rss_mib = int(m.group(1)) / 1024 if m else float("nan")
        cpu = re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", timing.read_text())
        run.cpu_s = sum(map(float, cpu)) if len(cpu) == 2 else float("nan")
    summary = plan_dir / "summary.json"
    if proc.returncode != 0 or not summary.is_file():
        lines = [ln for ln in text.splitlines() if ln.strip() and not PROGRESS.search(ln)]
        run.status, run.error = "error", (lines[-1] if lines else f"exit code {proc.returncode}")[:200]
    else:
        run.summary = json.loads(summary.read_text())
        timings = plan_dir / "timings.json"   # run times live here since issue 12 (summary.json is reproducible)
        if timings.is_file():
            run.summary.update(json.loads(timings.read_text()))
    shutil.rmtree(out, ignore_errors=True)
    return run


def _with_design(scenario: Path, out: Path, line: str) -> Path:
    """A copy of ``scenario`` at ``out`` with ``line`` in its ``[design]`` table (its relative
    ``osm`` and ``operators`` paths made absolute)."""
    text = scenario.read_text()
    for key in ("osm", "operators"):
        text = re.sub(rf'^{key} = "([^"]+)"', lambda m: f'{key} = "{(scenario.parent / m.group(1)).resolve().as_posix()}"',
                      text, flags=re.M)
    out.write_text(text + f"\n[design]\n{line}\n")
    return out


def fmt_row(name: str, run: Run, n_sites_target: int | None) -> str:
    s = run.summary
    target = TARGET_S.get(name)
    if run.status != "ok":
        cells = [name, run.status] + ["-"] * 10
        line = " ".join(f"{c:>{w}}" for c, w in zip(cells, WIDTHS))
        return line + (f"  {run.error}" if run.error else "")
    net = s.get("network", {})
    ok_t = "yes" if target is None or run.wall_s <= target else "NO"
    rss_t = TARGET_RSS_MIB.get(name)
    if rss_t is not None and not (run.rss_mib <= rss_t):
        ok_t = "NO"
    cells = [name, f"{run.wall_s:.1f}", f"{run.cpu_s:.1f}", f"{s.get('design_seconds', float('nan')):.1f}",
             f"{s.get('gap_pct', float('nan')):.2f}", f"{s.get('total_cost', float('nan')) / 1e6:.1f}",
             f"{run.rss_mib:.0f}", str(net.get("edges", "?")), str(len(net.get("components", [])) or "?"),
             f"{s.get('sites_connected', '?')}/{s.get('sites_total', '?')}",
             f"{target:g}" if target else "-", ok_t]
    stages = " ".join(f"{k} {v:.1f}" for k, v in run.stages.items())
    return " ".join(f"{c:>{w}}" for c, w in zip(cells, WIDTHS)) + f"  {stages}"


HEADER = ("row", "wall_s", "cpu_s", "design_s", "gap_pct", "cost_MTHB", "rss_MiB", "edges", "comps", "sites", "target_s", "met")
WIDTHS = (5, 8, 7, 9, 8, 10, 8, 8, 6, 10, 9, 4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", default=str(HERE.parent), help="checkout whose connectivity package runs "
                        "(default: this one)")
    parser.add_argument("--sizes", nargs="+", default=["cm", "20k"],
                        help="rows: cm ph cmua corr (Chiang Mai, Phuket, Chiang Mai with underground_aerial, the Chiang Mai "
                        "corridor example) 20k 100k 300k (or <N>k)")
    parser.add_argument("--repeat", type=int, default=1, help="timed warm runs per row; the best is shown")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per run before giving up")
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up run of each row")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic towns")
    args = parser.parse_args(argv)
    repo = Path(args.repo).resolve()
    probe = subprocess.run([sys.executable, "-c", "import connectivity; print(connectivity.__file__)"], cwd=repo,
                           env=dict(os.environ, PYTHONPATH=str(repo)), capture_output=True, text=True, check=False)
    pkg = probe.stdout.strip() or probe.stderr.strip().splitlines()[-1]
    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip() or "?"
    dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, check=False).stdout.strip()
    print(f"repo {repo} (commit {commit}{', modified' if dirty else ''}); package {pkg}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpu(s), best of {args.repeat} warm run(s), "
          f"timeout {args.timeout:g} s, {time.strftime('%Y-%m-%d %H:%M')}, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if not pkg.startswith(str(repo)):
        print(f"warning: {repo} does not provide the imported connectivity package", file=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix="design-scale-"))
    ops_file = next((p for p in (repo / "connectivity" / "data" / "operators" / "default.toml",
                                 repo / "data" / "operators" / "default.toml") if p.is_file()), Path("-"))
    rows: list[tuple[str, Path, int | None]] = []
    for name in args.sizes:
        if name in SCENARIOS:
            rows.append((name, repo / SCENARIOS[name], None))
            continue
        if name == "cmua":   # Chiang Mai with [design] underground_aerial: the overhead line's roads required
            rows.append((name, _with_design(repo / SCENARIOS["cm"], work / "cmua.toml", "underground_aerial = true"), None))
            continue
        edges, n_sites = _size(name)
        t0 = time.perf_counter()
        town = make_town(work / name, edges_target=edges, n_sites=n_sites, seed=args.seed,
                         operators_file=ops_file if ops_file.is_file() else None, details=True)
        print(f"town {name}: {edges} edges wanted, ~{town.edges_estimate} expected after noding, {town.ways} ways, "
              f"{n_sites} sites + 3 hubs, {town.extent_km[0]} x {town.extent_km[1]} km, written in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
        rows.append((name, town.scenario, n_sites))
    print()
    print(" ".join(f"{h:>{w}}" for h, w in zip(HEADER, WIDTHS)) + "  stages_s", flush=True)
    try:
        for name, scenario, n_sites in rows:
            if not args.no_warmup:
                warm = run_plan(repo, scenario, args.timeout)
                if warm.status != "ok":
                    print(fmt_row(name, warm, n_sites), flush=True)
                    continue
            best: Run | None = None
            for _ in range(max(1, args.repeat)):
                r = run_plan(repo, scenario, args.timeout)
                if r.status != "ok":
                    best = r
                    break
                if best is None or r.wall_s < best.wall_s:
                    best = r
            print(fmt_row(name, best, n_sites), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\nwall_s: whole `connectivity plan` subprocess (best run), cpu_s: its user + system seconds; "
          "design_s, gap_pct: summary.json;\ncost in million THB; rss: peak of the subprocess (/usr/bin/time -v); "
          "edges, comps: road network after noding; stages_s: from the CLI's progress lines.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
