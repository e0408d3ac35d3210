"""The plan report: ``report.html`` (one self-contained, offline, printable page) and ``tornado.svg``;
and plans side by side (``connectivity compare``: ``compare.csv``, ``compare.html``, ``compare_map.html``).

Reads the :class:`connectivity.plan.Plan` in memory (its ``summary``, ``boq`` and
``sites``), never the files of a plan folder; :func:`connectivity.pipeline.write_outputs`
writes what it returns. Downstream of the economics, the bill of quantities and the
allocation: it shows their figures, it computes none (the BoQ is only summed by item).

The page is rendered from ``connectivity/data/templates/report.html`` (Jinja2,
autoescaping: every value from the inputs, such as operator and site names, is HTML-escaped).
It has no script and makes no request: the chart is an SVG image embedded as a data URI,
the maps are relative links to the files beside it. The chart is written here as plain SVG
text (no plotting library to import: a few milliseconds instead of about a second), with
fixed number formats, so the same plan gives the same bytes.
"""
from __future__ import annotations

import base64
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from connectivity import economics

TEMPLATE = Path(__file__).resolve().parent / "data" / "templates" / "report.html"
SECTIONS = (
    ("headline", "Headline figures"),
    ("costs", "Cost breakdown and bill of quantities"),
    ("allocation", "Cost sharing and core check"),
    ("rent", "Rent or build"),
    ("ranges", "Cost ranges and tornado"),
    ("phases", "Phases"),
    ("coverage", "Coverage and sites"),
    ("maps", "Maps"),
)
"""``(id, title)`` of every section of the report, in page order."""
ATTRIBUTION = "© OpenStreetMap contributors"
TORNADO_BARS = 12
MAX_SITE_ROWS = 200

_LABELS = {
    "sites_connected": "Sites connected",
    "sites_total": "Sites in the scenario",
    "trench_km": "Trench",
    "shared_trench_km": "Shared trench (two or more operators)",
    "total_cost": "Total cost (joint plan, at the mode)",
    "cost_p10": "Total cost P10",
    "cost_p50": "Total cost P50",
    "cost_p90": "Total cost P90",
    "separate_total_cost": "Cost if every operator built alone",
    "savings": "Savings of the shared trench",
    "savings_pct": "Savings",
    "gap_pct": "Gap to the lower bound (at most)",
    "buildings_passed": "Buildings passed",
    "buildings_passed_pct": "Buildings passed, share",
    "cost_per_building_passed": "Cost per building passed",
    "overhead_km_removed": "Overhead lines that can go underground",
    "poles_removable": "Poles that can be removed",
}
_METHODS = {"equal": "equal", "proportional_ducts": "by duct-metres", "proportional_standalone": "by stand-alone cost",
            "shapley": "Shapley"}


# --------------------------------------------------------------------------- formatting

def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and not math.isfinite(v))


def fmt(v: Any, unit: str = "") -> str:
    """A figure as shown in the report: THB to the baht, km to the metre, % to 0.1, counts with separators."""
    if _missing(v):
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, str):
        return v
    if unit == "%":
        return f"{float(v):,.1f} %"
    if unit == "km":
        return f"{float(v):,.3f} km"
    if unit == "m":
        return f"{float(v):,.0f} m"
    if unit.startswith("THB"):
        return f"{float(v):,.0f} THB"
    if isinstance(v, int) or float(v).is_integer():
        return f"{int(v):,}"
    return f"{float(v):,.2f}"


def _num(v: Any) -> str:
    """The raw value of a figure for the ``data-value`` attribute (as in ``summary.json``)."""
    return "" if _missing(v) else repr(v) if isinstance(v, float) else str(v)


def _cell(v: Any, unit: str = "", key: str = "") -> dict[str, str]:
    return {"text": fmt(v, unit), "value": _num(v), "key": key}


# --------------------------------------------------------------------------- charts

#: Pixels of the tornado chart: width, height of the title and legend, of the axis, of a bar row.
_SVG_WIDTH, _SVG_HEAD, _SVG_FOOT, _SVG_ROW = 800, 62, 56, 38
_SVG_FONT = 'font-family="DejaVu Sans, Arial, sans-serif"'
_SVG_LABEL_CHARS = 44   # longer unit-cost names are cut (the full name is the label's tooltip)


def _ticks(lo: float, hi: float, most: int = 7) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten apart) covering [lo, hi]."""
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    raw = span / max(1, most - 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(f * power for f in (1.0, 2.0, 5.0, 10.0) if f * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    return [round(first + i * step, 12) for i in range(int(math.floor((hi - first) / step + 1e-9)) + 1)]


def _labels(ticks: list[float]) -> list[str]:
    """Tick labels with as many decimals as the step between ticks needs."""
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    decimals = max(0, min(6, -int(math.floor(math.log10(step) + 1e-9))))
    return [f"{t:,.{decimals}f}" for t in ticks]


def tornado_svg(tornado: Sequence[Mapping[str, Any]], mode_total_thb: float, *, bars: int = TORNADO_BARS) -> bytes:
    """SVG of the unit costs that move the plan's total most (``summary["tornado"]``, widest first).

    Each bar spans the total with that unit cost at its low (blue, left of the mode) and at its
    high (red, right of it), around the total at the mode (vertical line); million THB. Plain
    SVG text (no script, no external reference), 800 pixels wide; the same rows give the same bytes.
    """
    from html import escape

    rows = list(tornado)[:bars]
    m = mode_total_thb / 1e6
    height = _SVG_HEAD + _SVG_FOOT + _SVG_ROW * max(len(rows), 1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_SVG_WIDTH}" height="{height}" '
           f'viewBox="0 0 {_SVG_WIDTH} {height}" {_SVG_FONT} font-size="12">',
           f'<rect width="{_SVG_WIDTH}" height="{height}" fill="#ffffff"/>']
    if not rows:
        out.append(f'<text x="{_SVG_WIDTH / 2:g}" y="{height / 2:g}" text-anchor="middle">'
                   'No unit cost of this plan has a range</text></svg>\n')
        return "\n".join(out).encode("utf-8")
    names = [str(r["cost"]) for r in rows]
    lo = [min(r["low"] / 1e6, m) for r in rows]
    hi = [max(r["high"] / 1e6, m) for r in rows]
    left = min(320, max(80, 12 + 7 * min(_SVG_LABEL_CHARS, max(len(n) for n in names))))
    x0, x1 = left, _SVG_WIDTH - 24
    a, b = min(lo), max(hi)
    pad = 0.05 * (b - a) if b > a else max(abs(m) * 0.05, 1e-6)
    a, b = a - pad, b + pad
    x = lambda v: x0 + (v - a) / (b - a) * (x1 - x0)   # noqa: E731
    top, bottom = _SVG_HEAD, _SVG_HEAD + _SVG_ROW * len(rows)
    out.append(f'<text x="{_SVG_WIDTH / 2:g}" y="20" text-anchor="middle" font-size="15">'
               'Which unit costs move the total most</text>')
    for i, (colour, text) in enumerate((("#4575b4", "unit cost at its low"), ("#d73027", "unit cost at its high"))):
        lx = _SVG_WIDTH / 2 - 150 + 170 * i
        out.append(f'<rect x="{lx:g}" y="34" width="14" height="10" fill="{colour}"/>'
                   f'<text x="{lx + 20:g}" y="43" font-size="11">{text}</text>')
    ticks = _ticks(a, b)
    for t, text in zip(ticks, _labels(ticks)):
        out.append(f'<line x1="{x(t):.2f}" y1="{top}" x2="{x(t):.2f}" y2="{bottom}" stroke="#dddddd"/>'
                   f'<text x="{x(t):.2f}" y="{bottom + 16}" text-anchor="middle" font-size="11">{text}</text>')
    for i, name in enumerate(names):
        y = top + _SVG_ROW * i + 7
        h = _SVG_ROW - 14
        shown = name if len(name) <= _SVG_LABEL_CHARS else name[:_SVG_LABEL_CHARS - 1] + "…"
        out.append(f'<text x="{x0 - 8}" y="{y + h / 2 + 4:g}" text-anchor="end">{escape(shown)}'
                   f'<title>{escape(name)}</title></text>')
        if lo[i] < m:
            out.append(f'<rect x="{x(lo[i]):.2f}" y="{y}" width="{x(m) - x(lo[i]):.2f}" height="{h}" fill="#4575b4"/>')
        if hi[i] > m:
            out.append(f'<rect x="{x(m):.2f}" y="{y}" width="{x(hi[i]) - x(m):.2f}" height="{h}" fill="#d73027"/>')
    out.append(f'<line x1="{x(m):.2f}" y1="{top - 4}" x2="{x(m):.2f}" y2="{bottom + 4}" stroke="#222222"/>')
    out.append(f'<line x1="{x0}" y1="{bottom}" x2="{x1}" y2="{bottom}" stroke="#222222"/>')
    out.append(f'<text x="{(x0 + x1) / 2:g}" y="{bottom + 38}" text-anchor="middle">'
               f'total cost, million THB (at the mode: {m:,.3f})</text>')
    out.append("</svg>\n")
    return "\n".join(out).encode("utf-8")


def _data_uri(svg: bytes) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


# --------------------------------------------------------------------------- sections

def _headline(s: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, (unit, value) in economics.headline(s).items():
        if key not in _LABELS:   # shares and rent figures have their own sections
            continue
        rows.append({"label": _LABELS[key], **_cell(value, unit, key)})
    return rows


def boq_by_item(boq: pd.DataFrame | None) -> pd.DataFrame:
    """The bill of quantities of the whole plan, one row per item and operator (quantities and THB summed).

    A phased plan's table carries a ``phase`` column: whole-plan rows (phase empty) when it
    has them, else rows per phase or segment, summed here.
    """
    cols = ["item", "category", "unit", "quantity", "unit_cost_thb", "cost_thb", "operator"]
    if boq is None or len(boq) == 0:
        return pd.DataFrame(columns=cols)
    rows = boq
    if "phase" in boq.columns and boq["phase"].isna().any() and boq["phase"].notna().any():
        rows = boq[boq["phase"].isna()]
    keys = [c for c in ("item", "category", "unit", "operator") if c in rows.columns]
    g = rows.groupby(keys, sort=False, dropna=False).agg(quantity=("quantity", "sum"), cost_thb=("cost_thb", "sum"),
                                                         unit_cost_thb=("unit_cost_thb", "first"),
                                                         n_costs=("unit_cost_thb", "nunique")).reset_index()
    per = g["cost_thb"] / g["quantity"].where(g["quantity"] > 0)
    g["unit_cost_thb"] = g["unit_cost_thb"].where(g["n_costs"] <= 1, per)   # several unit costs: the average
    return g[[c for c in cols if c in g.columns]]


def _costs(s: Mapping[str, Any], boq: pd.DataFrame | None) -> dict[str, Any]:
    b = s.get("cost_breakdown") or {}
    total = s.get("total_cost")
    parts = [(k, b.get(k)) for k in ("trench", "ducts", "manholes")]
    rest = round(float(total) - sum(float(v or 0.0) for _, v in parts), 2) if total is not None and b else 0.0
    if abs(rest) >= 1.0:  # the parts carry the contingency; anything else is shown as the rest
        parts.append(("other", rest))
    breakdown = [{"label": k, **_cell(v, "THB", f"cost_breakdown.{k}"),
                  "pct": fmt(100.0 * v / total, "%") if total and not _missing(v) else "–"} for k, v in parts]
    items = boq_by_item(boq)
    rows = [{"item": r["item"], "category": r.get("category", ""), "operator": r.get("operator", ""),
             "unit": r.get("unit", ""), "quantity": fmt(round(float(r["quantity"]), 2)),
             "unit_cost": fmt(r["unit_cost_thb"], "THB") if r.get("unit") != "THB" else fmt(r["unit_cost_thb"]),
             "cost": _cell(round(float(r["cost_thb"]), 2), "THB")} for r in items.to_dict("records")]
    boq_total = round(float(items["cost_thb"].sum()), 2) if len(items) else None
    return {"breakdown": breakdown, "total": _cell(total, "THB", "total_cost"), "boq": rows,
            "boq_total": _cell(boq_total, "THB", "boq_total"),
            "cost_model": s.get("cost_model") or {}}


def _allocation(s: Mapping[str, Any], operators: Sequence[str]) -> dict[str, Any]:
    alloc = s.get("allocation") or {}
    methods = [m for m in _METHODS if m in alloc] + [m for m in alloc if m not in _METHODS]
    ops = [o for o in operators if any(o in alloc[m] for m in methods)] or sorted({o for m in methods for o in alloc[m]})
    alone = s.get("stand_alone_cost") or {}
    duct_m = s.get("duct_m") or {}
    rows = [{"operator": o, "duct_m": fmt(duct_m.get(o)), "alone": _cell(alone.get(o), "THB", f"stand_alone_cost.{o}"),
             "shares": [_cell(alloc[m].get(o), "THB", f"allocation.{m}.{o}") for m in methods]} for o in ops]
    in_core = s.get("in_core") or {}
    violations = []
    for m, vs in (s.get("core_violations") or {}).items():
        for v in vs:
            violations.append({"method": _METHODS.get(m, m), "coalition": " + ".join(v.get("coalition", [])),
                               "pays": fmt(v.get("pays"), "THB"), "alone": fmt(v.get("alone"), "THB")})
    rule, _ = economics.allocation_shares(alloc)
    return {"methods": [_METHODS.get(m, m) for m in methods], "rows": rows,
            "in_core": [fmt(in_core.get(m)) for m in methods], "violations": violations,
            "shapley_method": s.get("shapley_method", ""), "rule": _METHODS.get(rule, rule)}


def _rent(s: Mapping[str, Any]) -> dict[str, Any]:
    rvb = s.get("rent_vs_build") or {}
    st = s.get("rent_settings") or {}
    rows = [{"operator": o, "rate": _cell(r.get("rent_per_km_month"), "", f"rent_vs_build.{o}.rent_per_km_month"),
             "npv_build": _cell(r.get("npv_build"), "THB", f"rent_vs_build.{o}.npv_build"),
             "npv_rent": _cell(r.get("npv_rent"), "THB", f"rent_vs_build.{o}.npv_rent"),
             "break_even": _cell(r.get("break_even_rent_per_km_month"), "",
                                 f"rent_vs_build.{o}.break_even_rent_per_km_month"),
             "choice": r.get("choice", ""),
             "income": _cell(r.get("owner_rent_income_per_year"), "THB", f"rent_vs_build.{o}.owner_rent_income_per_year"),
             "npv_income": _cell(r.get("npv_owner_rent_income"), "THB", f"rent_vs_build.{o}.npv_owner_rent_income")}
            for o, r in rvb.items()]
    settings = []
    if st:
        settings = [("Discount rate", fmt(100.0 * st.get("discount_rate", 0.0), "%")),
                    ("Horizon", f"{st.get('horizon_years')} years"),
                    ("Maintenance per trench-km and year", fmt(st.get("maintenance_per_km_year"), "THB")),
                    ("Annuity factor", fmt(st.get("annuity_factor"))),
                    ("Settings from", st.get("source", ""))]
    return {"rows": rows, "settings": settings}


def _ranges(s: Mapping[str, Any], tornado_uri: str) -> dict[str, Any]:
    cr = s.get("cost_range") or {}
    t = cr.get("total") or {}
    total = [{"label": f"P{p}", **_cell(t.get(f"p{p}"), "THB", f"cost_range.total.p{p}")} for p in (10, 50, 90)]
    by_op = [{"name": o, "cells": [_cell(q.get(f"p{p}"), "THB", f"cost_range.by_operator.{o}.p{p}") for p in (10, 50, 90)]}
             for o, q in (cr.get("by_operator") or {}).items()]
    by_item = [{"name": k, "cells": [_cell(q.get(f"p{p}"), "THB") for p in (10, 50, 90)]}
               for k, q in (cr.get("by_item") or {}).items()]
    tor = [{"cost": r["cost"], "low": fmt(r["low"], "THB"), "high": fmt(r["high"], "THB"),
            "swing": fmt(r["high"] - r["low"], "THB")} for r in (s.get("tornado") or [])]
    return {"total": total, "mode_total": _cell(cr.get("mode_total"), "THB", "cost_range.mode_total"),
            "by_operator": by_op, "by_item": by_item, "tornado": tor, "tornado_chart": tornado_uri,
            "draws": cr.get("draws"), "seed": cr.get("seed"), "rule": _METHODS.get(cr.get("by_operator_rule", ""), ""),
            "method": cr.get("method", ""), "estimate_class": cr.get("estimate_class", economics.ESTIMATE_CLASS)}


def _phases(s: Mapping[str, Any]) -> dict[str, Any]:
    rows = [{"phase": p.get("phase"), "name": p.get("name") or "", "end": p.get("end") or "",
             "budget": fmt(p.get("budget_thb"), "THB"), "cost": _cell(p.get("cost_thb"), "THB", f"phases.{i}.cost_thb"),
             "segments": fmt(p.get("segments")), "sites": fmt(p.get("sites_connected")),
             "buildings": fmt(p.get("buildings_passed")),
             "cumulative": fmt((p.get("cumulative") or {}).get("cost_thb"), "THB")}
            for i, p in enumerate(s.get("phases") or [])]
    u = s.get("phases_unbuilt")
    unbuilt = None if not u else {"segments": fmt(u.get("segments")), "cost": fmt(u.get("cost_thb"), "THB"),
                                  "sites": len(u.get("sites") or [])}
    return {"rows": rows, "unbuilt": unbuilt, "basis": s.get("phases_cost_basis", "")}


def _coverage(s: Mapping[str, Any], sites: pd.DataFrame | None) -> dict[str, Any]:
    cov = s.get("coverage") or {}
    figures = [("Buildings", _cell(cov.get("buildings_total"), "", "coverage.buildings_total")),
               ("Buildings passed", _cell(cov.get("buildings_passed"), "", "coverage.buildings_passed")),
               ("Buildings passed, share", _cell(cov.get("buildings_passed_pct"), "%", "coverage.buildings_passed_pct")),
               ("Cost per building passed", _cell(cov.get("cost_per_building_passed"), "THB",
                                                  "coverage.cost_per_building_passed")),
               ("Passed: a duct within", _cell(cov.get("pass_distance_m"), "m", "coverage.pass_distance_m"))]
    per_op = [{"operator": o, "total": fmt(v.get("total")), "connected": fmt(v.get("connected")),
               "pct": fmt(100.0 * v["connected"] / v["total"], "%") if v.get("total") else "–"}
              for o, v in (s.get("sites_per_operator") or {}).items()]
    missing: list[dict[str, str]] = []
    n_missing = 0
    if sites is not None and len(sites) and "connected" in sites.columns:
        off = sites[~sites["connected"].astype(bool)]
        n_missing = len(off)
        for r in off.head(MAX_SITE_ROWS).to_dict("records"):
            missing.append({k: "" if _missing(r.get(k)) else str(r.get(k))
                            for k in ("site_id", "operator", "kind", "name", "status")})
    return {"figures": figures, "per_operator": per_op, "not_connected": missing, "n_not_connected": n_missing,
            "more": max(n_missing - MAX_SITE_ROWS, 0)}


def report_html(plan: Any, *, tornado_svg_bytes: bytes | None = None,
                maps: Sequence[tuple[str, str]] = ()) -> str:
    """The report page of a plan (:class:`connectivity.plan.Plan`) as one HTML string.

    Parameters
    ----------
    tornado_svg_bytes
        The tornado chart (:func:`tornado_svg`); drawn here when not given.
    maps
        ``(file name, label)`` of the maps written beside the report (relative links).
    """
    import jinja2

    s = plan.summary
    if tornado_svg_bytes is None:
        tornado_svg_bytes = tornado_svg(s.get("tornado") or [], _mode_total(s))
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True)
    template = env.from_string(TEMPLATE.read_text(encoding="utf-8"))
    operators = list(plan.operators) or sorted(s.get("sites_per_operator") or {})
    context = {
        "title": f"{plan.name}: shared duct plan",
        "scenario": plan.name,
        "sections": SECTIONS,
        "headline": _headline(s),
        "costs": _costs(s, plan.boq),
        "allocation": _allocation(s, operators),
        "rent": _rent(s),
        "ranges": _ranges(s, _data_uri(tornado_svg_bytes)),
        "phases": _phases(s),
        "coverage": _coverage(s, plan.sites),
        "maps": [{"href": f, "label": label} for f, label in maps],
        "attribution": ATTRIBUTION,
        "crs": s.get("crs", ""),
    }
    return template.render(**context)


def _mode_total(s: Mapping[str, Any]) -> float:
    cr = s.get("cost_range") or {}
    return float(cr.get("mode_total") or s.get("total_cost") or 0.0)


def report_files(plan: Any, *, maps: Sequence[tuple[str, str]] = ()) -> dict[str, bytes]:
    """``{"tornado.svg": SVG, "report.html": UTF-8 HTML}`` of a plan, for the plan folder."""
    svg = tornado_svg(plan.summary.get("tornado") or [], _mode_total(plan.summary))
    return {"tornado.svg": svg, "report.html": report_html(plan, tornado_svg_bytes=svg, maps=maps).encode("utf-8")}


# --------------------------------------------------------------------------- plans side by side

def compare_html(rows: Sequence[Mapping[str, Any]], names: Sequence[str], *, title: str = "Plans side by side",
                 map_href: str | None = None) -> str:
    """A self-contained HTML page (no scripts, no external requests) of :func:`connectivity.economics.compare_rows`;
    ``map_href``: a relative link to the map of the plans."""
    from html import escape

    def cell(v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:,.2f}" if abs(v) < 1000 else f"{v:,.0f}"
        if isinstance(v, int):
            return f"{v:,}"
        return escape(str(v))

    head = "".join(f"<th>{escape(n)}</th>" for n in names)
    body = "\n".join(f"<tr><td>{escape(r['figure'])}</td><td>{escape(r['unit'])}</td>"
                     + "".join(f"<td class=n>{cell(r.get(n))}</td>" for n in names) + "</tr>" for r in rows)
    return (f"<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>\n"
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #bbb;padding:3px 8px}td.n{text-align:right}"
            "tr:nth-child(even){background:#f4f4f4}</style></head><body>\n"
            f"<h1>{escape(title)}</h1>\n<table><thead><tr><th>figure</th><th>unit</th>{head}</tr></thead>\n"
            f"<tbody>\n{body}\n</tbody></table>\n"
            + (f'<p>The plans on a map, one layer each: <a href="{escape(map_href)}">{escape(map_href)}</a>.</p>\n'
               if map_href else "")
            + f"<p>Cost ranges: {escape(economics.ESTIMATE_CLASS)}.</p>\n"
            "<p>Map data © OpenStreetMap contributors.</p>\n</body></html>\n")


def compare(plan_dirs: Sequence[str], out_dir: str) -> list[str]:
    """Write ``compare.csv`` and ``compare.html`` of the plan folders' ``summary.json`` into ``out_dir``,
    and ``compare_map.html`` (:func:`connectivity.maps.compare_map`, one layer per plan from its
    ``ducts.geojson``; left out, and an earlier comparison's removed, when no folder has one).

    Raises
    ------
    InputDataError
        When a folder has no readable ``summary.json``.
    """
    import os
    import shutil
    import tempfile
    from pathlib import Path

    import pandas as pd

    from connectivity.errors import InputDataError
    from connectivity.export import read_summary
    from connectivity.output import write_csv, write_text

    from connectivity.outdir import check_output_folder

    check_output_folder(out_dir, inputs=plan_dirs, what="--out folder")   # never into a plan folder read here
    plans = []
    for d in plan_dirs:
        p = Path(d) / "summary.json"
        if not Path(d).is_dir():
            raise InputDataError(f"{d}: not a plan folder (" + ("a file)" if Path(d).exists() else "no such folder)"))
        if not p.is_file():
            raise InputDataError(f"{p}: cannot read the plan summary (" + ("a folder)" if p.exists() else "file not found)"))
        summary = read_summary(p)   # bad content: one line naming the file and the key
        name = str(summary.get("scenario") or Path(d).name)
        if name in {n for n, _ in plans}:
            name = f"{name} ({Path(d).name})"
        plans.append((name, summary))
    rows = economics.compare_rows(plans)
    names = [n for n, _ in plans]
    layers = _plan_ducts(plan_dirs, names)
    out = Path(out_dir)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    files = ["compare.csv", "compare.html"] + (["compare_map.html"] if layers else [])
    try:  # all files or none: written into a hidden folder inside `out` and moved into place when all are
        with tempfile.TemporaryDirectory(dir=out, prefix=".compare-") as tmpdir:
            stage = Path(tmpdir)
            write_csv(pd.DataFrame(rows, columns=["figure", "unit", *names], dtype=object), stage / "compare.csv")
            if layers:
                from connectivity import maps   # folium only when a map is drawn

                maps.save_map(maps.compare_map(layers), stage / "compare_map.html")
            write_text(stage / "compare.html", compare_html(rows, names, map_href="compare_map.html" if layers else None))
            for name in files:
                os.replace(stage / name, out / name)   # each file whole; renames within one folder
            if not layers:   # a map of an earlier comparison would show other plans than compare.html
                (out / "compare_map.html").unlink(missing_ok=True)
    except BaseException:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    return [str(out / name) for name in files]


def _plan_ducts(plan_dirs: Sequence[str], names: Sequence[str]) -> list[tuple[str, Any]]:
    """``(name, trench segments)`` of every plan folder holding a ``ducts.geojson``, read with
    :func:`connectivity.export.read_plan` (folders without one are logged and left out)."""
    import logging

    from connectivity.export import read_plan

    out = []
    for d, name in zip(plan_dirs, names):
        if not (Path(d) / "ducts.geojson").is_file():
            logging.getLogger(__name__).warning("%s: no ducts.geojson, left off the compare map", d)
            continue
        out.append((name, read_plan(d).layers["trench"]))   # bad files: one-line InputDataError naming the file
    return out
