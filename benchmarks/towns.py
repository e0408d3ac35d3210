"""Synthetic towns for scale benchmarks: road lines + sites CSV + scenario TOML.

``make_town(folder, edges_target=20_000, n_sites=300)`` writes into ``folder``:

``roads.gpkg``
    Road centre lines in UTM 47N (EPSG:32647, around Chiang Mai) like OSM ways, so that the
    whole pipeline runs, noding included: a perturbed grid (blocks of 80-150 m, node jitter)
    with 10-20 % of the street segments removed (never a segment of a random spanning tree,
    so the grid stays connected), OSM ``highway`` classes (primary / secondary arterials every
    few blocks, tertiary, mostly residential, a few unclassified / living_street), ``name``,
    ``ref``, ``surface``, ``lanes``. Each street is cut into ways running through several
    grid nodes, so the noder must split them at the junctions. Service lanes (soi) branch off
    the middle of a segment and stop 0.4 m short of it (joined by ``node_tolerance_m``), and
    one diagonal secondary road crosses the grid between nodes (real crossings to node).
``sites.csv``
    ``site_id, operator, kind, name, x, y`` (EPSG:32647): points 5-60 m off a street, spread
    over the operators.
``operators.toml``
    A copy of the operators file (``operators_file``, default: this repo's).
``town.toml``
    The scenario (``[inputs] roads/sites/operators``, ``[hubs]`` one per operator in lon/lat).

Everything is drawn from ``numpy.random.default_rng(seed)``: the same arguments give the same
files. The edge count after noding is estimated exactly enough (``Town.edges_estimate``) to
size the grid; the pipeline's own count is in ``summary.json`` (``network.edges``).
"""
from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CRS = "EPSG:32647"
ORIGIN = (490_000.0, 2_065_000.0)  # UTM 47N, Chiang Mai
REPO = Path(__file__).resolve().parent.parent
REMOVAL = 0.15            # share of grid segments removed (outside the spanning tree and arterials)
SPUR_SHARE = 0.04         # service lanes per grid segment
ARTERIAL_NAMES = ("Huay Kaew", "Suthep", "Nimmanhaemin", "Sirimangkalajarn", "Chotana", "Mahidol", "Chang Klan",
                  "Charoen Rat", "Tha Phae", "Ratchadamnoen", "Sanam Bin", "Khlong Chonprathan", "Chiang Mai-Lamphun",
                  "Wua Lai", "Thipanet", "Fa Ham", "Kaeo Nawarat", "Bamrung Rat", "Mani Noparat", "Rattanakosin")
KINDS = {"TOT": ("post_office", "government", "police"), "CAT": ("school", "university", "college"),
         "PEA": ("clinic", "hospital", "substation")}


@dataclass(frozen=True)
class Town:
    """What :func:`make_town` wrote."""

    scenario: Path
    roads: Path
    sites: Path
    ways: int
    edges_estimate: int
    n_sites: int
    extent_km: tuple[float, float]


def _street_class(k: int, n: int) -> str:
    """OSM highway class of the k-th of n parallel streets: arterials every few blocks."""
    if n >= 12 and k % 12 == 6:
        return "primary"
    if k % 6 == 3:
        return "secondary"
    if k % 3 == 0 and 0 < k < n - 1:
        return "tertiary"
    return "residential"


def _spanning_tree(n_nodes: int, a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mask of the edges of a random spanning tree (minimum spanning tree of random weights)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import minimum_spanning_tree

    w = rng.uniform(1.0, 2.0, len(a))
    mst = minimum_spanning_tree(coo_matrix((w, (a, b)), shape=(n_nodes, n_nodes))).tocoo()
    key = np.minimum(a, b) * n_nodes + np.maximum(a, b)
    tree_key = np.minimum(mst.row, mst.col).astype(np.int64) * n_nodes + np.maximum(mst.row, mst.col)
    return np.isin(key, tree_key)


def _grid_size(edges_target: int) -> int:
    """Grid nodes per side giving about ``edges_target`` road edges after noding."""
    # 2 n^2 segments, REMOVAL of them gone; degree-2 straight nodes inside a way merge two
    # segments; spurs add 2 edges each. Measured factor ~0.975 (see Town.edges_estimate).
    per_node = 2 * (1 - REMOVAL) * (1 + 2 * SPUR_SHARE) * 0.975
    return max(4, round(math.sqrt(edges_target / per_node)))


def make_town(folder: str | Path, *, edges_target: int, n_sites: int, operators=("TOT", "CAT", "PEA"),
              seed: int = 0, operators_file: str | Path | None = None, design: dict | None = None,
              details: bool = False):
    """Write a synthetic town (roads, sites, scenario) into ``folder``; return the scenario TOML path.

    Parameters
    ----------
    edges_target
        Road edges wanted after noding (the result is usually within a few percent).
    n_sites
        Sites, spread evenly at random over ``operators`` (plus one hub per operator).
    operators_file
        Operator TOML copied beside the scenario (default: ``data/operators/default.toml`` of this repo).
    design
        Optional ``[design]`` table of the scenario (e.g. ``{"rounds": 1}``); default: none (package defaults).
    details
        Return the :class:`Town` record instead of the path.
    """
    import geopandas as gpd
    import pandas as pd
    import shapely
    from pyproj import Transformer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n = _grid_size(edges_target)
    nx = ny = n
    # ------------------------------------------------------------------ grid nodes
    xs = np.concatenate([[0.0], np.cumsum(rng.uniform(80, 150, nx - 1))])
    ys = np.concatenate([[0.0], np.cumsum(rng.uniform(80, 150, ny - 1))])
    X = xs[:, None] + np.clip(rng.normal(0, 4, (nx, ny)), -10, 10) + ORIGIN[0]
    Y = ys[None, :] + np.clip(rng.normal(0, 4, (nx, ny)), -10, 10) + ORIGIN[1]
    nid = np.arange(nx * ny).reshape(nx, ny)  # node (i, j): i along x, j along y
    # segments: horizontal (i,j)-(i+1,j) on row j; vertical (i,j)-(i,j+1) on column i
    ha, hb = nid[:-1, :].ravel(), nid[1:, :].ravel()
    va, vb = nid[:, :-1].ravel(), nid[:, 1:].ravel()
    a, b = np.concatenate([ha, va]), np.concatenate([hb, vb])
    horizontal = np.r_[np.ones(len(ha), bool), np.zeros(len(va), bool)]
    line_no = np.r_[(ha % ny), (va // ny)]  # row j of horizontal, column i of vertical segments
    cls_h = np.array([_street_class(j, ny) for j in range(ny)])
    cls_v = np.array([_street_class(i, nx) for i in range(nx)])
    seg_class = np.where(horizontal, cls_h[line_no], cls_v[line_no])
    # ------------------------------------------------------------------ removals, keeping it connected
    keep_always = _spanning_tree(nx * ny, a, b, rng) | np.isin(seg_class, ("primary", "secondary"))
    candidates = np.flatnonzero(~keep_always)
    n_remove = min(len(candidates), round(REMOVAL * len(a)))
    removed = np.zeros(len(a), bool)
    removed[rng.choice(candidates, size=n_remove, replace=False)] = True
    present = ~removed
    deg_h = np.bincount(np.r_[a[present & horizontal], b[present & horizontal]], minlength=nx * ny)
    deg_v = np.bincount(np.r_[a[present & ~horizontal], b[present & ~horizontal]], minlength=nx * ny)
    # ------------------------------------------------------------------ ways
    rows: list[dict] = []
    geoms: list = []
    merged = 0  # degree-2 straight-through nodes inside a way (two segments, one edge)
    street_names: dict[tuple[bool, int], str] = {}
    soi = 0
    for is_h, count, other in ((True, ny, nx), (False, nx, ny)):
        for k in range(count):
            cls = (cls_h if is_h else cls_v)[k]
            if cls in ("primary", "secondary"):
                base = ARTERIAL_NAMES[(k // 3 + (0 if is_h else 7)) % len(ARTERIAL_NAMES)]
                name = f"{base} Road" if (k // 3) < len(ARTERIAL_NAMES) else f"{base} Road {k // 3}"
            elif cls == "tertiary":
                name = f"Thanon {ARTERIAL_NAMES[(k + (3 if is_h else 11)) % len(ARTERIAL_NAMES)]} {k}"
            else:
                soi += 1
                name = f"Soi {ARTERIAL_NAMES[(k // 6) % len(ARTERIAL_NAMES)]} {soi}"
            street_names[(is_h, k)] = name
            nodes_on_line = nid[:, k] if is_h else nid[k, :]
            seg_present = np.array([present[_seg_index(is_h, int(nodes_on_line[t]), nx, ny)] for t in range(other - 1)])
            t = 0
            while t < other - 1:
                if not seg_present[t]:
                    t += 1
                    continue
                run_end = t
                while run_end < other - 1 and seg_present[run_end]:
                    run_end += 1  # segments t .. run_end-1 present
                while t < run_end:
                    long_way = cls in ("primary", "secondary")
                    length = int(rng.integers(5, 21) if long_way else rng.integers(2, 11))
                    stop = min(run_end, t + length)
                    pts = nodes_on_line[t:stop + 1]
                    highway = cls
                    if cls == "residential":
                        highway = str(rng.choice(["residential", "residential", "residential", "residential",
                                                  "residential", "residential", "unclassified", "living_street"]))
                    coords = _way_coords(X.ravel()[pts], Y.ravel()[pts], wobble=0.0 if long_way else 1.5, rng=rng)
                    inner = pts[1:-1]
                    merged += int(np.sum((deg_h[inner] + deg_v[inner] == 2)
                                         & ((deg_h[inner] == 2) if is_h else (deg_v[inner] == 2))))
                    geoms.append(shapely.LineString(coords))
                    rows.append(_attrs(highway, name, len(rows), rng))
                    t = stop
    segs_present = int(present.sum())
    # ------------------------------------------------------------------ service lanes (soi) from mid-segment
    seg_ids = np.flatnonzero(present)
    n_spurs = round(SPUR_SHARE * len(seg_ids))
    Xf, Yf = X.ravel(), Y.ravel()
    spur_seg = rng.choice(seg_ids, size=n_spurs, replace=False)
    spur_t = rng.uniform(0.3, 0.7, n_spurs)
    guess = np.column_stack([Xf[a[spur_seg]] + spur_t * (Xf[b[spur_seg]] - Xf[a[spur_seg]]),
                             Yf[a[spur_seg]] + spur_t * (Yf[b[spur_seg]] - Yf[a[spur_seg]])])
    grid_geoms = np.asarray(geoms, dtype=object)
    if n_spurs:  # the foot on the (bent) way itself
        near = shapely.STRtree(grid_geoms).query_nearest(shapely.points(guess), return_distance=False,
                                                         all_matches=False)[1]
        on_way = shapely.line_interpolate_point(grid_geoms[near], shapely.line_locate_point(grid_geoms[near],
                                                                                          shapely.points(guess)))
        feet = shapely.get_coordinates(on_way)
    for s, foot in zip(spur_seg, feet if n_spurs else []):
        p, q = np.array([Xf[a[s]], Yf[a[s]]]), np.array([Xf[b[s]], Yf[b[s]]])
        d = q - p
        normal = np.array([-d[1], d[0]]) / np.hypot(*d)
        side = 1 if rng.random() < 0.5 else -1
        start = foot + side * normal * 0.4  # stops short of the street: joined by node_tolerance_m
        length = rng.uniform(20, 35)
        bend = rng.normal(0, 3)
        mid = foot + side * normal * length * 0.5 + d / np.hypot(*d) * bend
        end = foot + side * normal * length + d / np.hypot(*d) * bend * 1.5
        geoms.append(shapely.LineString([start, mid, end]))
        rows.append(_attrs("service", f"Soi {len(rows)}", len(rows), rng))
    # ------------------------------------------------------------------ one diagonal road between the nodes
    crossings = 0
    if n >= 15:
        x0, y0 = Xf.min() + 0.25 * (xs[-1]), Yf.min() + 0.02 * ys[-1]
        x1, y1 = Xf.min() + 0.85 * (xs[-1]), Yf.min() + 0.97 * ys[-1]
        steps = max(2, n // 4)
        diag = shapely.LineString(np.column_stack([np.linspace(x0, x1, steps + 1) + rng.normal(0, 5, steps + 1),
                                                   np.linspace(y0, y1, steps + 1)]))
        hits = shapely.STRtree(grid_geoms).query(diag, predicate="intersects")
        pts = shapely.get_parts(shapely.intersection(diag, grid_geoms[hits]))
        crossings = len(pts)
        geoms.append(diag)
        rows.append(_attrs("secondary", "Superhighway", len(rows), rng) | {"ref": "11"})
    # estimate of noded edges: grid segments, less merged through-nodes, +2 per spur, +2 per crossing
    edges_estimate = segs_present - merged + 2 * n_spurs + (2 * crossings + 1 if crossings else 0)
    roads = gpd.GeoDataFrame(rows, geometry=geoms, crs=CRS)
    roads_path = folder / "roads.gpkg"
    roads.to_file(roads_path, layer="roads", driver="GPKG", engine="pyogrio")
    # ------------------------------------------------------------------ sites near streets
    ops = list(operators)
    seg_len = np.hypot(Xf[b[seg_ids]] - Xf[a[seg_ids]], Yf[b[seg_ids]] - Yf[a[seg_ids]])
    pick = rng.choice(seg_ids, size=n_sites, replace=True, p=seg_len / seg_len.sum())
    site_rows = []
    for k, s in enumerate(pick):
        p, q = np.array([Xf[a[s]], Yf[a[s]]]), np.array([Xf[b[s]], Yf[b[s]]])
        d = q - p
        normal = np.array([-d[1], d[0]]) / np.hypot(*d)
        xy = p + rng.uniform(0.1, 0.9) * d + normal * rng.uniform(5, 60) * (1 if rng.random() < 0.5 else -1)
        op = ops[int(rng.integers(len(ops)))] if k >= len(ops) else ops[k]  # every operator gets sites
        kinds = KINDS.get(op, ("site",))
        kind = str(kinds[int(rng.integers(len(kinds)))])
        site_rows.append({"site_id": f"S{k:05d}", "operator": op, "kind": kind,
                          "name": f"{kind.replace('_', ' ').title()} {k}", "x": round(float(xy[0]), 2),
                          "y": round(float(xy[1]), 2)})
    sites_path = folder / "sites.csv"
    pd.DataFrame(site_rows).to_csv(sites_path, index=False)
    # ------------------------------------------------------------------ hubs: 10 m off the central arterial
    to_wgs = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    hubs = {}
    c = n // 2
    for k, op in enumerate(ops):
        i = min(nx - 1, c + k)
        lon, lat = to_wgs.transform(Xf[nid[i, c]] + 12.0, Yf[nid[i, c]] + 10.0)
        hubs[op] = (round(lon, 7), round(lat, 7))
    ops_src = Path(operators_file) if operators_file else next(
        p for p in (REPO / "connectivity" / "data" / "operators" / "default.toml",   # packaged (now)
                    REPO / "data" / "operators" / "default.toml") if p.is_file())       # before issue 11
    shutil.copyfile(ops_src, folder / "operators.toml")
    scenario = folder / "town.toml"
    hub_lines = "\n".join(f"{op} = [{lon}, {lat}]" for op, (lon, lat) in hubs.items())
    scenario.write_text(
        f'# Synthetic town (benchmarks/towns.py): {n} x {n} grid, seed {seed}, about {edges_estimate} edges\n'
        f'name = "Synthetic town {edges_target} edges / {n_sites} sites"\n'
        f'province = "Chiang Mai"\n\n'
        f'[inputs]\nroads = "roads.gpkg"\nsites = "sites.csv"\ncrs = "{CRS}"\noperators = "operators.toml"\n\n'
        f'[options]\ncrs = "{CRS}"\nmax_site_distance_m = 250.0\nnode_tolerance_m = 1.0\n\n'
        f'[hubs]\n{hub_lines}\n'
        + ("\n[design]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in design.items()) if design else ""))
    if details:
        return Town(scenario=scenario, roads=roads_path, sites=sites_path, ways=len(rows),
                    edges_estimate=int(edges_estimate), n_sites=n_sites,
                    extent_km=(round(float(xs[-1]) / 1000, 2), round(float(ys[-1]) / 1000, 2)))
    return scenario


def _toml_value(v) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else repr(v)


def _seg_index(is_h: bool, node: int, nx: int, ny: int) -> int:
    """Index (in the concatenated segment arrays) of the segment leaving ``node`` in +x or +y."""
    i, j = divmod(node, ny)
    return i * ny + j if is_h else (nx - 1) * ny + i * (ny - 1) + j


def _way_coords(x: np.ndarray, y: np.ndarray, *, wobble: float, rng: np.random.Generator) -> np.ndarray:
    """Vertices of a way through grid nodes, with a slightly bent midpoint between nodes."""
    p = np.column_stack([x, y])
    if wobble <= 0:
        return p
    d = p[1:] - p[:-1]
    normal = np.column_stack([-d[:, 1], d[:, 0]]) / np.hypot(d[:, 0], d[:, 1])[:, None]
    mids = (p[1:] + p[:-1]) / 2 + normal * rng.normal(0, wobble, (len(d), 1))
    out = np.empty((2 * len(p) - 1, 2))
    out[0::2], out[1::2] = p, mids
    return out


def _attrs(highway: str, name: str, way: int, rng: np.random.Generator) -> dict:
    lanes = {"primary": "4", "secondary": "2", "tertiary": "2"}.get(highway)
    surface = "asphalt" if highway in ("primary", "secondary", "tertiary") else \
        str(rng.choice(["asphalt", "concrete", "concrete", "paved"]))
    return {"osm_id": f"w{100_000_000 + way}", "highway": highway, "name": name,
            "ref": {"primary": "108"}.get(highway), "surface": surface, "lanes": lanes}


if __name__ == "__main__":
    import argparse
    import tempfile

    ap = argparse.ArgumentParser(description="write a synthetic town and print its size")
    ap.add_argument("--edges", type=int, default=2000)
    ap.add_argument("--sites", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="folder (default: a new temporary folder)")
    ns = ap.parse_args()
    town = make_town(ns.out or tempfile.mkdtemp(prefix="town-"), edges_target=ns.edges, n_sites=ns.sites,
                     seed=ns.seed, details=True)
    print(town)
