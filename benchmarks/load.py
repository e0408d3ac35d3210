"""Loading and network building on the real extracts: CPU seconds, wall seconds and sizes.

On the .osm and .osm.pbf files of Chiang Mai, times ``read_osm`` (one pyosmium pass; road
edges built from it directly, issue #10) against the former route, rebuilt here through
osmnx (pyosmium scan, highway ways written to a temporary XML, ``osmnx.graph_from_xml`` +
``simplify_graph`` + ``roads_from_graph``), checks both give the same road rows in the same
order, and compares with osmnx reading the whole XML (every way becomes an edge). Then
times the noding of the Phuket road lines. Best of ``--repeat`` runs. Run:
python benchmarks/load.py

Run on 2 shared cores, 2026-11-26 (best of 5; CPU = this process's user + sys seconds):

    read_osm, now (one pyosmium pass) .osm           0.33 s wall   0.32 s CPU   2077 road edges
    former route (pyosmium + XML + osmnx) .osm       1.26 s wall   1.25 s CPU   same rows, same order
    read_osm, now (one pyosmium pass) .osm.pbf       0.26 s wall   0.26 s CPU   2077 road edges
    former route (pyosmium + XML + osmnx) .osm.pbf   1.01 s wall   1.02 s CPU   same rows, same order

The former route here reuses today's scan (untagged nodes filtered in C++); the former
read_osm itself (commit 0cef26d) took 1.31 s (.osm) and 1.22 s (.pbf) CPU in the same session.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "osm"
sys.path.insert(0, str(REPO))  # time this checkout's package, whatever is installed


def timed(fn, repeat: int = 3):
    """Best wall seconds and the result of ``fn``."""
    secs, _, out = timed_cpu(fn, repeat)
    return secs, out


def timed_cpu(fn, repeat: int = 3):
    """Best wall seconds, best CPU seconds (this process) and the result of ``fn``."""
    best, best_cpu, out = float("inf"), float("inf"), None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        best_cpu = min(best_cpu, time.process_time() - c)
        best = min(best, time.perf_counter() - t)
    return best, best_cpu, out


def former_read_roads(path: Path, exclude):
    """Road edges the way read_osm made them before issue #10: scan, highway XML, osmnx."""
    import osmium
    import osmnx as ox

    from connectivity import load

    col = load._scan_osm(path, frozenset(exclude))
    nodes = set()
    for refs in col.way_refs:
        nodes.update(refs)
    ways = set(col.way_ids)
    with tempfile.TemporaryDirectory(prefix="connectivity-bench-") as tmp:
        xml = Path(tmp) / "highways.osm"
        with osmium.SimpleWriter(str(xml)) as writer:
            for obj in osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY):
                if obj.is_node() and obj.id in nodes:
                    writer.add_node(obj)
                elif obj.is_way() and obj.id in ways:
                    writer.add_way(obj)
        with load._osmnx_settings():
            G = ox.graph_from_xml(xml, bidirectional=True, simplify=False, retain_all=True)
            G = ox.simplify_graph(G, edge_attrs_differ=list(load.SIMPLIFY_KEEP))
    return load.roads_from_graph(G)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=SHARED)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import osmnx as ox

    from connectivity.config import Options
    from connectivity.load import _osmnx_settings, read_osm, read_road_lines
    from connectivity.network import roads_network

    exclude = Options().highway_exclude
    cm = args.data / "chiang_mai" / "chiang_mai_nimman_cmu_2023-02-27"
    print(f"{'step':48s} {'wall s':>7s} {'CPU s':>7s}  result")
    for suffix in (".osm", ".osm.pbf"):
        src = cm.with_name(cm.name + suffix)
        secs, cpu, layers = timed_cpu(lambda src=src: read_osm(src, highway_exclude=exclude), args.repeat)
        print(f"{'read_osm, now (one pyosmium pass) ' + suffix:48s} {secs:7.2f} {cpu:7.2f}  {len(layers.roads)} road edges, "
              f"{len(layers.buildings)} buildings, {len(layers.pois)} POIs")
        secs, cpu, former = timed_cpu(lambda src=src: former_read_roads(src, exclude), args.repeat)
        same = (len(former) == len(layers.roads)
                and all(a.equals_exact(b, 0) for a, b in zip(former.geometry, layers.roads.geometry))
                and former.drop(columns="geometry").fillna("").equals(layers.roads.drop(columns="geometry").fillna("")))
        print(f"{'former route (pyosmium + XML + osmnx) ' + suffix:48s} {secs:7.2f} {cpu:7.2f}  {len(former)} road edges, "
              f"{'same rows in the same order' if same else 'DIFFERENT ROWS'}")
    secs, net = timed(lambda: roads_network(layers.roads), args.repeat)
    print(f"{'network (project + build), Chiang Mai':48s} {secs:7.2f} {'':7s}  {len(net.nodes)} nodes, {len(net.edges)} edges, "
          f"{net.edges['length_m'].sum() / 1000:.1f} km")
    with _osmnx_settings():
        secs, G = timed(lambda: ox.graph_from_xml(cm.with_name(cm.name + ".osm"), retain_all=True), args.repeat)
    print(f"{'peer: osmnx.graph_from_xml on the whole file':48s} {secs:7.2f} {'':7s}  {G.number_of_nodes()} nodes, "
          f"{G.number_of_edges()} edges (buildings and power lines included)")
    roads = args.data / "phuket" / "phuket-roads.geojson"
    secs, lines = timed(lambda: read_road_lines(roads), args.repeat)
    print(f"{'read Phuket road lines':48s} {secs:7.2f} {'':7s}  {len(lines)} lines")
    secs, net = timed(lambda: roads_network(lines, tolerance_m=2.0), args.repeat)
    print(f"{'node + network, Phuket':48s} {secs:7.2f} {'':7s}  {len(net.nodes)} nodes, {len(net.edges)} edges, "
          f"{net.edges['length_m'].sum() / 1000:.1f} km, components {list(net.component_sizes.values())}")


if __name__ == "__main__":
    main()
