"""Valid but unusual inputs give a sensible plan (or the documented error), never a crash or a
figure that does not add up.

Each test writes a small road GeoJSON, a sites CSV and a scenario into ``tmp_path`` and runs
the whole pipeline; :func:`check_plan` asserts the invariants every plan keeps (finite figures,
the BoQ summing to the total, every sharing method summing to the total, savings >= 0, the
lower bound below the total, every connected site on its operator's ducts).
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from pyproj import Transformer

from connectivity import load_scenario, run
from connectivity.errors import InfeasibleError

X0, Y0 = 490_000.0, 2_070_000.0   # UTM 47N, Chiang Mai
TO_WGS = Transformer.from_crs("EPSG:32647", "EPSG:4326", always_xy=True)


def lonlat(x: float, y: float) -> list[float]:
    lon, lat = TO_WGS.transform(X0 + x, Y0 + y)
    return [round(lon, 9), round(lat, 9)]


def grid(n: int, step: float = 100.0) -> list[list[tuple[float, float]]]:
    """Road lines of an ``n`` x ``n`` street grid (local metres)."""
    lines = []
    for j in range(n):
        lines.append([(0.0, j * step), ((n - 1) * step, j * step)])
        lines.append([(j * step, 0.0), (j * step, (n - 1) * step)])
    return lines


def write_scenario(folder, lines, sites, *, options: str = "", extra: str = "", light: bool = True):
    """Roads (local metres -> lon/lat GeoJSON), sites ``(site_id, operator, x, y)`` and the scenario TOML."""
    features = [{"type": "Feature", "properties": {"highway": "residential", "name": f"r{k}"},
                 "geometry": {"type": "LineString", "coordinates": [lonlat(*p) for p in line]}}
                for k, line in enumerate(lines)]
    (folder / "roads.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    rows = ["site_id,operator,kind,lon,lat"] + [f"{sid},{op},site,{lonlat(x, y)[0]},{lonlat(x, y)[1]}"
                                                for sid, op, x, y in sites]
    (folder / "sites.csv").write_text("\n".join(rows) + "\n")
    design = '[design]\nrounds = 1\norders = 1\n' if light else ""
    path = folder / "scenario.toml"
    path.write_text(f'name = "odd"\nprovince = "Chiang Mai"\n\n[inputs]\nroads = "roads.geojson"\nsites = "sites.csv"\n\n'
                    f'[options]\ncrs = "EPSG:32647"\n{options}\n{design}\n{extra}')
    return path


def check_plan(plan) -> None:
    """The invariants of every plan's figures."""
    s = plan.summary
    text = json.dumps(s)
    assert "NaN" not in text and "Infinity" not in text
    total = s["total_cost"]
    tol = max(1.0, 1e-6 * total)
    boq = plan.boq[plan.boq["category"] != "phase"]
    assert abs(boq["cost_thb"].sum() - total) <= tol
    for method, shares in s["allocation"].items():
        assert abs(sum(shares.values()) - total) <= tol, method
        assert min(shares.values()) >= -tol, method
    assert s["savings"] >= 0 and s["separate_total_cost"] >= total - tol
    assert s["lower_bound"] <= total + tol
    assert all(math.isfinite(v) for v in (total, s["separate_total_cost"], s["lower_bound"]))
    sites = plan.sites[plan.sites["connected"]]
    for op, group in sites.groupby("operator"):
        mine = plan.ducts[[op in str(o).split(",") for o in plan.ducts["operators"]]]
        assert len(mine), op
        assert float(mine.distance(group.geometry.union_all()).min()) < 0.01
        for point in group.geometry:
            assert float(mine.distance(point).min()) < 0.01, op


def test_operators_with_no_partner_anywhere_is_an_error(tmp_path):
    """Many road components, each holding one site of each of several operators: no operator
    has two locations in one component, so nothing can be connected -> the documented error
    (not an empty plan of cost 0)."""
    lines, sites = [], []
    for k in range(12):
        x, y = (k % 4) * 500.0, (k // 4) * 500.0
        lines.append([(x, y), (x + 200.0, y)])
        sites += [(f"T{k}", "TOT", x + 20, y + 10), (f"C{k}", "CAT", x + 180, y - 10)]
    path = write_scenario(tmp_path, lines, sites)
    with pytest.raises(InfeasibleError, match="none of the 24 site"):
        run(load_scenario(path))


def test_sites_of_other_operators_do_not_make_a_site_reachable(tmp_path):
    """One component where TOT has two sites (planned) and many where TOT and CAT have one
    each: only TOT's pair is connected, the rest is reported unreachable."""
    lines = [[(0.0, 0.0), (300.0, 0.0)]]
    sites = [("A", "TOT", 10, 10), ("B", "TOT", 290, 10)]
    for k in range(1, 6):
        lines.append([(k * 1000.0, 0.0), (k * 1000.0 + 200, 0.0)])
        sites += [(f"T{k}", "TOT", k * 1000.0 + 20, 10), (f"C{k}", "CAT", k * 1000.0 + 180, -10)]
    plan = run(load_scenario(write_scenario(tmp_path, lines, sites)))
    check_plan(plan)
    status = plan.sites.set_index("site_id")["status"]
    assert status[["A", "B"]].eq("connected").all()
    assert status.drop(["A", "B"]).eq("unreachable").all()
    assert plan.summary["sites_connected"] == 2
