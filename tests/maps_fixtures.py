"""Synthetic duct plans for the coverage and map tests and the map benchmark.

A square street grid (block edge ``spacing_m``) in UTM zone 47N near Chiang Mai;
every grid edge is a duct segment with a small kink in the middle, carrying a
deterministic pseudo-random subset of the operators. Buildings are 10 m squares
placed at known distances from the streets so tests can tell which are passed.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

CRS = "EPSG:32647"
ORIGIN = (498_000.0, 2_075_000.0)  # Chiang Mai, UTM 47N
OPERATORS = ("CAT", "PEA", "TOT")
TELECOM = {"CAT", "TOT"}


def grid_plan(n_segments: int = 40, *, spacing_m: float = 100.0, seed: int = 1,
              buildings_per_block: int = 4, manhole_step: int | None = None) -> dict[str, gpd.GeoDataFrame]:
    """A plan of about ``n_segments`` duct segments on a grid.

    Returns
    -------
    dict
        ``ducts``, ``manholes``, ``sites``, ``buildings`` (all EPSG:32647).
        Each block holds ``buildings_per_block`` buildings: half with their
        nearest edge 5 m from a street (passed at 20 m), half at the block centre
        (more than 20 m away when ``spacing_m`` >= 80). Manholes sit on every
        ``manhole_step``-th grid node (default: about 60 manholes).
    """
    rng = np.random.default_rng(seed)
    k = max(2, int(math.ceil((1 + math.sqrt(1 + 2 * n_segments)) / 2)))  # k x k nodes -> 2k(k-1) edges
    x0, y0 = ORIGIN
    ii, jj = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    ii, jj = ii.ravel(), jj.ravel()
    starts, ends = [], []
    for di, dj in ((1, 0), (0, 1)):
        ok = (ii + di < k) & (jj + dj < k)
        starts.append(np.c_[ii[ok], jj[ok]])
        ends.append(np.c_[ii[ok] + di, jj[ok] + dj])
    a = np.vstack(starts)[:n_segments] * spacing_m + (x0, y0)
    b = np.vstack(ends)[:n_segments] * spacing_m + (x0, y0)
    n = len(a)
    mid = (a + b) / 2 + rng.normal(0, 3.0, size=(n, 2))
    coords = np.stack([a, mid, b], axis=1)
    geoms = shapely.linestrings(coords)

    member = rng.random((n, len(OPERATORS))) < 0.55
    member[~member.any(axis=1), rng.integers(0, len(OPERATORS))] = True
    member[~member.any(axis=1), 0] = True
    operators = [",".join(o for o, f in zip(OPERATORS, row) if f) for row in member]
    n_per = rng.integers(1, 3, size=(n, len(OPERATORS))) * member
    ducts_str = [",".join(f"{o}:{c}" for o, c in zip(OPERATORS, row) if c) for row in n_per]
    trench = []
    for row in member:
        ops = {o for o, f in zip(OPERATORS, row) if f}
        trench.append("joint" if ops & TELECOM and "PEA" in ops else ("power" if "PEA" in ops else "telecom"))
    length = shapely.length(geoms)
    rate = np.where(np.array(trench) == "joint", 4500.0, 3000.0) * rng.uniform(0.8, 1.6, n)
    ducts = gpd.GeoDataFrame(
        {
            "segment_id": np.arange(n, dtype=int),
            "length_m": length,
            "operators": operators,
            "n_ducts": n_per.sum(axis=1).astype(int),
            "ducts": ducts_str,
            "trench_type": trench,
            "cost_thb": length * rate,
            "phase": rng.integers(1, 4, size=n),
        },
        geometry=geoms,
        crs=CRS,
    )

    nodes = np.unique(np.vstack([a, b]), axis=0)
    mh = nodes[:: manhole_step or max(1, len(nodes) // 60)]
    manholes = gpd.GeoDataFrame(
        {
            "manhole_id": [f"MH{i}" for i in range(len(mh))],
            "reason": np.where(np.arange(len(mh)) % 3 == 0, "junction", "spacing"),
            "group": np.where(np.arange(len(mh)) % 2 == 0, "telecom", "power"),
        },
        geometry=shapely.points(mh),
        crs=CRS,
    )

    n_sites = max(6, min(3000, n // 20))
    pick = rng.choice(len(nodes), size=min(n_sites, len(nodes)), replace=False)
    sites = gpd.GeoDataFrame(
        {
            "site_id": [f"S{i}" for i in range(len(pick))],
            "operator": [OPERATORS[i % len(OPERATORS)] for i in range(len(pick))],
            "kind": ["cabinet" if i % 2 else "exchange" for i in range(len(pick))],
            "name": [f"Site <{i}> & co" for i in range(len(pick))],
            "connected": np.arange(len(pick)) % 4 != 3,
        },
        geometry=shapely.points(nodes[pick]),
        crs=CRS,
    )

    # buildings: in each block (lower-left corner at grid node), half near a street, half central
    blocks = np.c_[ii, jj][(ii < k - 1) & (jj < k - 1)] * spacing_m + (x0, y0)
    boxes = []
    for bx, by in blocks:
        for q in range(buildings_per_block):
            if q % 2 == 0:  # 5 m from the street along the block's bottom edge
                cx, cy = bx + spacing_m * (0.3 + 0.4 * (q // 2 % 2)), by + 5 + 5
            else:  # block centre
                cx, cy = bx + spacing_m / 2 + (q // 2) * 1.0, by + spacing_m / 2
            boxes.append(shapely.box(cx - 5, cy - 5, cx + 5, cy + 5))
    buildings = gpd.GeoDataFrame({"building_id": np.arange(len(boxes))}, geometry=boxes, crs=CRS)
    return {"ducts": ducts, "manholes": manholes, "sites": sites, "buildings": buildings}
