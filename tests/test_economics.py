"""Cost ranges (Monte Carlo, tornado) and rent versus build (issue 13)."""
from __future__ import annotations

import re
import tomllib

import numpy as np
import pytest

from connectivity import economics, report
from connectivity.costs import DEFAULT_COST_MODEL, load_cost_model, parse_cost_model
from connectivity.errors import ConfigError
from conftest import small_joint_plan


def raw():
    with DEFAULT_COST_MODEL.open("rb") as fh:
        return tomllib.load(fh)


def ranges_of(model):
    return {k: (lo, mo, hi) for k, lo, mo, hi in model.ranges}


@pytest.fixture(scope="module")
def plan_rows():
    """A small joint plan (bridge, primary road crossing, shared trench) and its BoQ rows."""
    model, _, plan, rows = small_joint_plan()
    return model, rows, plan.cost * model.contingency_factor


def degenerate(ranges):
    return {k: (mo, mo, mo) for k, (lo, mo, hi) in ranges.items()}


# --------------------------------------------------------------------------- cost model parsing

def test_default_model_keeps_modes_and_has_ranges():
    model = load_cost_model()
    r = ranges_of(model)
    assert r["open_cut.residential"] == (2065.0, 2450.0, 5180.0)
    assert r["hdd.per_m"] == (1155.0, 2300.0, 3430.0)
    assert r["hdd.mobilisation_per_bore"] == (35000.0, 61250.0, 87500.0)
    assert r["micro_trench.per_m"] == (805.0, 1260.0, 1715.0)
    assert model.open_cut("residential") == 2450.0 and model.hdd_per_m == 2300.0
    assert r["contingency.percent"] == (10.0, 10.0, 10.0)   # a number: low = mode = high
    assert model.rent_per_subduct_km_month == 9325.0 and model.horizon_years == 20


def test_numbers_and_triples_parse_alike():
    data = raw()
    data["hdd"]["per_m"] = 2300.0
    a = parse_cost_model(data, "a.toml")
    data["hdd"]["per_m"] = {"low": 2000.0, "mode": 2300.0, "high": 2600.0, "source": "quote"}
    b = parse_cost_model(data, "b.toml")
    assert a.hdd_per_m == b.hdd_per_m == 2300.0
    assert a.range_of("hdd.per_m") == (2300.0,) * 3 and b.range_of("hdd.per_m") == (2000.0, 2300.0, 2600.0)


@pytest.mark.parametrize("table,key,value,match", [
    ("hdd", "per_m", {"low": 2400.0, "mode": 2300.0, "high": 2600.0}, "hdd.per_m must have low <= mode <= high"),
    ("hdd", "per_m", {"low": 2000.0, "mode": 2300.0, "high": 2200.0}, "hdd.per_m must have low <= mode <= high"),
    ("manhole", "telecom", {"low": -1.0, "mode": 2300.0, "high": 2600.0}, "manhole.telecom.low must be non-negative"),
    ("open_cut", "residential", {"low": 1.0, "mode": 2.0}, "open_cut.residential .*missing high"),
    ("open_cut", "residential", {"low": 1.0, "mode": 2.0, "high": 3.0, "max": 4}, "unknown max"),
    ("manhole", "spacing_m", {"low": 100.0, "mode": 140.0, "high": 150.0}, "manhole.spacing_m must be a number"),
    ("rent", "per_subduct_km_month", -5.0, "rent.per_subduct_km_month must be positive"),
])
def test_bad_ranges_name_file_and_key(table, key, value, match):
    data = raw()
    data[table][key] = value
    with pytest.raises(ConfigError, match=match) as err:
        parse_cost_model(data, "costs.toml")
    msg = str(err.value)
    assert msg.startswith("costs.toml: ") and "\n" not in msg


def test_rent_table_is_optional():
    data = raw()
    del data["rent"]
    model = parse_cost_model(data, "old.toml")
    assert model.rent_per_subduct_km_month == 0.0


# --------------------------------------------------------------------------- bill of quantities terms

def test_boq_terms_sum_to_row_costs(plan_rows):
    model, rows, total = plan_rows
    for r in rows:
        assert sum(r["terms"].values()) == pytest.approx(r["cost_thb"])
        assert r["cost_key"] == "+".join(sorted(r["terms"]))
        assert set(r["terms"]) <= set(ranges_of(model))
    keys = {k for r in rows for k in r["terms"]}
    assert {"open_cut.residential", "hdd.per_m", "hdd.mobilisation_per_bore", "duct.per_m.100",
            "duct.per_m.125", "contingency.percent"} <= keys


# --------------------------------------------------------------------------- Monte Carlo

def test_degenerate_ranges_give_the_plan_total(plan_rows):
    model, rows, total = plan_rows
    out = economics.cost_range(rows, degenerate(ranges_of(model)), shares={"TOT": total / 4, "PEA": total * 3 / 4})
    for p in ("p10", "p50", "p90"):
        assert out["total"][p] == pytest.approx(total, abs=0.01)
    assert out["by_operator"]["PEA"]["p10"] == out["by_operator"]["PEA"]["p90"] == pytest.approx(total * 3 / 4, abs=0.01)
    for r in rows:
        q = out["by_item"][economics.item_label(r)]
        assert q["p10"] == q["p90"] == pytest.approx(r["cost_thb"], abs=0.01)
    assert out["mode_total"] == pytest.approx(total, abs=0.01)
    assert economics.tornado(rows, degenerate(ranges_of(model))) == []


def test_same_seed_same_figures_other_seed_others(plan_rows):
    model, rows, _ = plan_rows
    r = ranges_of(model)
    a = economics.cost_range(rows, r, seed=1, draws=500)
    b = economics.cost_range(rows, r, seed=1, draws=500)
    c = economics.cost_range(rows, r, seed=2, draws=500)
    assert a == b
    assert a["total"] != c["total"]
    assert a["draws"] == 500 and a["seed"] == 1 and "Class 5" in a["estimate_class"]


def test_percentiles_ordered_and_mode_between_extremes(plan_rows):
    model, rows, total = plan_rows
    r = ranges_of(model)
    out = economics.cost_range(rows, r)
    t = out["total"]
    assert t["p10"] <= t["p50"] <= t["p90"]
    for q in list(out["by_item"].values()) + list(out["by_operator"].values()):
        assert q["p10"] <= q["p50"] <= q["p90"]
    low_all = economics.total_at(rows, r, {k: lo for k, (lo, mo, hi) in r.items()})
    high_all = economics.total_at(rows, r, {k: hi for k, (lo, mo, hi) in r.items()})
    assert economics.total_at(rows, r, {}) == pytest.approx(total, abs=0.01)
    assert low_all < total < high_all
    assert low_all <= t["p10"] and t["p90"] <= high_all


def test_triangular_draws_match_the_distribution():
    u = np.random.default_rng(0).random(200_000)
    x = economics.triangular(u, 1.0, 2.0, 4.0)
    assert x.min() >= 1.0 and x.max() <= 4.0
    assert x.mean() == pytest.approx((1 + 2 + 4) / 3, rel=5e-3)
    assert np.all(economics.triangular(u[:5], 3.0, 3.0, 3.0) == 3.0)


def test_tornado_sorted_by_swing_and_brackets_the_mode(plan_rows):
    model, rows, total = plan_rows
    t = economics.tornado(rows, ranges_of(model))
    assert t and all(set(e) == {"cost", "low", "high"} for e in t)
    swings = [e["high"] - e["low"] for e in t]
    assert swings == sorted(swings, reverse=True)
    for e in t:
        assert e["low"] <= total + 0.01 and e["high"] >= total - 0.01
    # hdd.per_m: only the drilled metres of the plan move, by (high - mode) x metres x contingency
    hdd = next(e for e in t if e["cost"] == "hdd.per_m")
    drilled = sum(r["terms"].get("hdd.per_m", 0.0) for r in rows) / model.hdd_per_m
    assert hdd["high"] - total == pytest.approx(drilled * (3430.0 - 2300.0) * model.contingency_factor, rel=1e-6)


# --------------------------------------------------------------------------- rent versus build

def test_npv_matches_a_hand_calculation():
    # 1 km of 2 sub-ducts (2,000 duct-m), 1.5 km of trench, share 1,000,000 THB, 3 years at 10%
    out = economics.rent_vs_build({"A": 1_000_000.0, "B": 0.0}, {"A": 2000.0}, {"A": 1500.0},
                                  rent_per_km_month=9000.0, discount_rate=0.10, horizon_years=3,
                                  maintenance_per_km_year=20000.0)
    assert set(out) == {"A"}   # no share, no decision
    a = 1 / 1.1 + 1 / 1.1 ** 2 + 1 / 1.1 ** 3                      # 2.486852...
    build = 1_000_000 + 1.5 * 20000 * a                             # 1,074,605.56
    rent = 2 * 9000 * 12 * a                                         # 537,152.52
    assert out["A"]["npv_build"] == pytest.approx(build, abs=0.01)
    assert out["A"]["npv_build"] == pytest.approx(1_074_605.56, abs=0.01)
    assert out["A"]["npv_rent"] == pytest.approx(rent, abs=0.01)
    assert out["A"]["choice"] == "rent"
    assert economics.annuity_factor(0.0, 5) == 5.0


def test_break_even_rent_makes_the_npvs_equal():
    kw = dict(discount_rate=0.08, horizon_years=20, maintenance_per_km_year=20000.0)
    out = economics.rent_vs_build({"A": 5e6}, {"A": 3200.0}, {"A": 1600.0}, rent_per_km_month=9325.0, **kw)["A"]
    be = out["break_even_rent_per_km_month"]
    again = economics.rent_vs_build({"A": 5e6}, {"A": 3200.0}, {"A": 1600.0}, rent_per_km_month=be, **kw)["A"]
    assert again["npv_rent"] == pytest.approx(again["npv_build"], abs=1.0)
    assert out["choice"] == ("build" if be < 9325.0 else "rent")


# --------------------------------------------------------------------------- plans side by side

def test_compare_two_plans(tmp_path):
    import json

    a = {"scenario": "A", "sites_connected": 5, "sites_total": 6, "trench_length_m": 1500.0, "total_cost": 1e6,
         "cost_range": {"total": {"p10": 9e5, "p50": 1.1e6, "p90": 1.4e6}}, "savings_pct": 12.5,
         "allocation": {"equal": {"X": 5e5, "Y": 5e5}, "shapley": {"X": 4e5, "Y": 6e5}},
         "rent_vs_build": {"X": {"choice": "build", "npv_owner_rent_income": 123.45}},
         "coverage": {"buildings_passed_pct": 10.0}}
    b = {"scenario": "A", "sites_connected": 4, "trench_length_m": 900.0, "total_cost": 7e5,
         "allocation": {"proportional_ducts": {"X": 7e5}}}
    for name, s in (("a", a), ("b", b)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "summary.json").write_text(json.dumps(s))
    paths = report.compare([str(tmp_path / "a"), str(tmp_path / "b")], str(tmp_path / "cmp"))
    import pandas as pd

    df = pd.read_csv(paths[0]).set_index("figure")
    assert list(df.columns) == ["unit", "A", "A (b)"]
    assert float(df.loc["trench_km", "A"]) == 1.5 and float(df.loc["trench_km", "A (b)"]) == 0.9
    assert float(df.loc["cost_p90", "A"]) == 1.4e6 and pd.isna(df.loc["cost_p90", "A (b)"])
    assert float(df.loc["share_Y", "A"]) == 6e5 and float(df.loc["share_X", "A (b)"]) == 7e5
    assert df.loc["sites_connected", "A"] == "5"   # integers stay integers
    assert df.loc["rent_or_build_X", "A"] == "build"
    assert float(df.loc["owner_rent_npv_X", "A"]) == 123.45 and pd.isna(df.loc["owner_rent_npv_X", "A (b)"])
    html = (tmp_path / "cmp" / "compare.html").read_text()
    assert "<script" not in html and "http" not in html.replace("© OpenStreetMap", "")
    assert "Class 5" in html and "1,400,000" in html
    from connectivity.cli import main

    assert main(["compare", str(tmp_path / "nope"), "--out", str(tmp_path / "x")]) == 2   # one-line error
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "a")]) == 2
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "c2"), "-q"]) == 0
    assert (tmp_path / "c2" / "compare.html").is_file()


# --------------------------------------------------------------------------- the duct owner's rent income

def test_duct_metres_in_trench_by_hand():
    use = np.array([[True, True, False], [False, True, True]])
    got = economics.duct_metres_in_trench(use, np.array([100.0, 200.0, 300.0]), [2, 4], ["A", "B"])
    assert got == {"A": {"A": 600.0, "B": 800.0}, "B": {"A": 400.0, "B": 2000.0}}


def test_owner_income_is_the_others_rent_in_its_trenches_discounted():
    # A owns 300 m of trench holding 800 duct-m of B's; B's trench holds 400 duct-m of A's.
    in_trench = {"A": {"A": 600.0, "B": 800.0}, "B": {"A": 400.0, "B": 2000.0}}
    out = economics.rent_vs_build({"A": 1e6, "B": 2e6}, {"A": 600.0, "B": 2000.0}, {"A": 300.0, "B": 500.0},
                                  rent_per_km_month={"A": 9000.0, "B": 3000.0}, discount_rate=0.10,
                                  horizon_years=3, maintenance_per_km_year=0.0, duct_m_in_trench=in_trench)
    a = 1 / 1.1 + 1 / 1.1 ** 2 + 1 / 1.1 ** 3
    assert out["A"]["owner_rent_income_per_year"] == pytest.approx(0.8 * 3000 * 12, abs=0.01)   # B pays B's rate
    assert out["A"]["npv_owner_rent_income"] == pytest.approx(0.8 * 3000 * 12 * a, abs=0.01)
    assert out["B"]["owner_rent_income_per_year"] == pytest.approx(0.4 * 9000 * 12, abs=0.01)
    assert out["B"]["npv_owner_rent_income"] == pytest.approx(0.4 * 9000 * 12 * a, abs=0.01)
    # each operator rents at its own rate
    assert out["A"]["npv_rent"] == pytest.approx(0.6 * 9000 * 12 * a, abs=0.01)
    assert out["B"]["npv_rent"] == pytest.approx(2.0 * 3000 * 12 * a, abs=0.01)
    assert out["B"]["rent_per_km_month"] == 3000.0
    assert set(economics.RENT_COLUMNS) <= set(out["A"])


def test_owner_income_with_every_duct_in_one_trench_is_the_others_rent():
    """One shared trench: what the owner earns equals what the others pay to rent."""
    use = np.ones((3, 4), dtype=bool)
    length = np.array([50.0, 120.0, 80.0, 250.0])
    ops = ["A", "B", "C"]
    in_trench = economics.duct_metres_in_trench(use, length, [1, 2, 3], ops)
    duct_m = {o: in_trench[o][o] for o in ops}
    rates = {"A": 9325.0, "B": 3500.0, "C": 9650.0}
    out = economics.rent_vs_build({o: 1e6 for o in ops}, duct_m, {o: 500.0 for o in ops}, rent_per_km_month=rates,
                                  discount_rate=0.08, horizon_years=20, maintenance_per_km_year=20000.0,
                                  duct_m_in_trench=in_trench)
    for o in ops:
        others = sum(out[r]["npv_rent"] for r in ops if r != o)
        assert out[o]["npv_owner_rent_income"] == pytest.approx(others, abs=0.05)


# --------------------------------------------------------------------------- scenario [rent]

def test_rent_settings_scenario_over_cost_model():
    model = load_cost_model()
    ops = ["TOT", "CAT", "PEA"]
    base = economics.rent_settings(None, source="s.toml", operators=ops, model=model)
    assert base.source == "cost model" and base.horizon_years == model.horizon_years
    assert base.rates() == {o: model.rent_per_subduct_km_month for o in ops}
    got = economics.rent_settings({"discount_rate": 0.05, "horizon_years": 10, "operators": {"PEA": 3500}},
                                  source="s.toml", operators=ops, model=model)
    assert (got.discount_rate, got.horizon_years) == (0.05, 10)
    assert got.rates() == {"TOT": model.rent_per_subduct_km_month, "CAT": model.rent_per_subduct_km_month,
                           "PEA": 3500.0}
    assert got.maintenance_per_km_year == model.maintenance_per_km_year
    assert got.source == "scenario and cost model"
    full = economics.rent_settings({"discount_rate": 0.0, "horizon_years": 5, "maintenance_per_km_year": 0,
                                    "per_subduct_km_month": 4000}, source="s.toml", operators=ops, model=None)
    assert full.source == "scenario" and full.rates() == {o: 4000.0 for o in ops}
    assert full.summary()["annuity_factor"] == 5.0
    assert economics.rent_settings(None, source="s.toml", operators=ops, model=None) is None


@pytest.mark.parametrize("table,message", [
    ({"discount": 0.1}, "s.toml: [rent] unknown key(s) discount"),
    ({"discount_rate": 1.5}, "s.toml: rent.discount_rate: must be a number from 0 up to 1"),
    ({"discount_rate": True}, "s.toml: rent.discount_rate"),
    ({"horizon_years": 2.5}, "s.toml: rent.horizon_years: must be a whole number of years"),
    ({"horizon_years": 0}, "s.toml: rent.horizon_years"),
    ({"per_subduct_km_month": -1}, "s.toml: rent.per_subduct_km_month: must be a positive number"),
    ({"operators": {"XYZ": 100}}, "s.toml: rent.operators.XYZ: unknown operator"),
    ({"operators": {"PEA": "cheap"}}, "s.toml: rent.operators.PEA: must be a positive number"),
    ({"operators": 5}, "s.toml: rent.operators: must be a table"),
])
def test_rent_settings_errors(table, message):
    with pytest.raises(ConfigError) as err:
        economics.rent_settings(table, source="s.toml", operators=["TOT", "CAT", "PEA"], model=load_cost_model())
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_rent_settings_without_a_cost_model_rent_need_rate_and_horizon():
    with pytest.raises(ConfigError, match="needs horizon_years"):
        economics.rent_settings({"per_subduct_km_month": 9000}, source="s.toml", operators=["A"], model=None)
    with pytest.raises(ConfigError, match=r"needs per_subduct_km_month \(or operators.B\)"):
        economics.rent_settings({"horizon_years": 5, "operators": {"A": 9000}}, source="s.toml",
                                operators=["A", "B"], model=None)


def test_plan_refuses_a_bad_rent_table_before_any_work(tmp_path, capsys):
    from connectivity.cli import main
    from tests.conftest import FIXTURES

    text = (FIXTURES / "tiny.toml").read_text(encoding="utf-8")
    for name in ("tiny.osm", "operators.toml"):
        text = text.replace(f'"{name}"', f'"{(FIXTURES / name).as_posix()}"')
    scen = tmp_path / "s.toml"
    scen.write_text(text + "\n[rent]\nhorizon_years = 10\ndiscount = 0.05\n", encoding="utf-8")
    assert main(["plan", str(scen), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"connectivity: error: {scen}: [rent] unknown key(s) discount; allowed: discount_rate, "
                   "horizon_years, maintenance_per_km_year, operators, per_subduct_km_month"]
    assert not (tmp_path / "out").exists()


def _plan_folder(folder, name, segments):
    """A plan folder with a summary and ``segments`` duct lines (lon/lat pairs)."""
    import json

    import geopandas as gpd
    import shapely

    from connectivity.output import write_geojson

    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps({"scenario": name, "total_cost": 1e6}))
    ducts = gpd.GeoDataFrame({"segment_id": range(1, len(segments) + 1), "length_m": [100.0] * len(segments),
                              "operators": ["A"] * len(segments)},
                             geometry=[shapely.LineString(s) for s in segments], crs="EPSG:4326")
    write_geojson(ducts, folder / "ducts.geojson")
    write_geojson(gpd.GeoDataFrame({"site_id": ["s"], "operator": ["A"], "kind": ["k"], "status": ["connected"],
                                    "connected": [True]},
                                   geometry=[shapely.Point(segments[0][0])], crs="EPSG:4326"), folder / "sites.geojson")


def test_compare_writes_a_map_with_one_layer_per_plan(tmp_path):
    _plan_folder(tmp_path / "a", "Plan <A>", [[(98.96, 18.79), (98.961, 18.79)], [(98.961, 18.79), (98.961, 18.791)],
                                              [(98.961, 18.791), (98.961, 18.791)]])   # a zero-length lead-in, as plans have
    _plan_folder(tmp_path / "b", "B", [[(98.96, 18.79), (98.96, 18.792)]])
    (tmp_path / "c").mkdir()   # a plan folder without ducts: in the table, not on the map
    (tmp_path / "c" / "summary.json").write_text('{"scenario": "C", "total_cost": 5e5}')
    paths = report.compare([str(tmp_path / d) for d in "abc"], str(tmp_path / "cmp"))
    assert [p.rsplit("/", 1)[1] for p in paths] == ["compare.csv", "compare.html", "compare_map.html"]
    page = (tmp_path / "cmp" / "compare_map.html").read_text(encoding="utf-8")
    assert '"key":"plan:0"' in page and '"key":"plan:1"' in page and '"key":"plan:2"' not in page
    assert "Plan <A>" not in page and "Plan \\u0026lt;A\\u0026gt;" in page   # escaped in the legend and layer label
    assert "OpenStreetMap" in page and not re.search(r'src="https?:|<link[^>]*href="https?:', page)   # no CDN: offline
    html = (tmp_path / "cmp" / "compare.html").read_text(encoding="utf-8")
    assert '<a href="compare_map.html">' in html
    first = page
    report.compare([str(tmp_path / d) for d in "abc"], str(tmp_path / "cmp2"))
    assert (tmp_path / "cmp2" / "compare_map.html").read_text(encoding="utf-8") == first   # same plans, same bytes
    # no plan with ducts: no map, no link
    report.compare([str(tmp_path / "c")], str(tmp_path / "cmp3"))
    assert not (tmp_path / "cmp3" / "compare_map.html").exists()
    assert "compare_map" not in (tmp_path / "cmp3" / "compare.html").read_text(encoding="utf-8")
    # the same into the first folder: its map of plans A and B goes, it would not match the table
    report.compare([str(tmp_path / "c")], str(tmp_path / "cmp"))
    assert sorted(p.name for p in (tmp_path / "cmp").iterdir()) == ["compare.csv", "compare.html"]


def test_compare_writes_all_files_or_none(tmp_path, monkeypatch):
    """A failure while the map is drawn (a full disk, a bug) leaves no compare.csv behind: the files
    are staged and moved into place together; a folder the call created is removed again."""
    import errno

    from connectivity import maps

    _plan_folder(tmp_path / "a", "A", [[(98.96, 18.79), (98.961, 18.79)]])

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(maps, "save_map", full)
    for out in (tmp_path / "new", tmp_path / "old"):
        if out.name == "old":
            out.mkdir()
            (out / "notes.txt").write_text("mine")
        with pytest.raises(OSError):
            report.compare([str(tmp_path / "a")], str(out))
        assert not out.exists() if out.name == "new" else sorted(p.name for p in out.iterdir()) == ["notes.txt"]
