"""Loading and network building on the real extracts: seconds and sizes.

Compares our path (pyosmium filters highway ways -> osmnx graph) on the .osm and .osm.pbf
files of Chiang Mai against osmnx reading the whole XML (every way becomes an edge), and
times the noding of the Phuket road lines. Run: python benchmarks/load.py
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "osm"


def timed(fn, repeat: int = 3):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=SHARED)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import osmnx as ox

    from connectivity.config import Options
    from connectivity.load import read_osm, read_road_lines
    from connectivity.network import roads_network

    exclude = Options().highway_exclude
    cm = args.data / "chiang_mai" / "chiang_mai_nimman_cmu_2023-02-27"
    print(f"{'step':48s} {'seconds':>8s}  result")
    for suffix in (".osm", ".osm.pbf"):
        secs, layers = timed(lambda: read_osm(cm.with_name(cm.name + suffix), highway_exclude=exclude), args.repeat)
        print(f"{'read_osm (pyosmium filter + osmnx) ' + suffix:48s} {secs:8.2f}  {len(layers.roads)} road edges, "
              f"{len(layers.buildings)} buildings, {len(layers.pois)} POIs")
    secs, net = timed(lambda: roads_network(layers.roads), args.repeat)
    print(f"{'network (project + build), Chiang Mai':48s} {secs:8.2f}  {len(net.nodes)} nodes, {len(net.edges)} edges, "
          f"{net.edges['length_m'].sum() / 1000:.1f} km")
    ox.settings.use_cache = False
    secs, G = timed(lambda: ox.graph_from_xml(cm.with_name(cm.name + ".osm"), retain_all=True), args.repeat)
    print(f"{'peer: osmnx.graph_from_xml on the whole file':48s} {secs:8.2f}  {G.number_of_nodes()} nodes, "
          f"{G.number_of_edges()} edges (buildings and power lines included)")
    roads = args.data / "phuket" / "phuket-roads.geojson"
    secs, lines = timed(lambda: read_road_lines(roads), args.repeat)
    print(f"{'read Phuket road lines':48s} {secs:8.2f}  {len(lines)} lines")
    secs, net = timed(lambda: roads_network(lines, tolerance_m=2.0), args.repeat)
    print(f"{'node + network, Phuket':48s} {secs:8.2f}  {len(net.nodes)} nodes, {len(net.edges)} edges, "
          f"{net.edges['length_m'].sum() / 1000:.1f} km, components {list(net.component_sizes.values())}")


if __name__ == "__main__":
    main()
