"""Scenario and operator files: TOML read with ``tomllib`` into frozen dataclasses.

Relative paths resolve against the folder of the TOML that names them. Unknown keys
are errors (a typo must not silently change a plan).
"""
from __future__ import annotations

import datetime
import math
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Iterable, Mapping

from connectivity.errors import ConfigError, not_a_file

PACKAGE_DATA = Path(__file__).resolve().parent / "data"   # installed with the package (wheel included)
OPERATOR_KINDS = ("telecom", "power")


@dataclass(frozen=True)
class TagRule:
    """One table of a selection rule: every key must take one of its values ("*" = any)."""

    tags: tuple[tuple[str, tuple[str, ...]], ...]

    def matches(self, record: dict[str, Any]) -> bool:
        for key, values in self.tags:
            value = record.get(key)
            if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
                return False
            if "*" not in values and str(value) not in values:
                return False
        return True


@dataclass(frozen=True)
class OperatorSpec:
    """An operator (telecom or power) and the ducts it needs.

    Attributes
    ----------
    ducts
        Ducts the operator lays in every trench it uses (count).
    duct_diameter_mm
        Nominal duct diameter, which picks the duct price in the cost model.
    """

    name: str
    kind: str
    ducts: int = 1
    duct_diameter_mm: int = 100
    provinces: tuple[str, ...] = ()
    exclude_provinces: tuple[str, ...] = ()
    sites: tuple[TagRule, ...] = ()
    hub: tuple[TagRule, ...] = ()

    def serves(self, province: str | None) -> bool:
        """Whether the operator serves ``province`` (unknown province: yes). Names compare without
        case, spaces, hyphens or dots ("bangkok", "Samut-Prakan" are Bangkok, Samut Prakan)."""
        if province is None:
            return True
        key = province_key(province)
        if key in {province_key(p) for p in self.exclude_provinces}:
            return False
        return not self.provinces or key in {province_key(p) for p in self.provinces}


def province_near_miss(province: str | None, operators: Iterable[OperatorSpec]) -> str | None:
    """A warning line when ``province`` is no province the operators list (served or excluded) but
    looks like a misspelling of one ("Bangkock"): then every operator would take it to be another
    province. None otherwise (a province no operator lists is served by the nationwide ones)."""
    import difflib

    if not province:
        return None
    listed = {province_key(p): p for op in operators for p in (*op.provinces, *op.exclude_provinces)}
    key = province_key(province)
    if key in listed:
        return None
    close = difflib.get_close_matches(key, list(listed), n=1, cutoff=0.8)
    if not close:
        return None
    return (f"province {province!r} is taken as a province of its own, not {listed[close[0]]!r} of the "
            f"operators file (which decides who serves it); check the spelling")


def province_key(name: str) -> str:
    """A province name as :meth:`OperatorSpec.serves` compares it: case-folded, without spaces,
    hyphens, dots or underscores."""
    return re.sub(r"[\s\-._]+", "", str(name)).casefold()


@dataclass(frozen=True)
class Inputs:
    """Input files of a scenario (absolute paths) and the area for online fallback."""

    osm: Path | None = None
    roads: Path | None = None
    pois: Path | None = None
    sites: Path | None = None
    poles: Path | None = None
    lines: Path | None = None
    buildings: Path | None = None
    bbox: tuple[float, float, float, float] | None = None  # west, south, east, north (degrees)
    place: str | None = None
    crs: str | None = None  # CRS of CSV inputs given in x/y


@dataclass(frozen=True)
class Options:
    """Planning options.

    Attributes
    ----------
    crs
        Projected CRS for the network, or "auto" for the local UTM zone.
    max_site_distance_m
        Sites farther than this from every road are reported and not connected.
    node_tolerance_m
        Road-line ends and crossings closer than this are merged when noding vector roads.
    site_merge_m
        Sites closer than this (metres) are one location: one site node and one lead-in
        trench shared by every operator with a site there (a building that is a site of
        several operators). 0 gives every site its own lead-in; at most
        :data:`SITE_MERGE_MAX_M` (50 m).
    highway_exclude
        OSM highway classes never used for ducts.
    time_limit_s
        Seconds for the whole design stage (None: no limit).
    quality
        Each operator's tree of each plan polished by the Steiner engine's quality mode, and
        the certified bound given ``QUALITY_BOUND_EFFORT`` (3) times its default subgradient
        steps (unless ``[design] bound_steps`` is set).
    """

    crs: str = "auto"
    max_site_distance_m: float = 300.0
    node_tolerance_m: float = 1.0
    site_merge_m: float = 1.0
    highway_exclude: tuple[str, ...] = (
        "footway", "path", "steps", "cycleway", "pedestrian", "track", "bridleway",
        "bus_stop", "corridor", "elevator", "proposed", "construction", "platform",
        "abandoned", "disused", "razed", "raceway", "via_ferrata", "bus_guideway", "services", "rest_area",
    )
    time_limit_s: float | None = None
    quality: bool = False
    pass_distance_m: float = 20.0
    h3_resolution: int = 9


# --------------------------------------------------------------------------- [design]


@dataclass(frozen=True)
class DesignSettings:
    """The scenario's ``[design]`` table.

    Attributes
    ----------
    underground_aerial
        Require the road edges along overhead lines / pole rows in the plan (their owner,
        or the first operator of the line's group, takes them underground).
    aerial_reuse
        Price trench along overhead lines / pole rows as a reused corridor (cost model
        ``reuse.discount``).
    aerial_buffer_m
        Distance from the road centre line within which a line or pole follows the road (m).
    pole_distance_m
        A pole this close to planned trench on a matched edge can be removed (m), when
        every line and cable on it goes underground (outside corridor mode; there the
        corridors' ``buffer_m``).
    rounds, orders
        Effort of the joint heuristic (see :class:`DesignOptions`).
    shapley
        Plan every coalition for the Shapley value and the core check (up to
        :data:`MAX_COALITION_PLAYERS` operators with sites; above, or when false, the
        segment-level (airport game) Shapley value of the joint plan's routes).
    workers
        Processes planning coalitions of one size at once (1 = serial); at most the cores of
        the machine that runs it.
    bound_steps
        Subgradient steps of the certified lower bound after its joint dual ascent (0: chosen
        by size, 3 to 120). The bound tightens slowly on large grid-like towns: more steps buy
        a sharper ``gap_pct`` (e.g. 60 steps on a 20,000-edge town: 16.3 % instead of 18.8 %,
        about 4 s more).
    """

    underground_aerial: bool = False
    aerial_reuse: bool = True
    aerial_buffer_m: float = 15.0
    pole_distance_m: float = 10.0
    rounds: int = 4
    orders: int = 3
    shapley: bool = True
    workers: int = 1
    bound_steps: int = 0


def design_settings(table: Mapping[str, Any] | None, source: str = "<scenario>") -> DesignSettings:
    """Parse a scenario's ``[design]`` table (unknown keys are errors).

    Raises
    ------
    ConfigError
        On an unknown key or a value of the wrong type, naming ``source`` and the key.
    """
    from dataclasses import fields

    table = dict(table or {})
    allowed = {f.name: f for f in fields(DesignSettings)}
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise ConfigError(f"{source}: [design] unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    kw: dict[str, Any] = {}
    for key, value in table.items():
        default = getattr(DesignSettings(), key)
        where = f"{source}: design.{key}"
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{where} must be true or false")
        elif isinstance(default, int):
            low, high = (0, 1000) if key == "bound_steps" else (1, 100)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ConfigError(f"{where} must be an integer from {low} to {high}")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 10_000:
            raise ConfigError(f"{where} must be a positive number of metres")
        kw[key] = float(value) if isinstance(default, float) else value
    return DesignSettings(**kw)


# --------------------------------------------------------------------------- [[phases]]

PRIORITIES = ("sites", "buildings", "operators")
PHASE_KEYS = {"name", "budget_thb", "end", "priority", "weights", "cost_per_m_thb"}


@dataclass(frozen=True)
class PhaseSpec:
    """One phase of a roll-out.

    Attributes
    ----------
    name
        Label used in summaries and maps.
    budget_thb
        Most the phase may cost (THB); ``None`` (last phase only) = whatever is left.
    end
        Planned end date as written in the scenario (ISO date string), informative only.
    priority
        ``"sites"`` (sites connected per baht, default), ``"buildings"`` (buildings passed
        per baht) or ``"operators"`` (sites weighted by operator per baht).
    weights
        ``(operator, weight)`` pairs for ``priority = "operators"``; operators not named weigh 1.
    """

    name: str
    budget_thb: float | None
    end: str | None = None
    priority: str = "sites"
    weights: tuple[tuple[str, float], ...] = ()


def parse_phases(value: Any, *, source: str = "<scenario>", operators: Iterable[str] = ()) -> tuple[PhaseSpec, ...]:
    """Validate a scenario's ``[[phases]]`` list (becomes ``Scenario.phases``).

    Each table takes ``name`` (default ``"Phase k"``), ``budget_thb`` (required but in the
    last phase, > 0), ``end`` (string), ``priority`` (one of :data:`PRIORITIES`) and
    ``weights`` (table operator -> positive number, for ``priority = "operators"``).

    Raises
    ------
    ConfigError
        One line naming the key at fault.
    """
    known = set(operators)
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{source}: phases must be a non-empty list of [[phases]] tables")
    specs = []
    for i, table in enumerate(value):
        where = f"{source}: phases[{i}]"
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: must be a table")
        unknown = sorted(set(table) - PHASE_KEYS)
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(PHASE_KEYS))}")
        name = table.get("name", f"Phase {i + 1}")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{where}.name: must be a non-empty string")
        budget = table.get("budget_thb")
        if budget is None:
            if i != len(value) - 1:
                raise ConfigError(f"{where}.budget_thb: required (only the last phase may omit it to take the rest)")
        elif isinstance(budget, bool) or not isinstance(budget, (int, float)) or not (0 < budget < math.inf):
            raise ConfigError(f"{where}.budget_thb: must be a positive number of THB, got {budget!r}")
        end = table.get("end")
        if isinstance(end, (datetime.date, datetime.datetime)):
            end = str(end)  # TOML dates arrive as datetime.date
        elif end is not None and not isinstance(end, str):
            raise ConfigError(f"{where}.end: must be a date (2027-06-30) or a string, got {end!r}")
        priority = table.get("priority", "sites")
        if priority not in PRIORITIES:
            raise ConfigError(f"{where}.priority: must be one of {', '.join(PRIORITIES)}, got {priority!r}")
        weights = table.get("weights", {})
        if not isinstance(weights, dict):
            raise ConfigError(f"{where}.weights: must be a table of operator = weight")
        for op, w in weights.items():
            if known and op not in known:
                raise ConfigError(f"{where}.weights.{op}: unknown operator; known: {', '.join(sorted(known))}")
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not (0 <= w < math.inf):
                raise ConfigError(f"{where}.weights.{op}: must be a non-negative number, got {w!r}")
        if weights and priority != "operators":
            raise ConfigError(f"{where}.weights: only used with priority = \"operators\"")
        specs.append(PhaseSpec(name=name, budget_thb=None if budget is None else float(budget), end=end,
                               priority=priority, weights=tuple(sorted((k, float(w)) for k, w in weights.items()))))
    for i, table in enumerate(value[1:], start=1):
        if "cost_per_m_thb" in table:
            raise ConfigError(f"{source}: phases[{i}].cost_per_m_thb: give it in the first phase only")
    fallback_cost_per_m(value, source=source)
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{source}: phases: duplicate name(s) {', '.join(dupes)}")
    return tuple(specs)


def fallback_cost_per_m(value: Any, *, source: str = "<scenario>") -> float | None:
    """The flat trench cost per metre (THB/m) of the first ``[[phases]]`` table, if given.

    Budgets are measured with it only while the plan's segments carry no ``cost_thb``
    (a plan made without a cost model).
    """
    if not isinstance(value, list) or not value or not isinstance(value[0], dict):
        return None
    cost = value[0].get("cost_per_m_thb")
    if cost is None:
        return None
    if isinstance(cost, bool) or not isinstance(cost, (int, float)) or not (0 < cost < math.inf):
        raise ConfigError(f"{source}: phases[0].cost_per_m_thb: must be a positive number of THB per metre, got {cost!r}")
    return float(cost)


# --------------------------------------------------------------------------- scenario


@dataclass(frozen=True)
class Scenario:
    """A planning scenario: inputs, operators, cost model and options."""

    name: str
    path: Path | None
    inputs: Inputs
    operators: tuple[OperatorSpec, ...]
    province: str | None = None
    cost_model: Path | None = None
    options: Options = field(default_factory=Options)
    hubs: dict[str, tuple[float, float]] = field(default_factory=dict)
    operators_path: Path | None = None
    design: DesignSettings = field(default_factory=DesignSettings)
    phases: tuple[PhaseSpec, ...] = ()
    phase_cost_per_m_thb: float | None = None
    rent: dict[str, Any] | None = None   # the [rent] table; checked with the cost model by pipeline.run
    corridors: dict[str, Any] | None = None   # the [corridors] table; checked by corridors.scenario_corridors

    def operator(self, name: str) -> OperatorSpec:
        for op in self.operators:
            if op.name == name:
                return op
        raise ConfigError(f"unknown operator {name!r}; known: {', '.join(o.name for o in self.operators)}")


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file, turning every failure into a one-line :class:`ConfigError`."""
    path = Path(path)
    problem = not_a_file(path)
    if problem:
        raise ConfigError(f"{path}: {problem}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    if data.startswith(b"\xef\xbb\xbf"):  # UTF-8 byte order mark (Windows editors): read the text after it
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(f"{path}: not a text TOML file (UTF-16; save it as UTF-8)")
    try:
        return tomllib.loads(data.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text TOML file") from None


def _check_keys(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


def _rules(value: Any, where: str) -> tuple[TagRule, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"{where}: must be a list of tag tables")
    rules = []
    for i, table in enumerate(value):
        if not isinstance(table, dict) or not table:
            raise ConfigError(f"{where}[{i}]: must be a non-empty table of tag = [values]")
        tags = []
        for key, vals in table.items():
            vals = [vals] if isinstance(vals, str) else vals
            if not isinstance(vals, list) or not all(isinstance(v, str) for v in vals):
                raise ConfigError(f"{where}[{i}].{key}: must be a string or a list of strings")
            tags.append((key, tuple(vals)))
        rules.append(TagRule(tuple(tags)))
    return tuple(rules)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: must be a list of strings, got {value!r}")
    return tuple(value)


def _positive(value: Any, where: str, *, integer: bool = False, maximum: float = 1e9) -> Any:
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or not (0 < value <= maximum):
        kind = "a positive integer" if integer else "a positive number"
        raise ConfigError(f"{where}: must be {kind} up to {maximum:g}, got {value!r}")
    return value


def parse_operators(data: dict[str, Any], source: str) -> tuple[OperatorSpec, ...]:
    """Operators from a parsed operator TOML (``[[operators]]`` tables)."""
    _check_keys(data, {"operators"}, source)
    tables = data.get("operators")
    if not isinstance(tables, list) or not tables:
        raise ConfigError(f"{source}: needs at least one [[operators]] table")
    allowed = {f.name for f in fields(OperatorSpec)}
    ops: list[OperatorSpec] = []
    for i, t in enumerate(tables):
        where = f"{source}: operators[{i}]"
        if not isinstance(t, dict):
            raise ConfigError(f"{where}: must be an [[operators]] table, got {t!r}")
        _check_keys(t, allowed, where)
        name = t.get("name")
        if not isinstance(name, str) or not name.strip() or "," in name or ":" in name:
            raise ConfigError(f"{where}: `name` must be a non-empty string without ',' or ':'")
        where = f"{source}: operator {name}"
        if t.get("kind") not in OPERATOR_KINDS:
            raise ConfigError(f"{where}: `kind` must be one of {', '.join(OPERATOR_KINDS)}, got {t.get('kind')!r}")
        ops.append(OperatorSpec(
            name=name,
            kind=t["kind"],
            ducts=_positive(t.get("ducts", 1), f"{where}: ducts", integer=True, maximum=64),
            duct_diameter_mm=_positive(t.get("duct_diameter_mm", 100), f"{where}: duct_diameter_mm", integer=True, maximum=2000),
            provinces=_strings(t.get("provinces", []), f"{where}: provinces"),
            exclude_provinces=_strings(t.get("exclude_provinces", []), f"{where}: exclude_provinces"),
            sites=_rules(t.get("sites", []), f"{where}: sites"),
            hub=_rules(t.get("hub", []), f"{where}: hub"),
        ))
    keys = [unicodedata.normalize("NFC", o.name).casefold() for o in ops]  # 'TOT' and 'tot': one operator
    dupes = sorted({o.name for o, k in zip(ops, keys) if keys.count(k) > 1})
    if dupes:
        same_case = len({unicodedata.normalize("NFC", n) for n in dupes}) < len(dupes) or len(dupes) == 1
        raise ConfigError(f"{source}: duplicate operator name(s) {', '.join(dupes)}"
                          + ("" if same_case else " (names may not differ only by case)"))
    return tuple(ops)


def load_operators(path: Path) -> tuple[OperatorSpec, ...]:
    """Read an operator TOML file."""
    return parse_operators(read_toml(path), str(path))


def _path(base: Path, value: Any, where: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: must be a file path string")
    if "\x00" in value:
        raise ConfigError(f"{where}: {value!r} is not a file path (it holds a NUL character)")
    try:
        p = Path(value).expanduser()
    except RuntimeError:  # `~user/...` of an unknown user, or no home folder
        raise ConfigError(f"{where}: {value!r}: cannot expand `~` (no such user or home folder)") from None
    return p if p.is_absolute() else (base / p).resolve()


def _inputs(table: dict[str, Any], base: Path, source: str) -> Inputs:
    allowed = {f.name for f in fields(Inputs)} | {"operators", "cost_model"}
    _check_keys(table, allowed, f"{source}: [inputs]")
    kw: dict[str, Any] = {}
    for key in ("osm", "roads", "pois", "sites", "poles", "lines", "buildings"):
        if key in table:
            kw[key] = _path(base, table[key], f"{source}: inputs.{key}")
    if "bbox" in table:
        bbox = table["bbox"]
        if (not isinstance(bbox, list) or len(bbox) != 4
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox)):
            raise ConfigError(f"{source}: inputs.bbox must be [west, south, east, north] in degrees")
        w, s, e, n = (float(v) for v in bbox)
        if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
            raise ConfigError(f"{source}: inputs.bbox {bbox} is not a valid [west, south, east, north] box")
        kw["bbox"] = (w, s, e, n)
    for key in ("place", "crs"):
        if key in table:
            if not isinstance(table[key], str):
                raise ConfigError(f"{source}: inputs.{key} must be a string")
            kw[key] = table[key]
    if "crs" in kw:  # the CRS of x/y inputs: any CRS PROJ knows (degrees too), checked before any work
        _check_crs(kw["crs"], f"{source}: inputs.crs", projected=False)
    return Inputs(**kw)


def _check_crs(value: str, where: str, *, projected: bool = True) -> None:
    """A CRS known to PROJ; with ``projected``, one the network can be built in (metres)."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError as ProjCRSError

    try:
        crs = CRS.from_user_input(value)
    except ProjCRSError:
        hint = "'auto' or a projected CRS" if projected else "a CRS"
        raise ConfigError(f"{where}: unknown CRS {value!r}; use {hint} such as 'EPSG:32647'") from None
    if projected and not crs.is_projected:
        raise ConfigError(f"{where}: {value} is a geographic CRS (degrees); the network needs a projected CRS "
                          f"in metres, such as 'auto' (local UTM zone) or 'EPSG:32647'")
    if projected and not_metres(crs):   # a projected CRS in feet: the checks of every layer would blame the road file
        raise ConfigError(f"{where}: {not_metres(crs)}; the network needs a projected CRS in metres, "
                          f"such as 'auto' (local UTM zone) or 'EPSG:32647'")


def not_metres(crs: Any) -> str | None:
    """Why the network cannot be built in ``crs`` (a pyproj CRS, or None): ``"no CRS"``, degrees, or
    other units than metres (feet); None for a projected CRS in metres."""
    if crs is None or crs.is_geographic:
        return "no CRS" if crs is None else f"geographic CRS {crs.to_string()} (degrees)"
    units = {axis.unit_name for axis in crs.axis_info}
    if units and not units <= {"metre", "meter", "m"}:
        return f"{crs.to_string()} in {', '.join(sorted(units))}"
    return None


SITE_MERGE_MAX_M = 50.0
"""Largest ``options.site_merge_m`` (metres): sites of several operators in one building are metres
apart; sites farther apart are places of their own (one location's sites would be reported
connected up to this far from its lead-in)."""


def _options(table: dict[str, Any], source: str) -> Options:
    allowed = {f.name for f in fields(Options)}
    _check_keys(table, allowed, f"{source}: [options]")
    defaults = Options()
    kw: dict[str, Any] = {}
    for key, value in table.items():
        where = f"{source}: options.{key}"
        if key == "crs":
            if not isinstance(value, str):
                raise ConfigError(f"{where}: must be a string such as 'auto' or 'EPSG:32647'")
            if value != "auto":
                _check_crs(value, where)
            kw[key] = value
        elif key == "highway_exclude":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}: must be a list of strings")
            kw[key] = tuple(value)
        elif key == "quality":
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: must be true or false")
            kw[key] = value
        elif key == "site_merge_m":
            if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
                    or not 0 <= value <= SITE_MERGE_MAX_M):
                raise ConfigError(f"{where}: must be a number of metres from 0 to {SITE_MERGE_MAX_M:g} (0: no merging; "
                                  f"sites of one building are metres apart), got {value!r}")
            kw[key] = float(value)
        elif key == "h3_resolution":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 15:
                raise ConfigError(f"{where}: must be an integer from 0 to 15")
            kw[key] = value
        else:
            maximum = 3600.0 if key == "time_limit_s" else 100_000.0
            kw[key] = float(_positive(value, where, maximum=maximum))
    return replace(defaults, **kw)


SCENARIO_KEYS = {"name", "province", "inputs", "options", "hubs", "design", "phases", "rent", "corridors"}


def parse_scenario(data: dict[str, Any], path: Path | None, *, base: Path | None = None) -> Scenario:
    """Build a :class:`Scenario` from a parsed scenario TOML.

    Every section is checked here, before any work: ``[design]`` becomes
    :class:`DesignSettings`, ``[[phases]]`` a tuple of :class:`PhaseSpec`; ``[rent]``
    and ``[corridors]`` stay tables (``Scenario.rent``, ``Scenario.corridors``) that
    ``pipeline.run`` checks first (against the cost model; the partner files' columns).
    """
    source = str(path) if path else "<scenario>"
    base = base or (path.parent if path else Path.cwd())
    _check_keys(data, SCENARIO_KEYS, source)
    inputs_table = data.get("inputs", {})
    if not isinstance(inputs_table, dict):
        raise ConfigError(f"{source}: [inputs] must be a table")
    inputs = _inputs(inputs_table, base, source)
    if not (inputs.osm or inputs.roads or inputs.bbox or inputs.place):
        raise ConfigError(f"{source}: [inputs] needs roads: `osm`, `roads`, `bbox` or `place`")
    ops_path = (_path(base, inputs_table["operators"], f"{source}: inputs.operators")
                if "operators" in inputs_table else PACKAGE_DATA / "operators" / "default.toml")
    operators = load_operators(ops_path)
    cost_model = (_path(base, inputs_table["cost_model"], f"{source}: inputs.cost_model")
                  if "cost_model" in inputs_table else None)
    hubs: dict[str, tuple[float, float]] = {}
    if not isinstance(data.get("hubs", {}), dict):
        raise ConfigError(f"{source}: [hubs] must be a table of operator = [lon, lat]")
    for name, xy in data.get("hubs", {}).items():
        if name not in {o.name for o in operators}:
            raise ConfigError(f"{source}: hubs.{name}: unknown operator")
        if not (isinstance(xy, list) and len(xy) == 2
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in xy)):
            raise ConfigError(f"{source}: hubs.{name} must be [lon, lat]")
        if not (-180 <= xy[0] <= 180 and -90 <= xy[1] <= 90):
            raise ConfigError(f"{source}: hubs.{name} {xy} is not a [lon, lat] in degrees")
        hubs[name] = (float(xy[0]), float(xy[1]))
    name = data.get("name", path.stem if path else "scenario")
    if not isinstance(name, str):
        raise ConfigError(f"{source}: name must be a string")
    province = data.get("province")
    if province is not None and not isinstance(province, str):
        raise ConfigError(f"{source}: province must be a string")
    options = data.get("options", {})
    if not isinstance(options, dict):
        raise ConfigError(f"{source}: [options] must be a table")
    design = data.get("design", {})
    if not isinstance(design, dict):
        raise ConfigError(f"{source}: [design] must be a table")
    phases = data.get("phases")
    names = [o.name for o in operators]
    return Scenario(
        name=name, path=path, inputs=inputs, operators=operators, province=province,
        cost_model=cost_model, options=_options(options, source), hubs=hubs, operators_path=ops_path,
        design=design_settings(design, source),
        phases=() if phases is None else parse_phases(phases, source=source, operators=names),
        phase_cost_per_m_thb=None if phases is None else fallback_cost_per_m(phases, source=source),
        rent=data.get("rent"),
        corridors=data.get("corridors"),
    )


EXAMPLES = PACKAGE_DATA / "examples"


def example_names() -> list[str]:
    """Names of the example scenarios shipped with the package (folders of ``data/examples``)."""
    return sorted(p.name for p in EXAMPLES.iterdir() if (p / "scenario.toml").is_file()) if EXAMPLES.is_dir() else []


def example_scenario(name: str) -> Path:
    """Path of the packaged example scenario ``name`` (e.g. ``chiang_mai_nimman``).

    Raises
    ------
    ConfigError
        When no example has that name (the message lists the examples).
    """
    path = EXAMPLES / name / "scenario.toml"
    if name not in example_names():
        raise ConfigError(f"no example named {name!r}; examples: {', '.join(example_names()) or 'none'}")
    return path


def load_scenario(path: str | Path, **overrides: Any) -> Scenario:
    """Read a scenario TOML; ``overrides`` replace ``[inputs]`` paths (e.g. ``osm=...``).

    Raises
    ------
    ConfigError
        Also when ``roads`` is given for a scenario reading ``inputs.osm``: the OSM file comes
        first, the road lines would silently not be used.
    """
    path = Path(path).resolve()
    data = read_toml(path)
    scenario = parse_scenario(data, path)
    if overrides:
        bad = set(overrides) - {f.name for f in fields(Inputs)}
        if bad:
            raise ConfigError(f"unknown input override(s): {', '.join(sorted(bad))}")
        if overrides.get("roads") is not None and overrides.get("osm") is None and scenario.inputs.osm is not None:
            raise ConfigError(f"{path}: road lines {overrides['roads']} given, but the scenario's inputs.osm "
                              f"({scenario.inputs.osm.name}) is read first: they would not be used; give them to a "
                              "scenario without inputs.osm (or give an OSM file with --osm)")
        scenario = replace(scenario, inputs=replace(scenario.inputs, **{
            k: Path(v).resolve() if isinstance(v, (str, Path)) else v for k, v in overrides.items()}))
    return scenario
