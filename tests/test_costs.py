"""Cost model: reading and validation of the TOML, per-edge trench costs."""
from __future__ import annotations

import tomllib

import numpy as np
import pytest

from connectivity.costs import (DEFAULT_COST_MODEL, MODES, duct_costs, edge_costs, load_cost_model,
                                make_edge_table, parse_cost_model, structure_shares)
from connectivity.errors import ConfigError


@pytest.fixture(scope="module")
def model():
    return load_cost_model()


def raw():
    with DEFAULT_COST_MODEL.open("rb") as fh:
        return tomllib.load(fh)


def test_default_model_reads(model):
    assert model.currency == "THB"
    assert model.usd_to_thb == 35.0
    assert model.manhole_spacing_m == 140.0
    assert model.reuse_discount == 0.5
    assert model.open_cut("trunk") > model.open_cut("residential")
    assert model.open_cut("no_such_class") == dict(model.open_cut_per_m)["default"]
    # every table states source and date
    assert {t for t, _, _ in model.sources} >= {"open_cut", "hdd", "manhole", "reuse", "currency"}
    assert all(s and d for _, s, d in model.sources)


def test_duct_price_picks_smallest_wide_enough(model):
    assert model.duct_price(100) == dict(model.duct_per_m)[100]
    assert model.duct_price(110) == dict(model.duct_per_m)[125]
    with pytest.raises(ConfigError, match="duct"):
        model.duct_price(5000)


@pytest.mark.parametrize("table,key,value,match", [
    ("open_cut", "residential", -1.0, "open_cut.residential"),
    ("hdd", "per_m", "a lot", "hdd.per_m"),
    ("manhole", "colour", 3, "colour"),
    ("reuse", "discount", 1.5, "reuse.discount"),
])
def test_bad_values_name_file_and_key(table, key, value, match):
    data = raw()
    data[table][key] = value
    with pytest.raises(ConfigError, match=match) as err:
        parse_cost_model(data, "costs.toml")
    assert "costs.toml" in str(err.value)


def test_missing_cost_and_unknown_table():
    data = raw()
    del data["hdd"]["per_m"]
    with pytest.raises(ConfigError, match="costs.toml: hdd.per_m is missing"):
        parse_cost_model(data, "costs.toml")
    data = raw()
    data["fibre"] = {"source": "x", "date": "y"}
    with pytest.raises(ConfigError, match="unknown table"):
        parse_cost_model(data, "costs.toml")
    data = raw()
    del data["manhole"]["source"]
    with pytest.raises(ConfigError, match="manhole.source"):
        parse_cost_model(data, "costs.toml")


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_cost_model(tmp_path / "nope.toml")


def test_edge_costs_follow_road_attributes(model):
    # 0-1 residential (micro allowed), 1-2 primary (major), 2-3 bridge, 1-4 residential asphalt
    # 4 lanes, 2-5 residential unpaved reused corridor
    t = make_edge_table([0, 1, 2, 1, 2], [1, 2, 3, 4, 5], [100, 100, 50, 100, 100],
                        highway=["residential", "primary", "residential", "residential", "residential"],
                        surface=["asphalt", "asphalt", None, "asphalt", "unpaved"],
                        lanes=[2, 4, None, 4, None], bridge=[False, False, True, False, False],
                        reuse=[False, False, False, False, True])
    c = edge_costs(model, t)
    assert c.trench.shape == (5, len(MODES))
    # telecom-only on a residential road: micro-trench, cheaper than power
    assert c.trench_type[0, 0] == "micro_trench" and c.trench_type[0, 1] == "open_cut"
    assert c.main[0, 0] == pytest.approx(100 * model.micro_trench_per_m)
    # edge 0 ends at node 1 on the primary road: half a bore
    assert c.bores[0] == 0.5 and c.crossing[0] > 0
    # the primary road itself carries no crossing, and costs more per metre than residential open cut
    assert c.crossing[1] == 0
    assert c.main[1, 1] > c.main[3, 1]
    # bridge: one full bore (plus half a crossing bore at node 2 on the primary)
    assert c.trench_type[2, 1] == "hdd" and c.bores[2] == 1.5
    # 4 lanes cost more than 2 on the same class
    assert c.main[3, 1] == pytest.approx(100 * model.open_cut("residential") * (1 + 2 * model.per_extra_lane))
    # reuse halves the open cut; unpaved is cheaper
    assert c.trench_type[4, 1] == "corridor_reuse"
    assert c.main[4, 1] == pytest.approx(100 * model.open_cut("residential") * model.surface("unpaved") * 0.5)
    # joint = power-only plus surcharge; telecom-only never dearer than power-only
    np.testing.assert_allclose(c.trench[:, 2], c.trench[:, 1] * (1 + model.joint_surcharge_fraction))
    assert np.all(c.trench[:, 0] <= c.trench[:, 1] + 1e-9)


def test_a_structure_split_into_edges_pays_one_mobilisation(model):
    """A bridge 0-1-2-3 split at node 1 (a site's lead-in joins there) and node 2 is one bore; a
    second bridge 5-6-7 meets a third, 6-8, at node 6, where three structure edges meet: three
    structures. A road edge is no structure."""
    u = [0, 1, 2, 1, 5, 6, 6, 3]
    v = [1, 2, 3, 4, 6, 7, 8, 5]
    length = [40.0, 20.0, 40.0, 10.0, 30.0, 30.0, 30.0, 100.0]
    bridge = [True, True, True, False, True, True, True, False]
    t = make_edge_table(u, v, length, highway=["residential"] * 8, bridge=bridge)
    c = edge_costs(model, t)
    np.testing.assert_allclose(c.structure_bores, [0.4, 0.2, 0.4, 0, 1, 1, 1, 0])
    whole = c.main[:3, 1].sum()
    assert whole == pytest.approx(100 * model.hdd_per_m + model.hdd_mobilisation)
    assert c.bores[:3].sum() == pytest.approx(1.0)
    # edges of no length share the bore equally; a structure self-loop is a structure of its own
    shares = structure_shares(np.array([0, 1, 4]), np.array([1, 2, 4]), np.zeros(3), np.ones(3, dtype=bool))
    np.testing.assert_allclose(shares, [0.5, 0.5, 1.0])


def test_duct_costs(model):
    d = duct_costs(model, np.array([10.0, 20.0]), ducts=[2, 4], diameters_mm=[100, 125])
    assert d.shape == (2, 2)
    assert d[1, 1] == pytest.approx(4 * model.duct_price(125) * 20)


@pytest.mark.parametrize("table,key,value,match", [
    ("manhole", "spacing_m", 0.05, r"costs.toml: manhole.spacing_m = 0.05 m is impossible: it must be at least 5 m"),
    ("open_cut", "residential", 2e6, r"costs.toml: open_cut.residential = 2,000,000 THB/m is impossible: .* at most 1,000,000"),
    ("open_cut", "default", {"low": 2000.0, "mode": 3000.0, "high": 1e308}, r"open_cut.default.high = 1e\+308 THB/m"),
    ("surface", "asphalt", 500.0, r"surface.asphalt = 500 x is impossible"),
    ("manhole", "power", 1e12, r"manhole.power = 1e\+12 THB is impossible"),
])
def test_impossible_values_are_errors(table, key, value, match):
    data = raw()
    data[table][key] = value
    with pytest.raises(ConfigError, match=match):
        parse_cost_model(data, "costs.toml")


@pytest.mark.parametrize("table,key,value,words", [
    ("manhole", "spacing_m", 10.0, "manhole.spacing_m = 10 m is outside the plausible range 30-500 m"),
    ("open_cut", "residential", 90_000.0, "open_cut.residential = 90,000 THB/m is outside the plausible range 500-20,000"),
    ("contingency", "percent", 300.0, "contingency.percent = 300 % is outside the plausible range 0-50 %"),
    ("currency", "usd_to_thb", 1.0, "currency.usd_to_thb = 1 THB/USD is outside"),
])
def test_implausible_values_warn_in_one_line(table, key, value, words, caplog):
    data = raw()
    data[table][key] = value
    with caplog.at_level("WARNING"):
        model = parse_cost_model(data, "costs.toml")
    lines = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(lines) == 1 and lines[0].startswith(f"costs.toml: {words}") and lines[0].endswith("; check the value")
    assert model is not None  # priced all the same


def test_default_model_is_plausible(caplog):
    from connectivity.costs import check_limits
    with caplog.at_level("WARNING"):
        assert check_limits(load_cost_model()) == []
    assert not caplog.records


def test_implausible_lane_counts_are_ignored_with_a_warning(model, caplog):
    """lanes=1000000 (a typo) or 0 is no lane count: the edge costs what it costs without one."""
    import logging

    kw = dict(highway=["primary"] * 3, surface=["asphalt"] * 3)
    with caplog.at_level(logging.WARNING, logger="connectivity.costs"):
        odd = edge_costs(model, make_edge_table([0, 1, 2], [1, 2, 3], [100, 100, 100], lanes=[1_000_000, 0, 4], **kw))
    unknown = edge_costs(model, make_edge_table([0, 1, 2], [1, 2, 3], [100, 100, 100], lanes=[None, None, 4], **kw))
    np.testing.assert_allclose(odd.trench, unknown.trench)
    assert any("2 road edge(s) with a lane count outside 1-30 (e.g. 1e+06)" in r.getMessage() for r in caplog.records)


def test_osm_widths_with_a_unit_are_read_and_words_are_ignored_with_a_warning(model, caplog):
    """OSM writes ``width=3.5 m``: that is 3.5 metres; ``lanes=abc`` or ``width=wide`` is no number
    (priced as unknown, one warning line per tag)."""
    import logging

    kw = dict(highway=["primary"] * 3, surface=["asphalt"] * 3)
    with caplog.at_level(logging.WARNING, logger="connectivity.costs"):
        t = make_edge_table([0, 1, 2], [1, 2, 3], [100, 100, 100], lanes=["abc", "2;3", 4],
                            width_m=["3.5 m", "wide", "12m"], **kw)
    np.testing.assert_array_equal(t.width_m[[0, 2]], [3.5, 12.0])
    assert np.isnan(t.width_m[1]) and np.isnan(t.lanes[0]) and t.lanes[1] == 2
    msgs = [r.getMessage() for r in caplog.records]
    assert "1 road edge(s) with a lane count that is no number (e.g. 'abc'): it is ignored" in msgs
    assert "1 road edge(s) with a width that is no number (e.g. 'wide'): it is ignored" in msgs
    same = make_edge_table([0, 1, 2], [1, 2, 3], [100, 100, 100], lanes=[None, 2, 4], width_m=[3.5, None, 12], **kw)
    np.testing.assert_allclose(edge_costs(model, t).trench, edge_costs(model, same).trench)


def test_surfaces_the_model_does_not_price_are_named_once_with_their_counts(model, caplog):
    """An OSM surface missing from [surface] ('wood', a typo '7') is priced as the default; one
    warning line names those values, most frequent first; priced ones and missing ones are not named."""
    import logging

    from connectivity.costs import unpriced_surfaces

    surfaces = ["asphalt", "wood", "7", "wood", None, "gravel"]
    t = make_edge_table(list(range(6)), list(range(1, 7)), [100.0] * 6, highway=["residential"] * 6,
                        surface=surfaces)
    with caplog.at_level(logging.WARNING, logger="connectivity.costs"):
        lines = unpriced_surfaces(model, t, source="costs.toml")
    assert lines == ["costs.toml: 3 road edge(s) with a surface the [surface] table does not price, priced as its "
                     f"default ({model.surface(None):g}): 'wood' (2), '7' (1)"]
    assert [r.getMessage() for r in caplog.records] == lines
    priced = make_edge_table([0, 1], [1, 2], [100.0, 100.0], surface=["asphalt", None])
    assert unpriced_surfaces(model, priced) == []
    costs = edge_costs(model, t).trench[:, 1]
    assert costs[1] == costs[2] == pytest.approx(costs[0] * model.surface(None) / model.surface("asphalt"))
