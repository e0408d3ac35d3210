"""Cost model: a TOML file of unit costs (THB) -> frozen dataclasses -> per-edge costs.

No cost lives in code. :func:`load_cost_model` reads ``data/costs/default.toml`` (or a
scenario's ``inputs.cost_model``); :func:`edge_costs` turns road attributes (highway,
surface, lanes, width, bridge, tunnel) into the trench cost of every edge for each of the
three ways a trench can be occupied:

* ``telecom`` - telecom ducts only (micro-trench where allowed, else open cut),
* ``power`` - power ducts only (open cut),
* ``joint`` - power and telecom together (open cut widened for the >= 300 mm separation).

Bridges and tunnels are bored (HDD) along their whole length; a minor edge that ends on a
major road (``hdd.cross_highways``) carries half a bore under that road, so a route passing
through the junction from one side road to the other pays one full crossing.
"""
from __future__ import annotations

import datetime
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from connectivity.config import PACKAGE_DATA, read_toml
from connectivity.errors import ConfigError, InputDataError
from connectivity.steiner.graph import component_labels

logger = logging.getLogger(__name__)

DEFAULT_COST_MODEL = PACKAGE_DATA / "costs" / "default.toml"
MODES = ("telecom", "power", "joint")
"""Trench occupancy modes; column order of :attr:`EdgeCosts.trench`."""

TRENCH_TYPES = ("open_cut", "micro_trench", "hdd", "corridor_reuse")

RANGED = ("open_cut.*", "micro_trench.per_m", "hdd.per_m", "hdd.mobilisation_per_bore", "duct.per_m.*",
          "manhole.telecom", "manhole.power", "joint_trench.surcharge_fraction", "contingency.percent",
          "rent.per_subduct_km_month", "rent.subsidised_per_km_month", "rent.maintenance_per_km_year",
          "service.power_per_connection", "service.power_per_m", "service.telecom_per_connection",
          "service.telecom_per_m", "existing_duct.reuse_per_duct_m")
"""Keys that may be a ``{low, mode, high}`` table instead of a number (``*``: every key of the table)."""
_RANGE_KEYS = {"low", "mode", "high", "source"}

LIMITS: dict[str, tuple[float, float, float, float, str]] = {
    # key (``*``: every key of the table): (impossible below, plausible from, plausible to, impossible above, unit).
    # Impossible values are errors; values outside the plausible range are priced but warned about (one line).
    # Plausible ranges: DOMAIN.md's US contractor figures and Thai prices, widened about 4x either way; the
    # impossible limits lie beyond even all-in power undergrounding (MEA 200-300 M THB/km = 300,000 THB/m).
    "open_cut.*": (0.0, 500.0, 20_000.0, 1e6, "THB/m"),
    "micro_trench.per_m": (0.0, 200.0, 10_000.0, 1e6, "THB/m"),
    "hdd.per_m": (0.0, 300.0, 20_000.0, 1e6, "THB/m"),
    "hdd.mobilisation_per_bore": (0.0, 0.0, 1e6, 1e8, "THB"),
    "hdd.default_crossing_m": (0.0, 5.0, 200.0, 10_000.0, "m"),
    "hdd.crossing_margin_m": (0.0, 0.0, 50.0, 1_000.0, "m"),
    "duct.per_m.*": (0.0, 10.0, 5_000.0, 1e6, "THB/m"),
    "manhole.telecom": (0.0, 5_000.0, 2e6, 1e8, "THB"),
    "manhole.power": (0.0, 5_000.0, 2e6, 1e8, "THB"),
    "manhole.spacing_m": (5.0, 30.0, 500.0, 100_000.0, "m"),
    "surface.*": (0.0, 0.3, 3.0, 100.0, "x"),
    "lanes.reference_lanes": (0.0, 1.0, 6.0, 100.0, "lanes"),
    "lanes.per_extra_lane": (0.0, 0.0, 0.5, 10.0, "x"),
    "lanes.lane_width_m": (0.5, 2.5, 5.0, 50.0, "m"),
    "currency.usd_to_thb": (0.0, 20.0, 60.0, 10_000.0, "THB/USD"),
    "joint_trench.separation_mm": (0.0, 100.0, 1_000.0, 10_000.0, "mm"),
    "joint_trench.surcharge_fraction": (0.0, 0.0, 1.0, 10.0, "x"),
    "contingency.percent": (0.0, 0.0, 50.0, 1_000.0, "%"),
    "rent.per_subduct_km_month": (0.0, 1_000.0, 100_000.0, 1e8, "THB"),
    "rent.subsidised_per_km_month": (0.0, 0.0, 100_000.0, 1e8, "THB"),
    "rent.maintenance_per_km_year": (0.0, 0.0, 1e6, 1e9, "THB"),
}
"""Limits of the cost model's values, checked by :func:`check_limits`."""

_META = {"source", "date"}


@dataclass(frozen=True)
class CostModel:
    """Unit costs in THB (per metre, per bore, per chamber), read from a cost-model TOML.

    Attributes
    ----------
    open_cut_per_m
        Open-cut trench THB per metre of route by highway class (``default`` for others).
    surface_factor
        Multiplier on the open-cut price by OSM ``surface`` (``default`` when missing).
    micro_trench_per_m, micro_trench_highways
        Micro-trench THB per metre and the classes where it may be used (telecom only).
    hdd_per_m, hdd_mobilisation
        Horizontal directional drilling THB per metre, and THB per bore.
    duct_per_m
        THB per metre of one duct, by nominal diameter in mm (sorted ascending).
    manhole_spacing_m
        Maximum distance between pull points in a continuous run (metres).
    manhole_telecom, manhole_power
        THB per chamber of each group (power and telecom never share a chamber).
    joint_surcharge_fraction
        Extra share of the trench cost when power and telecom share the trench.
    reuse_discount
        Share of the trench cost saved where an existing corridor is reused.
    contingency_pct
        Percent added on top of the subtotal.
    """

    path: str
    currency: str
    usd_to_thb: float
    rate_date: str
    open_cut_per_m: tuple[tuple[str, float], ...]
    surface_factor: tuple[tuple[str, float], ...]
    reference_lanes: float
    per_extra_lane: float
    lane_width_m: float
    micro_trench_per_m: float
    micro_trench_highways: tuple[str, ...]
    hdd_per_m: float
    hdd_mobilisation: float
    hdd_cross_highways: tuple[str, ...]
    hdd_structures: tuple[str, ...]
    default_crossing_m: float
    crossing_margin_m: float
    duct_per_m: tuple[tuple[int, float], ...]
    manhole_spacing_m: float
    manhole_telecom: float
    manhole_power: float
    separation_mm: float
    joint_surcharge_fraction: float
    reuse_discount: float
    contingency_pct: float
    sources: tuple[tuple[str, str, str], ...] = ()  # (table, source, date)
    ranges: tuple[tuple[str, float, float, float], ...] = ()
    """``(key, low, mode, high)`` of every unit cost that may carry a range (:data:`RANGED`);
    a plain number has low = mode = high. The plan is priced on the mode."""
    bank_reference_width_mm: float = 600.0
    bank_duct_spacing_mm: float = 50.0
    bank_layers: int = 2
    bank_width_share: float = 0.5
    bank_spare_diameter_mm: int = 100
    """Duct bank sizing (``[duct_bank]``, optional): the width of trench the open-cut price
    covers, the gap between ducts, ducts stacked per column, the share of the trench cost
    that grows with width, and the diameter of shared spare ducts."""
    service_power_each: float = 0.0
    service_power_per_m: float = 0.0
    service_telecom_each: float = 0.0
    service_telecom_per_m: float = 0.0
    service_default_length_m: float = 15.0
    """Service connections (``[service]``, optional): THB per power service and per telecom
    drop, plus THB per metre of each from the street to the building."""
    existing_reuse_per_duct_m: float = 0.0
    existing_pricing: str = "reuse"
    """Existing ducts (``[existing_duct]``, optional): THB per duct-metre of cable pulled
    through a free existing duct (``reuse``), or the rent's present value (``rent``)."""
    rent_per_subduct_km_month: float = 0.0
    rent_subsidised_per_km_month: float = 0.0
    discount_rate: float = 0.0
    horizon_years: int = 0
    maintenance_per_km_year: float = 0.0

    def open_cut_key(self, highway: str | None) -> str:
        """The cost-model key (``open_cut.<class>``) of the open-cut price of a highway class."""
        table = dict(self.open_cut_per_m)
        return f"open_cut.{highway}" if highway and str(highway) in table else "open_cut.default"

    def duct_key(self, diameter_mm: int) -> str:
        """The cost-model key (``duct.per_m.<mm>``) of the duct price of ``diameter_mm``."""
        for d, _ in self.duct_per_m:
            if d >= diameter_mm:
                return f"duct.per_m.{d}"
        self.duct_price(diameter_mm)  # raises
        return ""  # pragma: no cover

    def range_of(self, key: str) -> tuple[float, float, float]:
        """``(low, mode, high)`` of a unit cost key (KeyError when it has none)."""
        for k, lo, mo, hi in self.ranges:
            if k == key:
                return lo, mo, hi
        raise KeyError(key)

    def open_cut(self, highway: str | None) -> float:
        """Open-cut THB per metre for a highway class."""
        table = dict(self.open_cut_per_m)
        return table.get(str(highway), table["default"]) if highway else table["default"]

    def surface(self, surface: str | None) -> float:
        """Surface multiplier (dimensionless)."""
        table = dict(self.surface_factor)
        return table.get(str(surface), table["default"]) if surface else table["default"]

    def duct_price(self, diameter_mm: int) -> float:
        """THB per metre of one duct of ``diameter_mm``: the smallest listed diameter >= it.

        Raises
        ------
        ConfigError
            When no listed duct is wide enough.
        """
        for d, price in self.duct_per_m:
            if d >= diameter_mm:
                return price
        raise ConfigError(f"{self.path}: duct.per_m has no duct of {diameter_mm} mm or more "
                          f"(largest {self.duct_per_m[-1][0]} mm)")

    def manhole(self, group: str) -> float:
        """THB per chamber of ``group`` ('telecom' or 'power')."""
        return self.manhole_telecom if group == "telecom" else self.manhole_power

    @property
    def contingency_factor(self) -> float:
        """1 + contingency share: multiply a subtotal by this to get the total."""
        return 1.0 + self.contingency_pct / 100.0


# --------------------------------------------------------------------------- reading

def _table(data: dict[str, Any], key: str, source: str, allowed: set[str] | None) -> dict[str, Any]:
    if key not in data:
        raise ConfigError(f"{source}: missing table [{key}]")
    table = data[key]
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [{key}] must be a table")
    if allowed is not None:
        unknown = sorted(set(table) - allowed - _META)
        if unknown:
            raise ConfigError(f"{source}: [{key}] unknown key(s) {', '.join(unknown)}; "
                              f"allowed: {', '.join(sorted(allowed | _META))}")
    for meta in sorted(_META):
        value = table.get(meta)
        if meta == "date" and isinstance(value, datetime.date):   # a TOML date (2025-06-30, unquoted)
            continue
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{source}: {key}.{meta} must be a " + ("date (2025-06-30)" if meta == "date" else "string")
                              + f", got {value!r}")
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{source}: {key}.{meta} is missing: every cost table states its source and date")
    return table


def _ranged(where: str, key: str) -> str | None:
    """The dotted cost key of ``where``/``key`` when it may carry a range, else None."""
    table = where.rsplit(": ", 1)[-1]
    dotted = f"{table}.{key}"
    return dotted if dotted in RANGED or f"{table}.*" in RANGED else None


def _number(table: dict[str, Any], key: str, where: str, *, positive: bool = False,
            maximum: float | None = None, ranges: dict[str, tuple[float, float, float]] | None = None) -> float:
    """A number, or the mode of a ``{low, mode, high}`` range (recorded in ``ranges``)."""
    if key not in table:
        raise ConfigError(f"{where}.{key} is missing")
    value = table[key]
    dotted = _ranged(where, key)
    if isinstance(value, dict):
        if dotted is None or ranges is None:
            raise ConfigError(f"{where}.{key} must be a number (a {{low, mode, high}} range is allowed for unit "
                              f"costs only), got {value!r}")
        unknown = sorted(set(value) - _RANGE_KEYS)
        missing = [k for k in ("low", "mode", "high") if k not in value]
        if unknown or missing:
            raise ConfigError(f"{where}.{key} must be a number or a table of low, mode, high (and source); "
                              + (f"unknown {', '.join(unknown)}" if unknown else f"missing {', '.join(missing)}"))
        lo, mo, hi = (_number(value, k, f"{where}.{key}", maximum=maximum) for k in ("low", "mode", "high"))
        if not lo <= mo <= hi:
            raise ConfigError(f"{where}.{key} must have low <= mode <= high, got low={lo:g}, mode={mo:g}, high={hi:g}")
        if positive and mo == 0:
            raise ConfigError(f"{where}.{key}.mode must be positive, got {mo!r}")
        ranges[dotted] = (lo, mo, hi)
        return mo
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{where}.{key} must be a number, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise ConfigError(f"{where}.{key} must be {'positive' if positive else 'non-negative'}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{where}.{key} must be at most {maximum:g}, got {value!r}")
    if dotted is not None and ranges is not None:
        ranges[dotted] = (float(value),) * 3
    return float(value)


def _strings(table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}.{key} must be a list of strings")
    return tuple(value)


def _price_table(table: dict[str, Any], where: str, *, positive: bool = False,
                 ranges: dict[str, tuple[float, float, float]] | None = None) -> tuple[tuple[str, float], ...]:
    if "default" not in table:
        raise ConfigError(f"{where}.default is missing")
    return tuple((k, _number(table, k, where, positive=positive, ranges=ranges)) for k in table if k not in _META)


def parse_cost_model(data: dict[str, Any], source: str, *, warn: bool = True) -> CostModel:
    """Build a :class:`CostModel` from a parsed cost TOML.

    Raises
    ------
    ConfigError
        On an unknown table or key, a missing or negative cost, an impossible value
        (:func:`check_limits`; implausible ones are warned about), or a table without
        ``source`` and ``date``; the message names ``source`` and the key. With ``warn``
        False the implausible values are not logged (a check made again later).
    """
    tables = {"currency", "open_cut", "surface", "lanes", "micro_trench", "hdd", "duct",
              "manhole", "joint_trench", "reuse", "contingency", "rent", "duct_bank", "service", "existing_duct"}
    unknown = sorted(set(data) - tables)
    if unknown:
        raise ConfigError(f"{source}: unknown table(s) {', '.join(unknown)}; allowed: {', '.join(sorted(tables))}")
    cur = _table(data, "currency", source, {"code", "usd_to_thb"})
    if cur.get("code") != "THB":
        raise ConfigError(f"{source}: currency.code must be 'THB', got {cur.get('code')!r}")
    usd = _number(cur, "usd_to_thb", f"{source}: currency", positive=True)
    rg: dict[str, tuple[float, float, float]] = {}
    oc = _table(data, "open_cut", source, None)
    open_cut = _price_table(oc, f"{source}: open_cut", positive=True, ranges=rg)
    sf = _table(data, "surface", source, None)
    surface = _price_table(sf, f"{source}: surface", positive=True)
    ln = _table(data, "lanes", source, {"reference_lanes", "per_extra_lane", "lane_width_m"})
    wl = f"{source}: lanes"   # not `w`: the [rent] block below names its own keys with that
    mt = _table(data, "micro_trench", source, {"per_m", "highways"})
    hdd = _table(data, "hdd", source, {"per_m", "mobilisation_per_bore", "cross_highways", "structures",
                                       "default_crossing_m", "crossing_margin_m"})
    structures = _strings(hdd, "structures", f"{source}: hdd")
    bad = sorted(set(structures) - {"bridge", "tunnel"})
    if bad:
        raise ConfigError(f"{source}: hdd.structures: unknown structure(s) {', '.join(bad)}; allowed: bridge, tunnel")
    duct = _table(data, "duct", source, {"per_m"})
    per_m = duct.get("per_m")
    if not isinstance(per_m, dict) or not per_m:
        raise ConfigError(f"{source}: duct.per_m must be a table of diameter_mm = THB per metre")
    ducts = []
    for k in per_m:
        try:
            d = int(k)
        except ValueError:
            raise ConfigError(f"{source}: duct.per_m.{k}: key must be a diameter in mm") from None
        ducts.append((d, _number(per_m, k, f"{source}: duct.per_m", positive=True, ranges=rg)))
    mh = _table(data, "manhole", source, {"spacing_m", "telecom", "power"})
    jt = _table(data, "joint_trench", source, {"separation_mm", "surcharge_fraction"})
    ru = _table(data, "reuse", source, {"discount"})
    ct = _table(data, "contingency", source, {"percent"})
    rent: dict[str, Any] = {}
    if "rent" in data:  # optional: rent versus build needs it
        rt = _table(data, "rent", source, {"per_subduct_km_month", "subsidised_per_km_month", "discount_rate",
                                           "horizon_years", "maintenance_per_km_year"})
        w = f"{source}: rent"
        horizon = _number(rt, "horizon_years", w, positive=True, maximum=200.0)
        if horizon != int(horizon):
            raise ConfigError(f"{w}.horizon_years must be a whole number of years, got {horizon:g}")
        rent = dict(rent_per_subduct_km_month=_number(rt, "per_subduct_km_month", w, positive=True, ranges=rg),
                    rent_subsidised_per_km_month=(_number(rt, "subsidised_per_km_month", w, ranges=rg)
                                                  if "subsidised_per_km_month" in rt else 0.0),
                    discount_rate=_number(rt, "discount_rate", w, maximum=1.0),
                    horizon_years=int(horizon),
                    maintenance_per_km_year=_number(rt, "maintenance_per_km_year", w, ranges=rg))
    extra = _optional_tables(data, source, rg)
    sources = tuple((t, str(data[t]["source"]), str(data[t]["date"])) for t in sorted(tables) if t in data)
    model = CostModel(
        path=source,
        currency="THB",
        usd_to_thb=usd,
        rate_date=str(cur["date"]),
        open_cut_per_m=open_cut,
        surface_factor=surface,
        reference_lanes=_number(ln, "reference_lanes", wl, positive=True),
        per_extra_lane=_number(ln, "per_extra_lane", wl),
        lane_width_m=_number(ln, "lane_width_m", wl, positive=True),
        micro_trench_per_m=_number(mt, "per_m", f"{source}: micro_trench", positive=True, ranges=rg),
        micro_trench_highways=_strings(mt, "highways", f"{source}: micro_trench"),
        hdd_per_m=_number(hdd, "per_m", f"{source}: hdd", positive=True, ranges=rg),
        hdd_mobilisation=_number(hdd, "mobilisation_per_bore", f"{source}: hdd", ranges=rg),
        hdd_cross_highways=_strings(hdd, "cross_highways", f"{source}: hdd"),
        hdd_structures=structures,
        default_crossing_m=_number(hdd, "default_crossing_m", f"{source}: hdd", positive=True),
        crossing_margin_m=_number(hdd, "crossing_margin_m", f"{source}: hdd"),
        duct_per_m=tuple(sorted(ducts)),
        manhole_spacing_m=_number(mh, "spacing_m", f"{source}: manhole", positive=True),
        manhole_telecom=_number(mh, "telecom", f"{source}: manhole", ranges=rg),
        manhole_power=_number(mh, "power", f"{source}: manhole", ranges=rg),
        separation_mm=_number(jt, "separation_mm", f"{source}: joint_trench", positive=True),
        joint_surcharge_fraction=_number(jt, "surcharge_fraction", f"{source}: joint_trench", maximum=10.0,
                                         ranges=rg),
        reuse_discount=_number(ru, "discount", f"{source}: reuse", maximum=1.0),
        contingency_pct=_number(ct, "percent", f"{source}: contingency", maximum=1000.0, ranges=rg),
        sources=sources,
        ranges=tuple((k, *v) for k, v in rg.items()),
        **rent,
        **extra,
    )
    if warn:
        check_limits(model)
    else:
        limit_warnings(model)   # its impossible values raise all the same
    return model


def _values(model: CostModel) -> dict[str, float]:
    """Every value of ``model`` that :data:`LIMITS` bounds, by dotted key; a ranged unit cost
    gives ``<key>.low``, ``<key>.mode`` and ``<key>.high``."""
    out = {f"open_cut.{k}": v for k, v in model.open_cut_per_m}
    out.update({f"surface.{k}": v for k, v in model.surface_factor})
    out.update({f"duct.per_m.{d}": v for d, v in model.duct_per_m})
    out.update({
        "micro_trench.per_m": model.micro_trench_per_m, "hdd.per_m": model.hdd_per_m,
        "hdd.mobilisation_per_bore": model.hdd_mobilisation, "hdd.default_crossing_m": model.default_crossing_m,
        "hdd.crossing_margin_m": model.crossing_margin_m, "manhole.telecom": model.manhole_telecom,
        "manhole.power": model.manhole_power, "manhole.spacing_m": model.manhole_spacing_m,
        "lanes.reference_lanes": model.reference_lanes, "lanes.per_extra_lane": model.per_extra_lane,
        "lanes.lane_width_m": model.lane_width_m, "currency.usd_to_thb": model.usd_to_thb,
        "joint_trench.separation_mm": model.separation_mm,
        "joint_trench.surcharge_fraction": model.joint_surcharge_fraction,
        "contingency.percent": model.contingency_pct})
    if model.horizon_years:  # the rent table is there
        out.update({"rent.per_subduct_km_month": model.rent_per_subduct_km_month,
                    "rent.subsidised_per_km_month": model.rent_subsidised_per_km_month,
                    "rent.maintenance_per_km_year": model.maintenance_per_km_year})
    for key, lo, mo, hi in model.ranges:
        if lo != hi:
            out.pop(key, None)
            out.update({f"{key}.low": lo, f"{key}.mode": mo, f"{key}.high": hi})
    return out


def _limit_of(key: str) -> tuple[float, float, float, float, str] | None:
    for k in (key, key.rsplit(".", 1)[0]):  # a range's .low/.mode/.high have their unit cost's limits
        if k in LIMITS:
            return LIMITS[k]
        table = k.rsplit(".", 1)[0]
        if f"{table}.*" in LIMITS:
            return LIMITS[f"{table}.*"]
    return None


def check_limits(model: CostModel) -> list[str]:
    """Check every value of ``model`` against :data:`LIMITS`; return one warning line per value
    outside its plausible range (also logged).

    Raises
    ------
    ConfigError
        On the first impossible value: the message names the file, the key and the limit.
    """
    found = limit_warnings(model)
    for line in found:
        logger.warning("%s", line)
    return found


def limit_warnings(model: CostModel, *, source: str | None = None) -> list[str]:
    """The warning lines of :func:`check_limits`, not logged; each names the file as ``source``
    (default ``model.path``)."""
    source = model.path if source is None else source
    found = []
    for key, value in _values(model).items():
        limit = _limit_of(key)
        if limit is None:
            continue
        low_bad, low_ok, high_ok, high_bad, unit = limit
        if value < low_bad or value > high_bad:
            side = f"at least {low_bad:,.10g}" if value < low_bad else f"at most {high_bad:,.10g}"
            raise ConfigError(f"{source}: {key} = {value:,.10g} {unit} is impossible: it must be {side} {unit}")
        if not low_ok <= value <= high_ok:
            found.append(f"{source}: {key} = {value:,.10g} {unit} is outside the plausible range "
                         f"{low_ok:,.10g}-{high_ok:,.10g} {unit}; check the value")
    return found


def _optional_tables(data: dict[str, Any], source: str, rg: dict[str, tuple[float, float, float]]) -> dict[str, Any]:
    """CostModel fields of the optional corridor tables ``[duct_bank]``, ``[service]`` and
    ``[existing_duct]`` (defaults when a table is missing)."""
    out: dict[str, Any] = {}
    if "duct_bank" in data:
        t = _table(data, "duct_bank", source, {"reference_width_mm", "duct_spacing_mm", "layers", "width_share",
                                                "spare_diameter_mm"})
        w = f"{source}: duct_bank"
        layers = _number(t, "layers", w, positive=True, maximum=10)
        spare = _number(t, "spare_diameter_mm", w, positive=True, maximum=2000)
        if layers != int(layers) or spare != int(spare):
            raise ConfigError(f"{w}: layers and spare_diameter_mm must be whole numbers")
        out.update(bank_reference_width_mm=_number(t, "reference_width_mm", w, positive=True, maximum=10000),
                   bank_duct_spacing_mm=_number(t, "duct_spacing_mm", w, maximum=1000),
                   bank_layers=int(layers), bank_width_share=_number(t, "width_share", w, maximum=1.0),
                   bank_spare_diameter_mm=int(spare))
    if "service" in data:
        t = _table(data, "service", source, {"power_per_connection", "power_per_m", "telecom_per_connection",
                                              "telecom_per_m", "default_length_m"})
        w = f"{source}: service"
        out.update(service_power_each=_number(t, "power_per_connection", w, ranges=rg),
                   service_power_per_m=_number(t, "power_per_m", w, ranges=rg),
                   service_telecom_each=_number(t, "telecom_per_connection", w, ranges=rg),
                   service_telecom_per_m=_number(t, "telecom_per_m", w, ranges=rg),
                   service_default_length_m=_number(t, "default_length_m", w, positive=True, maximum=1000))
    if "existing_duct" in data:
        t = _table(data, "existing_duct", source, {"reuse_per_duct_m", "pricing"})
        w = f"{source}: existing_duct"
        pricing = t.get("pricing", "reuse")
        if pricing not in ("reuse", "rent"):
            raise ConfigError(f"{w}.pricing must be 'reuse' or 'rent', got {pricing!r}")
        out.update(existing_reuse_per_duct_m=_number(t, "reuse_per_duct_m", w, ranges=rg),
                   existing_pricing=pricing)
    return out


def load_cost_model(path: str | Path | None = None, *, warn: bool = True) -> CostModel:
    """Read a cost-model TOML (default: the packaged ``data/costs/default.toml``); ``warn``: log its
    implausible values (see :func:`parse_cost_model`).

    Raises
    ------
    ConfigError
        When the file is missing, not TOML, or invalid (see :func:`parse_cost_model`).
    """
    path = Path(path) if path is not None else DEFAULT_COST_MODEL
    return parse_cost_model(read_toml(path), str(path), warn=warn)


# --------------------------------------------------------------------------- per-edge costs

@dataclass(frozen=True)
class EdgeTable:
    """Road attributes of the network edges as plain arrays (index = edge id).

    Attributes
    ----------
    u, v
        End nodes (int64).
    length_m
        Edge length in metres.
    highway, surface
        OSM classes as object arrays of str (``None``/'' when missing); lead-ins have
        highway ``'lead_in'``.
    lanes, width_m
        Float arrays, NaN when missing.
    bridge, tunnel, reuse
        Boolean arrays; ``reuse`` marks an existing corridor (duct or aerial line) that the
        trench can follow at the reuse discount.
    """

    u: np.ndarray
    v: np.ndarray
    length_m: np.ndarray
    highway: np.ndarray
    surface: np.ndarray
    lanes: np.ndarray
    width_m: np.ndarray
    bridge: np.ndarray
    tunnel: np.ndarray
    reuse: np.ndarray

    @property
    def n_edges(self) -> int:
        return len(self.u)


_OSM_NUMBER = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(?:m)?\s*")


def _osm_number(value: Any) -> float:
    """An OSM numeric tag (``lanes``, ``width`` in metres) as a float: the first of ``;``-separated
    values, with an optional ``m`` unit (``"3.5 m"``); NaN when missing or no such number."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return np.nan
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    hit = _OSM_NUMBER.fullmatch(str(value).split(";")[0])
    return float(hit.group(1)) if hit else np.nan


#: Most lanes a road can have (both directions); a larger ``lanes`` value is ignored, with a warning.
MAX_LANES = 30


def make_edge_table(u: Sequence[int], v: Sequence[int], length_m: Sequence[float], *,
                    highway: Sequence[Any] | None = None, surface: Sequence[Any] | None = None,
                    lanes: Sequence[Any] | None = None, width_m: Sequence[Any] | None = None,
                    bridge: Sequence[Any] | None = None, tunnel: Sequence[Any] | None = None,
                    reuse: Sequence[Any] | None = None) -> EdgeTable:
    """An :class:`EdgeTable` from sequences; missing attributes default to unknown/False, and
    lane counts outside 1 to :data:`MAX_LANES` are unknown (logged).

    Raises
    ------
    InputDataError
        When lengths are negative or not finite, or arrays differ in length.
    """
    u = np.asarray(u, dtype=np.int64)
    m = len(u)
    length = np.asarray(length_m, dtype=float)

    def obj(a):
        if a is None:
            return np.full(m, None, dtype=object)
        out = np.empty(m, dtype=object)
        for i, x in enumerate(a):
            out[i] = None if x is None or (isinstance(x, float) and math.isnan(x)) or x == "" else str(x)
        return out

    def num(a, name):
        out = np.full(m, np.nan)
        if a is None:
            return out
        read: dict[str, float] = {}   # each distinct text read once
        for i, x in enumerate(a):
            if isinstance(x, str):
                if x not in read:
                    read[x] = _osm_number(x)
                out[i] = read[x]
            else:
                out[i] = _osm_number(x)
        bad = [x for x in a if isinstance(x, str) and np.isnan(read[x]) and x.strip().lower() not in ("", "nan", "none")]
        if bad:
            logger.warning("%d road edge(s) with a %s that is no number (e.g. %r): it is ignored", len(bad),
                           name, bad[0])
        return out

    def flag(a):
        if a is None:
            return np.zeros(m, dtype=bool)
        return np.array([bool(x) and str(x).lower() not in ("no", "false", "0", "nan", "none") for x in a],
                        dtype=bool)

    lanes_n = num(lanes, "lane count")
    odd = np.isfinite(lanes_n) & ((lanes_n <= 0) | (lanes_n > MAX_LANES))
    if odd.any():   # a typo (lanes=1000000) would price a road as a motorway a kilometre wide
        logger.warning("%d road edge(s) with a lane count outside 1-%d (e.g. %g): their lane count is ignored",
                       int(odd.sum()), MAX_LANES, float(lanes_n[odd][0]))
        lanes_n[odd] = np.nan
    t = EdgeTable(u=u, v=np.asarray(v, dtype=np.int64), length_m=length, highway=obj(highway),
                  surface=obj(surface), lanes=lanes_n, width_m=num(width_m, "width"), bridge=flag(bridge),
                  tunnel=flag(tunnel), reuse=flag(reuse))
    for name in ("v", "length_m", "highway", "surface", "lanes", "width_m", "bridge", "tunnel", "reuse"):
        if len(getattr(t, name)) != m:
            raise InputDataError(f"edge table: `{name}` has {len(getattr(t, name))} values for {m} edges")
    if m and (not np.all(np.isfinite(length)) or length.min() < 0):
        bad = int(np.flatnonzero(~np.isfinite(length) | (length < 0))[0])
        raise InputDataError(f"edge table: edge {bad} has an invalid length_m {length[bad]!r}")
    return t


def edge_table_from_frame(edges: Any, *, reuse: Sequence[bool] | None = None) -> EdgeTable:
    """An :class:`EdgeTable` from a ``Network.edges`` frame (lead-ins get highway 'lead_in').

    Raises
    ------
    InputDataError
        When ``u``, ``v`` or ``length_m`` is missing.
    """
    for col in ("u", "v", "length_m"):
        if col not in edges.columns:
            raise InputDataError(f"network edges: column `{col}` is missing")

    def col(name):
        return edges[name].tolist() if name in edges.columns else None

    highway = col("highway") or [None] * len(edges)
    if "kind" in edges.columns:
        highway = ["lead_in" if k == "lead_in" else h for h, k in zip(highway, edges["kind"].tolist())]
    if reuse is None and "reuse" in edges.columns:
        reuse = edges["reuse"].tolist()
    return make_edge_table(edges["u"].to_numpy(), edges["v"].to_numpy(), edges["length_m"].to_numpy(),
                           highway=highway, surface=col("surface"), lanes=col("lanes"),
                           width_m=col("width_m"), bridge=col("bridge"), tunnel=col("tunnel"), reuse=reuse)


@dataclass(frozen=True)
class EdgeCosts:
    """Trench cost of every edge for each occupancy mode, THB per whole edge.

    Attributes
    ----------
    trench
        ``(m, 3)`` THB for modes :data:`MODES` (telecom only, power only, joint). Includes
        bores under major roads, HDD along structures, the reuse discount and, for
        ``joint``, the surcharge for the wider trench. Excludes ducts and manholes.
    trench_type
        ``(m, 3)`` str: ``open_cut``, ``micro_trench``, ``hdd`` or ``corridor_reuse``.
    main
        ``(m, 3)`` THB of the trench along the edge alone (no crossing bores, no surcharge).
    crossing
        ``(m,)`` THB of the crossing bores (half bores under major roads at the ends).
    bores
        ``(m,)`` number of bores charged to the edge (0, 0.5, 1, ... and a structure's share).
    structure_bores
        ``(m,)`` the edge's share of its structure's one bore (:func:`structure_shares`; 0 off
        structures).
    hdd_m
        ``(m,)`` metres drilled for the edge (structures and crossings).
    surcharge
        ``(m,)`` THB extra when the trench is joint (``trench[:, 2]`` minus power-only cost).
    spares, spare_ducts
        ``(m,)`` THB and count of shared spare ducts laid with the trench (corridor
        streets; included in ``trench`` in every mode), or None.
    """

    trench: np.ndarray
    trench_type: np.ndarray
    main: np.ndarray
    crossing: np.ndarray
    bores: np.ndarray
    hdd_m: np.ndarray
    surcharge: np.ndarray
    structure_bores: np.ndarray
    spares: np.ndarray | None = None
    spare_ducts: np.ndarray | None = None
    chambers: np.ndarray | None = None
    """``(m, 3)`` THB per mode of larger chambers for wide duct banks (corridor streets,
    spread per metre like the linear manhole cost; included in ``trench``), or None."""


def _road_width(model: CostModel, lanes: float, width: float) -> float:
    if np.isfinite(width) and width > 0:
        return float(width)
    if np.isfinite(lanes) and lanes > 0:
        return float(lanes) * model.lane_width_m
    return model.default_crossing_m


def edge_costs(model: CostModel, edges: EdgeTable) -> EdgeCosts:
    """Trench cost of every edge for the three occupancy modes (THB per edge).

    Open cut = length x ``open_cut[highway]`` x ``surface[surface]`` x (1 + per_extra_lane x
    lanes above the reference). Telecom-only trenches on ``micro_trench.highways`` use the
    cheaper of micro-trench and open cut. Bridges/tunnels (``hdd.structures``) are one bore:
    length x ``hdd.per_m`` + mobilisation, the mobilisation shared by the edges of one structure
    (:func:`structure_shares`: a bridge split by a site or a joining road is still one bore).
    Reused corridors cost ``(1 - reuse.discount)`` of their open cut. A non-major edge ending at a node on a major road pays half a bore of
    (road width + margin) metres per such end. The joint mode pays
    ``joint_trench.surcharge_fraction`` on top of the power-only cost.
    """
    m = edges.n_edges
    length = edges.length_m
    major = set(model.hdd_cross_highways)
    structures = set(model.hdd_structures)
    is_major = np.array([h in major for h in edges.highway], dtype=bool)
    # widest major road at each node: the bore length under it
    node_cross: dict[int, float] = {}
    for e in np.flatnonzero(is_major):
        w = _road_width(model, edges.lanes[e], edges.width_m[e]) + model.crossing_margin_m
        for n in (int(edges.u[e]), int(edges.v[e])):
            node_cross[n] = max(node_cross.get(n, 0.0), w)
    main = np.zeros((m, 3))
    types = np.empty((m, 3), dtype=object)
    crossing = np.zeros(m)
    bores = np.zeros(m)
    hdd_m = np.zeros(m)
    micro_ok = set(model.micro_trench_highways)
    is_structure = np.zeros(m, dtype=bool)
    if "bridge" in structures:
        is_structure |= np.asarray(edges.bridge, dtype=bool)
    if "tunnel" in structures:
        is_structure |= np.asarray(edges.tunnel, dtype=bool)
    share = structure_shares(edges.u, edges.v, length, is_structure)
    for e in range(m):
        L = float(length[e])
        hw = edges.highway[e]
        if is_structure[e]:
            cost = L * model.hdd_per_m + share[e] * model.hdd_mobilisation
            main[e] = cost
            types[e] = "hdd"
            bores[e] += share[e]
            hdd_m[e] += L
        else:
            lanes = edges.lanes[e]
            if not np.isfinite(lanes) and np.isfinite(edges.width_m[e]):
                lanes = edges.width_m[e] / model.lane_width_m
            lane_f = 1.0
            if np.isfinite(lanes):
                lane_f += model.per_extra_lane * max(0.0, float(lanes) - model.reference_lanes)
            open_cut = L * model.open_cut(hw) * model.surface(edges.surface[e]) * lane_f
            if edges.reuse[e]:
                open_cut *= 1.0 - model.reuse_discount
                base_type = "corridor_reuse"
            else:
                base_type = "open_cut"
            main[e, 1] = main[e, 2] = open_cut
            types[e, 1] = types[e, 2] = base_type
            micro = L * model.micro_trench_per_m
            if hw in micro_ok and micro < open_cut:
                main[e, 0], types[e, 0] = micro, "micro_trench"
            else:
                main[e, 0], types[e, 0] = open_cut, base_type
        if not is_major[e]:
            for n in (int(edges.u[e]), int(edges.v[e])):
                if n in node_cross:
                    crossing[e] += 0.5 * (node_cross[n] * model.hdd_per_m + model.hdd_mobilisation)
                    bores[e] += 0.5
                    hdd_m[e] += 0.5 * node_cross[n]
    trench = main + crossing[:, None]
    surcharge = model.joint_surcharge_fraction * trench[:, 1]
    trench[:, 2] = trench[:, 1] + surcharge
    return EdgeCosts(trench=trench, trench_type=types, main=main, crossing=crossing, bores=bores,
                     hdd_m=hdd_m, surcharge=surcharge, structure_bores=share)


def unpriced_surfaces(model: CostModel, edges: EdgeTable, *, source: str | None = None) -> list[str]:
    """One warning line (logged) naming the OSM ``surface`` values of ``edges`` that the cost
    model's ``[surface]`` table does not price (so :func:`edge_costs` priced them as ``default``),
    with their edge counts, most frequent first; none when every value is priced."""
    known = {k for k, _ in model.surface_factor}
    values = [x for x in edges.surface if x is not None and x not in known]
    if not values:
        return []
    found, counts = np.unique(np.asarray(values, dtype=str), return_counts=True)
    order = np.lexsort((found, -counts))
    listed = ", ".join(f"{str(found[i])!r} ({counts[i]})" for i in order[:10]) + (" ..." if len(order) > 10 else "")
    line = (f"{source or model.path}: {len(values)} road edge(s) with a surface the [surface] table does not price, "
            f"priced as its default ({model.surface(None):g}): {listed}")
    logger.warning("%s", line)
    return [line]


def structure_shares(u: np.ndarray, v: np.ndarray, length_m: np.ndarray, is_structure: np.ndarray) -> np.ndarray:
    """Each structure edge's share of its structure's one bore (``(m,)``, 0 off structures).

    A structure is a chain of structure edges (bridge or tunnel) joined at nodes where exactly
    two of them meet: a bridge split by a site or by a road joining it stays one structure. Its
    edges share one bore in proportion to their length (equally when it has no length), so a
    plan crossing the whole structure pays one mobilisation; one using a part pays that part's
    share (a lower price than a bore of its own, as the half bore of a crossing's end).
    """
    m = len(length_m)
    share = np.zeros(m)
    s = np.flatnonzero(is_structure)
    if not len(s):
        return share
    ends = np.concatenate([np.asarray(u)[s], np.asarray(v)[s]])
    which = np.concatenate([np.arange(len(s)), np.arange(len(s))])
    order = np.lexsort((which, ends))
    ends, which = ends[order], which[order]
    _, first, count = np.unique(ends, return_index=True, return_counts=True)
    two = first[count == 2]                     # nodes where exactly two structure edge ends meet
    label = component_labels(len(s), which[two], which[two + 1])
    length = np.asarray(length_m, dtype=float)[s]
    total = np.bincount(label, weights=length)[label]
    equal = 1.0 / np.bincount(label)[label]            # a structure of no length: equal shares
    share[s] = np.divide(length, total, out=equal, where=total > 0)
    return share


def duct_costs(model: CostModel, length_m: np.ndarray, *, ducts: Sequence[int],
               diameters_mm: Sequence[int]) -> np.ndarray:
    """``(K, m)`` THB of each operator's ducts along each edge (count x price x length)."""
    length_m = np.asarray(length_m, dtype=float)
    per_m = np.array([n * model.duct_price(int(d)) for n, d in zip(ducts, diameters_mm)], dtype=float)
    return per_m[:, None] * length_m[None, :]


def summary_of_sources(model: CostModel) -> Mapping[str, dict[str, str]]:
    """Source and date of every table of the model (for reports)."""
    return {t: {"source": s, "date": d} for t, s, d in model.sources}
