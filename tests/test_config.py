import pytest

from connectivity.config import load_operators, load_scenario, parse_operators
from connectivity.errors import ConfigError


def write(tmp_path, text, name="s.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_scenario_paths_resolve_against_toml_folder(fixtures):
    sc = load_scenario(fixtures / "tiny.toml")
    assert sc.inputs.osm == (fixtures / "tiny.osm").resolve()
    assert [o.name for o in sc.operators] == ["TOT", "CAT", "PEA"]
    assert sc.options.max_site_distance_m == 200.0


def test_road_overrides_replace_the_road_source(fixtures, tmp_path):
    """--osm replaces a scenario's road lines (the OSM file comes first); --roads is refused for a
    scenario reading inputs.osm, whose OSM file would still be read instead of the lines."""
    lines = write(tmp_path, 'name = "x"\n[inputs]\nroads = "r.geojson"\n')
    assert load_scenario(lines, osm=fixtures / "tiny.osm").inputs.osm == (fixtures / "tiny.osm").resolve()
    both = load_scenario(fixtures / "tiny.toml", roads=tmp_path / "r.geojson", osm=tmp_path / "t.osm")
    assert both.inputs.roads == tmp_path / "r.geojson"
    with pytest.raises(ConfigError, match=r"tiny\.toml: road lines .*r\.geojson given, but .*inputs\.osm \(tiny\.osm\)"):
        load_scenario(fixtures / "tiny.toml", roads=tmp_path / "r.geojson")


def test_unknown_scenario_key_is_an_error(tmp_path):
    p = write(tmp_path, 'name = "x"\ncolour = "red"\n[inputs]\nosm = "a.osm"\n')
    with pytest.raises(ConfigError, match="unknown key.*colour"):
        load_scenario(p)


def test_unknown_option_is_an_error(tmp_path):
    p = write(tmp_path, '[inputs]\nosm = "a.osm"\n[options]\nmax_site_distance = 3\n')
    with pytest.raises(ConfigError, match="max_site_distance"):
        load_scenario(p)


@pytest.mark.parametrize("value", ["-5", "0", '"far"', "1e12"])
def test_bad_option_values(tmp_path, value):
    p = write(tmp_path, f'[inputs]\nosm = "a.osm"\n[options]\nmax_site_distance_m = {value}\n')
    with pytest.raises(ConfigError, match="max_site_distance_m"):
        load_scenario(p)


def test_a_crs_in_feet_is_refused_when_read(tmp_path):
    """options.crs of a projected CRS in feet: named as the scenario's key, before any work (the
    error named the road file, whose layer failed the metres check)."""
    p = write(tmp_path, '[inputs]\nosm = "a.osm"\n[options]\ncrs = "EPSG:2227"\n')
    with pytest.raises(ConfigError, match=r"s\.toml: options\.crs: EPSG:2227 in US survey foot; .* in metres"):
        load_scenario(p)


def test_malformed_toml_names_the_file(tmp_path):
    p = write(tmp_path, "name = [unclosed\n")
    with pytest.raises(ConfigError, match="s.toml.*not valid TOML"):
        load_scenario(p)


def test_scenario_needs_roads(tmp_path):
    with pytest.raises(ConfigError, match="needs roads"):
        load_scenario(write(tmp_path, 'name = "x"\n'))


def test_default_operators_hold_the_five_parties():
    from connectivity.config import PACKAGE_DATA

    ops = load_operators(PACKAGE_DATA / "operators" / "default.toml")
    assert [o.name for o in ops] == ["TOT", "CAT", "EGAT", "MEA", "PEA"]
    assert {o.name: o.kind for o in ops} == {"TOT": "telecom", "CAT": "telecom", "EGAT": "power",
                                           "MEA": "power", "PEA": "power"}
    mea = next(o for o in ops if o.name == "MEA")
    pea = next(o for o in ops if o.name == "PEA")
    assert not mea.serves("Chiang Mai") and mea.serves("Bangkok")
    assert pea.serves("Chiang Mai") and not pea.serves("Bangkok")
    # written otherwise, the same province: PEA does not serve Bangkok, MEA does
    for name in ("bangkok", " BANGKOK ", "samut-prakan", "SamutPrakan", "Samut_Prakan"):
        assert mea.serves(name) and not pea.serves(name), name
    assert not mea.serves("chiangmai") and pea.serves("chiangmai")


def test_a_misspelt_province_of_the_operators_file_is_warned_about():
    from connectivity.config import PACKAGE_DATA, province_near_miss

    ops = load_operators(PACKAGE_DATA / "operators" / "default.toml")
    assert "not 'Bangkok' of the operators file" in province_near_miss("Bangkock", ops)
    assert "not 'Nonthaburi'" in province_near_miss("Nontaburi", ops)
    for fine in ("Bangkok", "bangkok", "Samut-Prakan", "Chiang Mai", "Phuket", None, ""):
        assert province_near_miss(fine, ops) is None, fine   # listed, or no operator lists it (served nationwide)


def test_new_operator_by_configuration_alone():
    ops = parse_operators({"operators": [{"name": "AIS", "kind": "telecom", "ducts": 1,
                                          "sites": [{"amenity": ["school"]}]}]}, "x")
    assert ops[0].name == "AIS" and ops[0].sites[0].matches({"amenity": "school"})
    assert not ops[0].sites[0].matches({"amenity": "bar"})


@pytest.mark.parametrize("table, message", [
    ({"name": "X", "kind": "water"}, "kind"),
    ({"name": "X", "kind": "power", "ducts": -1}, "ducts"),
    ({"name": "X", "kind": "power", "colour": 1}, "unknown key"),
    ({"kind": "power"}, "name"),
])
def test_bad_operator_tables(table, message):
    with pytest.raises(ConfigError, match=message):
        parse_operators({"operators": [table]}, "ops.toml")


def test_duplicate_operator_names():
    with pytest.raises(ConfigError, match="duplicate"):
        parse_operators({"operators": [{"name": "X", "kind": "power"}, {"name": "X", "kind": "telecom"}]}, "o")


def test_operators_differing_only_by_case_refused(tmp_path):
    from connectivity.config import load_operators
    from connectivity.errors import ConfigError
    f = tmp_path / "ops.toml"
    f.write_text('[[operators]]\nname = "TOT"\nkind = "telecom"\n\n[[operators]]\nname = "tot"\nkind = "telecom"\n')
    with pytest.raises(ConfigError) as e:
        load_operators(f)
    msg = str(e.value)
    assert "ops.toml" in msg and "TOT" in msg and "tot" in msg and "case" in msg and "\n" not in msg


def test_toml_with_utf8_bom_reads_cleanly(tmp_path):
    """Scenario, operators and cost files saved by Windows editors (UTF-8 with a BOM) read as without it."""
    from connectivity.config import load_scenario, read_toml
    from connectivity.costs import load_cost_model
    from tests.conftest import FIXTURES, REPO
    for name in ("tiny.toml", "operators.toml", "tiny.osm"):
        data = (FIXTURES / name).read_bytes()
        (tmp_path / name).write_bytes(b"\xef\xbb\xbf" + data if name.endswith(".toml") else data)
    s = load_scenario(tmp_path / "tiny.toml")
    assert s.name == "tiny" and [o.name for o in s.operators]
    costs = tmp_path / "costs.toml"
    costs.write_bytes(b"\xef\xbb\xbf" + (REPO / "connectivity" / "data" / "costs" / "default.toml").read_bytes())
    assert load_cost_model(costs).usd_to_thb > 0
    (tmp_path / "u16.toml").write_bytes('name = "x"\n'.encode("utf-16"))
    from connectivity.errors import ConfigError
    with pytest.raises(ConfigError, match="UTF-16"):
        read_toml(tmp_path / "u16.toml")


def test_design_and_phases_are_typed_and_checked_when_read(tmp_path):
    from connectivity.config import DesignSettings, PhaseSpec

    p = write(tmp_path, '[inputs]\nosm = "a.osm"\n[design]\nrounds = 2\nunderground_aerial = true\nbound_steps = 200\n'
                        '[[phases]]\nname = "Quick"\nbudget_thb = 1e6\ncost_per_m_thb = 3000\n[[phases]]\nname = "Rest"\n')
    sc = load_scenario(p)
    assert sc.design == DesignSettings(rounds=2, underground_aerial=True, bound_steps=200)
    assert sc.phases == (PhaseSpec("Quick", 1e6), PhaseSpec("Rest", None))
    assert sc.phase_cost_per_m_thb == 3000.0
    plain = load_scenario(write(tmp_path, '[inputs]\nosm = "a.osm"\n', "plain.toml"))
    assert plain.design == DesignSettings() and plain.phases == () and plain.phase_cost_per_m_thb is None


@pytest.mark.parametrize("section, match", [
    ('[design]\nround = 2\n', r"\[design\] unknown key.*round"),
    ('[design]\nbound_steps = 1001\n', r"design\.bound_steps must be an integer from 0 to 1000"),
    ('[design]\nrounds = 0\n', r"design\.rounds must be an integer from 1 to 100"),
    ('design = 3\n', r"\[design\] must be a table"),
    ('[[phases]]\nname = "A"\nbudget_thb = -1\n', r"phases\[0\]\.budget_thb"),
    ('[[phases]]\nname = "A"\npriority = "operators"\nweights = { XYZ = 2 }\n', r"weights\.XYZ: unknown operator"),
    ('[coverage]\nbuffer_m = -5\n', r"unknown key.*coverage"),
])
def test_bad_sections_fail_when_the_scenario_is_read(tmp_path, section, match):
    head = "" if section.startswith("[") else section
    body = section if section.startswith("[") else ""
    p = write(tmp_path, head + '[inputs]\nosm = "a.osm"\n' + body)
    with pytest.raises(ConfigError, match=match):
        load_scenario(p)
