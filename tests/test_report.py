"""The plan report (report.html, tornado.svg): figures equal summary.json's, names escaped,
every section present, offline, the duct owner's rent income consistent with ducts.geojson."""
from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from types import SimpleNamespace

import geopandas as gpd
import pandas as pd
import pytest

from connectivity import economics, report
from tests.conftest import FIXTURES

EVIL_OP = '<script>alert("op")</script>'
EVIL_SITE = "<script>alert('site')</script> & <b>co</b>"


class _Page(HTMLParser):
    """Ids of the sections, every (data-key, data-value, text) figure, src/href attributes."""

    def __init__(self):
        super().__init__()
        self.sections, self.figures, self.links = [], {}, []
        self._key = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a.get("id"))
        for name in ("src", "href"):
            if name in a:
                self.links.append(a[name])
        if tag == "td" and "data-key" in a:
            self._key = a["data-key"]
            self.figures[self._key] = [a.get("data-value"), ""]

    def handle_data(self, data):
        if self._key is not None:
            self.figures[self._key][1] += data

    def handle_endtag(self, tag):
        if tag == "td":
            self._key = None


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _value(summary, key):
    heads = economics.headline(summary)
    if key in heads:
        return heads[key][1]
    v = summary
    for part in key.split("."):
        v = v[int(part)] if isinstance(v, list) else v[part]
    return v


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory):
    """The tiny scenario with an operator and a site named like HTML, and a scenario [rent] table."""
    from connectivity.config import load_scenario
    from connectivity.pipeline import run, write_outputs

    tmp = tmp_path_factory.mktemp("report")
    ops = (FIXTURES / "operators.toml").read_text(encoding="utf-8").replace('name = "CAT"', f"name = '{EVIL_OP}'")
    (tmp / "operators.toml").write_text(ops, encoding="utf-8")
    sites = pd.read_csv(FIXTURES / "sites.csv")
    sites.loc[sites["site_id"] == "S2", "operator"] = "CAT"   # two CAT and two PEA sites sharing a trench
    sites.loc[len(sites)] = ["S6", "PEA", "substation", "Substation", 98.96205, 18.7910]
    sites["operator"] = sites["operator"].replace({"CAT": EVIL_OP})
    sites.loc[sites["site_id"] == "S5", "name"] = EVIL_SITE
    sites.to_csv(tmp / "sites.csv", index=False)
    text = (FIXTURES / "tiny.toml").read_text(encoding="utf-8")
    text = text.replace('"tiny.osm"', f'"{(FIXTURES / "tiny.osm").as_posix()}"')
    text = text.replace('operators = "operators.toml"', 'operators = "operators.toml"\nsites = "sites.csv"')
    text += "\n[rent]\ndiscount_rate = 0.06\nhorizon_years = 15\n[rent.operators]\nPEA = 3500.0\n"
    (tmp / "s.toml").write_text(text, encoding="utf-8")
    result = run(load_scenario(tmp / "s.toml"))
    out = tmp / "plan"
    write_outputs(result, out)
    return out


@pytest.fixture(scope="module")
def page(plan_dir):
    html = (plan_dir / "report.html").read_text(encoding="utf-8")
    return html, parse(html), json.loads((plan_dir / "summary.json").read_text(encoding="utf-8"))


def test_every_section_present_in_order(page):
    html, p, _ = page
    assert p.sections == [sid for sid, _ in report.SECTIONS]
    for sid, title in report.SECTIONS:
        assert f'<a href="#{sid}">{title}</a>' in html


def test_figures_shown_equal_summary(page, plan_dir):
    html, p, summary = page
    ops = list(summary["rent_vs_build"])
    assert len(ops) >= 2
    must = {"total_cost", "cost_p10", "cost_p50", "cost_p90", "trench_km", "savings", "cost_range.mode_total",
            *(f"rent_vs_build.{o}.{c}" for o in ops for c in ("npv_build", "npv_rent", "break_even_rent_per_km_month",
                                                               "owner_rent_income_per_year", "npv_owner_rent_income")),
            *(f"allocation.shapley.{o}" for o in summary["allocation"]["shapley"])}
    assert must <= set(p.figures)
    checked = 0
    for key, (raw, text) in p.figures.items():
        if key == "boq_total":   # the bill of quantities sums to the plan's total
            assert float(raw) == pytest.approx(summary["total_cost"], abs=0.05)
            continue
        want = _value(summary, key)
        if want is None:
            assert raw is None and text == "–", key
            continue
        assert float(raw) == want, key
        assert text.replace(",", "").split()[0].rstrip("%") != "", key
        checked += 1
    assert checked >= len(must)
    # the text shown is the figure rounded as the report formats it
    assert p.figures["total_cost"][1] == f"{summary['total_cost']:,.0f} THB"
    assert p.figures["cost_range.total.p90"][1] == f"{summary['cost_range']['total']['p90']:,.0f} THB"
    # the BoQ table lists every item of boq.csv
    boq = pd.read_csv(plan_dir / "boq.csv")
    for item in boq["item"].unique():
        assert f"<td>{item}</td>" in html.replace("&gt;", ">").replace("&lt;", "<").replace("&#34;", '"')


def test_names_from_inputs_are_escaped(page):
    html, p, summary = page
    assert EVIL_OP in summary["allocation"]["shapley"]
    assert "<script" not in html.lower()
    assert "<b>co</b>" not in html
    assert "&lt;script&gt;alert(&#34;op&#34;)&lt;/script&gt;" in html            # operator, as text
    assert "&lt;script&gt;alert(&#39;site&#39;)&lt;/script&gt; &amp; &lt;b&gt;co&lt;/b&gt;" in html   # site name


def test_offline_and_links_to_the_maps(page, plan_dir):
    html, p, _ = page
    for link in p.links:
        assert link.startswith(("#", "data:image/svg+xml;base64,")) or link in ("map.html", "cost_map.html",
                                                                             "coverage_map.html"), link
    for name in ("map.html", "cost_map.html", "coverage_map.html"):
        assert f'href="{name}"' in html and (plan_dir / name).is_file()
    assert "http:" not in html and "https:" not in html and "//" not in re.sub(r"data:[^\"]+", "", html)
    assert "© OpenStreetMap contributors" in html
    assert "@media print" in html


def test_tornado_svg_is_the_chart_in_the_report(page, plan_dir):
    html, p, summary = page
    svg = (plan_dir / "tornado.svg").read_bytes()
    uris = [link for link in p.links if link.startswith("data:image/svg+xml")]
    assert [base64.b64decode(u.split(",", 1)[1]) for u in uris] == [svg]
    labels = [t.text for t in _svg_texts(svg)]
    assert [row["cost"] for row in summary["tornado"][:report.TORNADO_BARS]] == [
        t for t in labels if t in {row["cost"] for row in summary["tornado"]}]
    # the tornado table lists the figures of summary.json, widest swing first
    for row in summary["tornado"]:
        assert f"<td>{row['cost']}</td><td class=\"n\">{row['low']:,.0f} THB</td>" in html


def test_rent_settings_from_the_scenario(page, plan_dir):
    _, _, summary = page
    st = summary["rent_settings"]
    assert (st["discount_rate"], st["horizon_years"]) == (0.06, 15)
    assert st["rent_per_km_month"]["PEA"] == 3500.0 and st["source"] == "scenario and cost model"
    assert summary["rent_vs_build"]["PEA"]["rent_per_km_month"] == 3500.0
    alloc = pd.read_csv(plan_dir / "allocation.csv").set_index("operator")
    for op, r in summary["rent_vs_build"].items():
        for col in economics.RENT_COLUMNS:
            got = alloc.loc[op, col]
            assert (got == r[col]) if isinstance(r[col], str) else float(got) == pytest.approx(r[col]), (op, col)


def test_owner_income_is_the_others_rent_on_its_ducts(page, plan_dir):
    """From ducts.geojson: what each owner earns = the others' duct-km in its segments x their rent, discounted."""
    _, _, summary = page
    ducts = gpd.read_file(plan_dir / "ducts.geojson")
    st = summary["rent_settings"]
    a = economics.annuity_factor(st["discount_rate"], st["horizon_years"])
    rates = st["rent_per_km_month"]
    checked = 0
    for owner, r in summary["rent_vs_build"].items():
        mine = ducts[ducts[f"ducts_{owner}"] > 0]
        income = sum((mine[f"ducts_{o}"] * mine["length_m"]).sum() / 1000.0 * rates[o] * 12.0
                     for o in rates if o != owner)
        assert r["owner_rent_income_per_year"] == pytest.approx(income, rel=1e-6, abs=0.05)
        assert r["npv_owner_rent_income"] == pytest.approx(income * a, rel=1e-6, abs=0.05)
        checked += income > 0
    assert checked >= 1   # the plan shares a trench: someone earns rent


def _fake_plan(**summary):
    base = {"scenario": "x", "total_cost": 1000.0, "cost_breakdown": {"trench": 600.0, "ducts": 300.0,
                                                                    "manholes": 100.0}}
    sites = pd.DataFrame({"site_id": ["a<1>"], "operator": ["O&P"], "kind": ["k"], "name": ["n"], "connected": [False],
                          "status": ["too_far"]})
    return SimpleNamespace(name="Plan <x>", summary={**base, **summary}, boq=None, sites=sites, operators=("O&P",))


def test_report_without_economics_and_with_phases():
    phases = [{"phase": 1, "name": "first <one>", "end": "2027", "budget_thb": 600.0, "cost_thb": 580.5, "segments": 3,
               "sites_connected": 2, "buildings_passed": 10, "cumulative": {"cost_thb": 580.5}},
              {"phase": 2, "name": "second", "end": None, "budget_thb": None, "cost_thb": 419.5, "segments": 2,
               "sites_connected": 1, "buildings_passed": 4, "cumulative": {"cost_thb": 1000.0}}]
    html = report.report_html(_fake_plan(phases=phases, phases_unbuilt={"segments": 0, "cost_thb": 0.0, "sites": []}))
    p = parse(html)
    assert p.sections == [sid for sid, _ in report.SECTIONS]
    assert p.figures["phases.0.cost_thb"][0] == "580.5" and p.figures["phases.1.cost_thb"][1] == "420 THB"
    assert "first &lt;one&gt;" in html and "Plan &lt;x&gt;" in html and "a&lt;1&gt;" in html and "O&amp;P" in html
    assert "No rent rates" in html and "No unit cost of this plan has a range" not in html   # text is in the SVG
    assert "[[phases]]" not in html
    plain = report.report_html(_fake_plan())
    assert "This scenario has no [[phases]]" in plain


def _svg_texts(svg: bytes) -> list:
    import xml.etree.ElementTree as ET
    return list(ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text"))


def test_tornado_bars_span_low_to_high_around_the_mode():
    rows = [{"cost": "trench.<asphalt>", "low": 900e6, "high": 1300e6}, {"cost": "ducts & co", "low": 990e6, "high": 1010e6},
            {"cost": "up only", "low": 1000e6, "high": 1100e6}]
    svg = report.tornado_svg(rows, 1000e6)
    import xml.etree.ElementTree as ET
    root = ET.fromstring(svg)   # well-formed: the names are escaped
    ns = "{http://www.w3.org/2000/svg}"
    assert [t.text for t in _svg_texts(svg) if t.text in {r["cost"] for r in rows}] == [r["cost"] for r in rows]
    long = report.tornado_svg([{"cost": "x" * 80, "low": 1.0, "high": 3.0}], 2.0)
    label = next(t for t in _svg_texts(long) if (t.text or "").startswith("x"))
    assert label.text == "x" * 43 + "…" and label[0].text == "x" * 80   # cut, the full name in its tooltip
    bars = [r for r in root.iter(f"{ns}rect") if r.get("y") not in (None, "34") and r.get("height") != root.get("height")]
    lows = [b for b in bars if b.get("fill") == "#4575b4"]
    highs = [b for b in bars if b.get("fill") == "#d73027"]
    assert len(lows) == 2 and len(highs) == 3   # "up only" has no part below the mode
    scale = float(highs[0].get("width")) / 300.0   # pixels per million THB
    assert float(lows[0].get("width")) == pytest.approx(100.0 * scale, abs=0.02)
    assert float(highs[1].get("width")) == pytest.approx(10.0 * scale, abs=0.02)
    assert float(lows[0].get("x")) + float(lows[0].get("width")) == pytest.approx(float(highs[0].get("x")), abs=0.02)
    assert any("at the mode: 1,000.000" in (t.text or "") for t in _svg_texts(svg))
    empty = report.tornado_svg([], 1000e6)
    assert [t.text for t in _svg_texts(empty)] == ["No unit cost of this plan has a range"]


def test_same_plan_same_bytes():
    plan = _fake_plan(tornado=[{"cost": "a.b", "low": 900.0, "high": 1200.0}, {"cost": "c", "low": 990.0, "high": 1001.0}],
                      cost_range={"mode_total": 1000.0, "total": {"p10": 950.0, "p50": 1010.0, "p90": 1100.0}})
    one, two = report.report_files(plan), report.report_files(plan)
    assert one == two and set(one) == {"report.html", "tornado.svg"}
    assert one["tornado.svg"] != report.report_files(_fake_plan())["tornado.svg"]


def test_boq_by_item_sums_phase_rows():
    boq = pd.DataFrame({"item": ["t", "t", "t", "d"], "category": ["trench"] * 3 + ["duct"], "unit": ["m"] * 4,
                        "quantity": [10.0, 4.0, 6.0, 5.0], "unit_cost_thb": [100.0] * 3 + [20.0],
                        "cost_thb": [1000.0, 400.0, 600.0, 100.0], "operator": ["all"] * 3 + ["A"],
                        "phase": pd.array([pd.NA, 1, 2, pd.NA], dtype="Int64")})
    got = report.boq_by_item(boq)   # whole-plan rows (phase empty) only
    assert got[["item", "quantity", "cost_thb"]].values.tolist() == [["t", 10.0, 1000.0], ["d", 5.0, 100.0]]
    seg = boq.assign(phase=pd.array([1, 1, 2, 2], dtype="Int64"))   # rows per phase only: summed
    got = report.boq_by_item(seg)
    assert got[["item", "quantity", "cost_thb"]].values.tolist() == [["t", 20.0, 2000.0], ["d", 5.0, 100.0]]


def test_compare_refuses_a_summary_nested_too_deeply(tmp_path):
    """A summary.json of `[` x 100000 ended compare with a RecursionError (exit 1)."""
    from connectivity.errors import InputDataError

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "summary.json").write_text("[" * 100_000)
    with pytest.raises(InputDataError, match=r"a/summary\.json: not valid JSON \(arrays or objects nested too deeply\)$"):
        report.compare([str(tmp_path / "a"), str(tmp_path / "a")], str(tmp_path / "cmp"))
    assert not (tmp_path / "cmp").exists()


@pytest.mark.parametrize("text, key, shown", [("NaN", "total_cost", "NaN"), ("Infinity", "total_cost", "Infinity"),
                                              ("-Infinity", "savings_pct", "-Infinity"),
                                              ("1e999", "cost_range.total.p90", "Infinity")])
def test_compare_refuses_non_finite_figures(tmp_path, text, key, shown):
    """NaN or Infinity in summary.json (a plan writes null) showed as an empty cell or "inf", exit 0;
    refused as text there is: one line naming the file and the key."""
    from connectivity.errors import InputDataError

    summary = {"scenario": "A", "total_cost": 1e6, "savings_pct": 5.0, "cost_range": {"total": {"p90": 1.2e6}}}
    if key == "cost_range.total.p90":
        summary["cost_range"]["total"]["p90"] = "@"
    else:
        summary[key] = "@"
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "summary.json").write_text(json.dumps(summary).replace('"@"', text))
    with pytest.raises(InputDataError, match=rf"a/summary\.json: `{re.escape(key)}` must be a finite number, not {shown}$"):
        report.compare([str(tmp_path / "a"), str(tmp_path / "a")], str(tmp_path / "cmp"))
    assert not (tmp_path / "cmp").exists()
