"""Cost of each pipeline stage as inputs grow, on synthetic road grids.

A perturbed street grid of k x k blocks (100 m) in UTM 47N with random sites; prints
seconds per stage (noding, network, site attachment, Steiner plan, duct segments) and
peak RSS for each size. Run: python benchmarks/pipeline_scale.py [--sizes 20 50 100 200]
"""
from __future__ import annotations

import argparse
import resource
import time

import geopandas as gpd
import numpy as np
import shapely

from connectivity import plan
from connectivity.network import attach_sites, build_network, node_lines

CRS = "EPSG:32647"


def grid_lines(k: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """k+1 east-west and k+1 north-south streets, 100 m apart, gently bent, 5% removed."""
    lines = []
    span = np.linspace(0, 100 * k, 4 * k + 1)
    for i in range(k + 1):
        wobble = rng.normal(0, 2, len(span))
        lines.append(np.column_stack([span, 100 * i + wobble]))
        lines.append(np.column_stack([100 * i + wobble, span]))
    geoms = [shapely.LineString(c + [500_000, 2_000_000]) for c in lines]
    return gpd.GeoDataFrame({"highway": ["residential"] * len(geoms)}, geometry=geoms, crs=CRS)


def sites(k: int, n: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    xy = rng.uniform(0, 100 * k, size=(n, 2)) + [500_000, 2_000_000]
    ops = rng.choice(["TOT", "CAT", "PEA"], size=n)
    return gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(n)], "operator": ops, "kind": "x"},
                            geometry=shapely.points(xy), crs=CRS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 50, 100, 200])
    parser.add_argument("--sites-per-km2", type=float, default=20.0)
    args = parser.parse_args()
    print(f"{'blocks':>7s} {'edges':>8s} {'sites':>6s} {'node_s':>7s} {'net_s':>6s} {'attach_s':>8s} "
          f"{'steiner_s':>9s} {'segments_s':>10s} {'gap_pct':>7s} {'rss_mb':>7s}")
    for k in args.sizes:
        rng = np.random.default_rng(k)
        roads = grid_lines(k, rng)
        n_sites = max(10, int(args.sites_per_km2 * (k / 10) ** 2))
        t0 = time.perf_counter()
        noded = node_lines(roads, tolerance_m=1.0)
        t1 = time.perf_counter()
        net = build_network(noded)
        t2 = time.perf_counter()
        net2, s = attach_sites(net, sites(k, n_sites, rng), max_distance_m=200)
        t3 = time.perf_counter()
        reach = plan.reachable_terminals(net2, s)
        tree = plan.steiner_per_component(net2, s.loc[reach, "node_id"].to_numpy(np.int64),
                                          net2.edges["length_m"].to_numpy(float))
        t4 = time.perf_counter()
        plan.duct_segments(net2, tree.edge_ids, s)
        t5 = time.perf_counter()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        gap = 100 * (tree.cost / tree.lower_bound - 1) if tree.lower_bound else 0.0
        print(f"{k:7d} {len(net2.edges):8d} {n_sites:6d} {t1 - t0:7.2f} {t2 - t1:6.2f} {t3 - t2:8.2f} "
              f"{t4 - t3:9.2f} {t5 - t4:10.2f} {gap:7.2f} {rss:7.0f}", flush=True)


if __name__ == "__main__":
    main()
