"""The money a decision needs: cost ranges of the chosen plan and rent versus build.

Pure functions on plain data (lists of dicts, mappings, numbers); no planning here.

* :func:`cost_range` - a Monte Carlo over the unit-cost ranges of the cost model
  (triangular distributions, fixed seed, vectorised): the plan's bill of quantities
  (:func:`connectivity.boq.bill_of_quantities`, whose rows carry ``terms`` =
  ``{cost key: THB at the mode}``) is re-priced with every draw. Each term scales with its
  unit cost (``THB x draw / mode``); the contingency row is ``percent x subtotal`` of the
  draw. Gives P10/P50/P90 of the total, of every BoQ item and of every operator's share
  (its allocation share x draw total / mode total). The routes stay those of the plan
  priced on the mode: the ranges say how sure the price of *this* plan is.
* :func:`tornado` - for each ranged unit cost, the total at its low and at its high with
  every other cost at its mode, sorted by swing.
* :func:`rent_vs_build` - per operator, the net present value of building its share
  against renting the same sub-duct-km, the break-even rent, and what it earns as the duct
  owner if the others rent their sub-ducts in its trenches.
* :func:`rent_settings` - the scenario's ``[rent]`` table (discount rate, horizon, rent rates
  per operator) over the cost model's ``[rent]``.

Draws of the costs of one cost-model table (e.g. every ``open_cut.*`` class) move together
(one uniform number per table and draw: one contractor market); tables are independent.
Approximation: the joint-trench surcharge scales with ``joint_trench.surcharge_fraction``
only, not with the open-cut price drawn for the trench it widens.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from connectivity.errors import ConfigError

ESTIMATE_CLASS = ("AACE Class 5 (concept screening, 0-2% project definition; expected range -20..-50% to "
                  "+30..+100%, AACE International RP 18R-97): a plan from OSM roads and public unit costs; at best "
                  "Class 4 with the utilities' records and contractors' quotes")
DEFAULT_DRAWS = 2000
DEFAULT_SEED = 13
PERCENTILES = (10, 50, 90)
CONTINGENCY_KEY = "contingency.percent"
RENT_COLUMNS = ("npv_build", "npv_rent", "break_even_rent_per_km_month", "choice", "rent_per_km_month",
                "owner_rent_income_per_year", "npv_owner_rent_income")
"""Columns :func:`rent_vs_build` gives per operator (also added to ``allocation.csv``)."""


def _table_of(key: str) -> str:
    """The cost-model table of a dotted key (``duct.per_m.100`` -> ``duct.per_m``)."""
    return key.rsplit(".", 1)[0]


def triangular(u: np.ndarray, low: np.ndarray, mode: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Inverse CDF of triangular distributions at uniform numbers ``u`` (broadcast).

    Degenerate ranges (low = high) give the mode; unlike ``numpy.random.triangular`` this
    accepts them.
    """
    low, mode, high = (np.asarray(a, dtype=float) for a in (low, mode, high))
    width = high - low
    safe = np.where(width > 0, width, 1.0)
    fc = np.where(width > 0, (mode - low) / safe, 0.5)
    left = low + np.sqrt(np.clip(u * width * (mode - low), 0.0, None))
    right = high - np.sqrt(np.clip((1.0 - u) * width * (high - mode), 0.0, None))
    x = np.where(u < fc, left, right)
    return np.where(width > 0, x, mode)


def _quantiles(x: np.ndarray) -> dict[str, float]:
    q = np.percentile(x, PERCENTILES, axis=0)
    return {f"p{p}": round(float(v), 2) for p, v in zip(PERCENTILES, q)}


def _check_ranges(ranges: Mapping[str, Sequence[float]]) -> dict[str, tuple[float, float, float]]:
    out = {}
    for k, r in ranges.items():
        lo, mo, hi = (float(x) for x in r)
        if not (0.0 <= lo <= mo <= hi) or not np.isfinite(hi):
            raise ValueError(f"cost range {k}: need 0 <= low <= mode <= high, got {lo}, {mo}, {hi}")
        out[k] = (lo, mo, hi)
    return out


class _Priced:
    """The BoQ as a matrix: item x cost key (THB at the mode), plus the contingency."""

    def __init__(self, rows: Sequence[Mapping[str, Any]], ranges: Mapping[str, tuple[float, float, float]]):
        self.items = [item_label(r) for r in rows if r.get("category") != "contingency"]
        cont = [r for r in rows if r.get("category") == "contingency"]
        self.contingency_item = item_label(cont[0]) if cont else None
        priced = [r for r in rows if r.get("category") != "contingency"]
        keys = sorted({k for r in priced for k in _terms(r)} & set(ranges))
        self.keys = keys
        self.base = np.zeros(len(priced))   # THB of each item that no range moves
        self.coef = np.zeros((len(priced), len(keys)))  # THB per unit of each key's ratio
        col = {k: j for j, k in enumerate(keys)}
        for i, r in enumerate(priced):
            for k, thb in _terms(r).items():
                if k in col and ranges[k][1] > 0:
                    self.coef[i, col[k]] += thb
                else:
                    self.base[i] += thb
        self.mode = np.array([ranges[k][1] for k in keys])
        cpct = ranges.get(CONTINGENCY_KEY)
        if cont and cpct is None:  # no range given: the rate of the row itself
            rate = float(cont[0].get("unit_cost_thb", 0.0)) * 100.0
            cpct = (rate, rate, rate)
        self.contingency = cpct if cont else (0.0, 0.0, 0.0)

    def price(self, values: np.ndarray, pct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Item costs ``(n, items)`` and contingency ``(n,)`` for unit costs ``values`` ``(n, keys)``."""
        ratio = np.divide(values, self.mode, out=np.ones_like(values), where=self.mode > 0)
        items = self.base[None, :] + ratio @ self.coef.T
        return items, items.sum(axis=1) * pct / 100.0


def item_label(row: Mapping[str, Any]) -> str:
    """Key of a BoQ row in ``cost_range()["by_item"]``: its item, and its operator(s) unless shared."""
    op = str(row.get("operator") or "all")
    return str(row["item"]) if op == "all" else f"{row['item']} [{op}]"


def _terms(row: Mapping[str, Any]) -> Mapping[str, float]:
    terms = row.get("terms")
    if terms is None:  # a row without terms: fixed at its cost
        return {"": float(row.get("cost_thb", 0.0))}
    rest = float(row.get("cost_thb", 0.0)) - sum(terms.values())
    return {**terms, "": rest} if abs(rest) > 1e-6 else terms


def cost_range(rows: Sequence[Mapping[str, Any]], ranges: Mapping[str, Sequence[float]], *,
               shares: Mapping[str, float] | None = None, draws: int = DEFAULT_DRAWS,
               seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """P10/P50/P90 of the plan's total, of every BoQ item and of every operator's share.

    Parameters
    ----------
    rows
        Bill-of-quantities rows (``item``, ``category``, ``cost_thb`` and ``terms``).
    ranges
        ``{cost key: (low, mode, high)}`` (``CostModel.ranges``); keys the rows do not use
        are ignored, terms whose key has no range stay at their cost.
    shares
        Each operator's allocation of the total at the mode (THB).
    draws, seed
        Number of draws and the seed of ``numpy.random.default_rng``.

    Returns
    -------
    dict
        ``{"total": {"p10", "p50", "p90"}, "by_operator", "by_item", "mode_total",
        "draws", "seed", "estimate_class", "method"}``.
    """
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    rg = _check_ranges(ranges)
    p = _Priced(rows, rg)
    tables = sorted({_table_of(k) for k in p.keys} | {_table_of(CONTINGENCY_KEY)})
    rng = np.random.default_rng(seed)
    u = rng.random((draws, len(tables)))
    tcol = {t: j for j, t in enumerate(tables)}
    cols = [tcol[_table_of(k)] for k in p.keys]
    lo = np.array([rg[k][0] for k in p.keys])
    hi = np.array([rg[k][2] for k in p.keys])
    values = triangular(u[:, cols], lo, p.mode, hi) if p.keys else np.zeros((draws, 0))
    pct = triangular(u[:, tcol[_table_of(CONTINGENCY_KEY)]], *p.contingency)
    items, cont = p.price(values, pct)
    total = items.sum(axis=1) + cont
    mode_items, mode_cont = p.price(p.mode[None, :], np.array([p.contingency[1]]))
    mode_total = float(mode_items.sum() + mode_cont[0])
    by_item: dict[str, Any] = {}
    for j, name in enumerate(p.items):  # items of the same name (rare) are summed
        by_item.setdefault(name, np.zeros(draws))
        by_item[name] = by_item[name] + items[:, j]
    if p.contingency_item is not None:
        by_item[p.contingency_item] = cont
    scale = total / mode_total if mode_total > 0 else np.ones(draws)
    return {
        "total": _quantiles(total),
        "mode_total": round(mode_total, 2),
        "by_operator": {op: _quantiles(float(s) * scale) for op, s in (shares or {}).items()},
        "by_item": {k: _quantiles(v) for k, v in by_item.items()},
        "draws": int(draws),
        "seed": int(seed),
        "estimate_class": ESTIMATE_CLASS,
        "method": ("Monte Carlo over the cost model's {low, mode, high} unit costs (triangular; the costs of one "
                   "table move together), re-pricing the chosen plan's bill of quantities; operator shares "
                   "scaled by draw total / mode total"),
    }


def tornado(rows: Sequence[Mapping[str, Any]], ranges: Mapping[str, Sequence[float]]) -> list[dict[str, Any]]:
    """Total at each ranged unit cost's low and high, the others at their mode, widest swing first.

    Only keys the rows use and whose range is not degenerate are listed.
    """
    rg = _check_ranges(ranges)
    p = _Priced(rows, rg)
    cpct = p.contingency
    out = []
    for j, k in enumerate(p.keys):
        lo, mo, hi = rg[k]
        if lo == hi:
            continue
        vals = np.tile(p.mode, (2, 1))
        vals[:, j] = (lo, hi)
        items, cont = p.price(vals, np.array([cpct[1], cpct[1]]))
        t = items.sum(axis=1) + cont
        out.append({"cost": k, "low": round(float(t[0]), 2), "high": round(float(t[1]), 2)})
    if cpct[0] != cpct[2] and p.contingency_item is not None:
        items, _ = p.price(p.mode[None, :], np.array([cpct[1]]))
        sub = float(items.sum())
        out.append({"cost": CONTINGENCY_KEY, "low": round(sub * (1 + cpct[0] / 100), 2),
                    "high": round(sub * (1 + cpct[2] / 100), 2)})
    out.sort(key=lambda r: (-(r["high"] - r["low"]), r["cost"]))
    return out


def total_at(rows: Sequence[Mapping[str, Any]], ranges: Mapping[str, Sequence[float]],
             values: Mapping[str, float]) -> float:
    """The plan's total with the unit costs ``values`` (``{key: THB}``), the others at their mode.

    ``ranges`` give the modes the rows were priced with (e.g. all lows: ``{k: r[0]}``).
    """
    rg = _check_ranges(ranges)
    p = _Priced(rows, rg)
    vals = np.array([[float(values.get(k, rg[k][1])) for k in p.keys]]).reshape(1, len(p.keys))
    pct = float(values.get(CONTINGENCY_KEY, p.contingency[1]))
    items, cont = p.price(vals, np.array([pct]))
    return round(float(items.sum() + cont[0]), 2)


def annuity_factor(rate: float, years: int) -> float:
    """Present value of 1 paid at the end of each year 1..``years`` at discount ``rate``."""
    if years <= 0:
        return 0.0
    if rate == 0:
        return float(years)
    return float((1.0 - (1.0 + rate) ** -years) / rate)


def rent_vs_build(shares: Mapping[str, float], duct_m: Mapping[str, float], trench_m: Mapping[str, float], *,
                  rent_per_km_month: float | Mapping[str, float], discount_rate: float, horizon_years: int,
                  maintenance_per_km_year: float,
                  duct_m_in_trench: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, dict[str, Any]]:
    """Per operator with a share: build its share, or rent the same sub-duct-km?

    Build: its allocation share paid at year 0, then ``maintenance_per_km_year`` x its trench
    km at the end of every year 1..``horizon_years``. Rent: its duct-metres / 1000 x its
    rent (THB per sub-duct-km per month) x 12 at the end of every year. Both discounted at
    ``discount_rate``; NPVs are costs (THB, positive). The break-even rent (THB per
    sub-duct-km per month) makes the two equal; ``choice`` is the cheaper ("build" on a tie).

    The duct owner's side: if the operator builds and owns the trenches its ducts run in,
    and every other operator rents its sub-ducts there, the owner earns
    ``owner_rent_income_per_year`` = sum over the others of (their duct-metres in its
    trenches / 1000 x their rent x 12) THB a year, ``npv_owner_rent_income`` over the
    horizon at the discount rate (end-of-year payments, as the rent above).

    Parameters
    ----------
    shares
        THB each operator pays of the joint plan (operators without a positive share are left out).
    duct_m, trench_m
        Each operator's duct-metres (sub-duct-metres) and trench metres in the plan.
    rent_per_km_month
        THB per sub-duct-km per month an operator pays when it rents: one rate for all, or
        ``{operator: rate}`` (every operator with ducts needs one).
    duct_m_in_trench
        ``{owner: {renter: duct-metres of the renter in the owner's trenches}}``
        (:func:`duct_metres_in_trench`); without it the owner figures are left out.
    """
    def rate(op: str) -> float:
        if not isinstance(rent_per_km_month, Mapping):
            return float(rent_per_km_month)
        if op not in rent_per_km_month:
            raise ValueError(f"rent_per_km_month: no rent rate for operator {op}")
        return float(rent_per_km_month[op])

    a = annuity_factor(discount_rate, horizon_years)
    out = {}
    for op, share in shares.items():
        share = float(share)
        if share <= 0:
            continue
        sub_km = float(duct_m.get(op, 0.0)) / 1000.0
        npv_build = share + maintenance_per_km_year * float(trench_m.get(op, 0.0)) / 1000.0 * a
        npv_rent = sub_km * rate(op) * 12.0 * a
        be = npv_build / (sub_km * 12.0 * a) if sub_km > 0 and a > 0 else None
        out[op] = {"npv_build": round(npv_build, 2), "npv_rent": round(npv_rent, 2),
                   "break_even_rent_per_km_month": round(be, 2) if be is not None else None,
                   "choice": "build" if npv_build <= npv_rent else "rent",
                   "rent_per_km_month": round(rate(op), 2)}
        if duct_m_in_trench is not None:
            income = sum(float(m) / 1000.0 * rate(r) * 12.0
                         for r, m in sorted(duct_m_in_trench.get(op, {}).items()) if r != op and m > 0)
            out[op]["owner_rent_income_per_year"] = round(income, 2)
            out[op]["npv_owner_rent_income"] = round(income * a, 2)
    return out


def duct_metres_in_trench(use: np.ndarray, length_m: np.ndarray, ducts: Sequence[int],
                          operators: Sequence[str]) -> dict[str, dict[str, float]]:
    """``{owner: {renter: duct-metres}}``: each operator's ducts x metres on the edges the owner uses.

    ``use`` is ``(K, m)`` boolean (operator k's ducts on edge e), ``length_m`` ``(m,)`` metres,
    ``ducts`` the ducts each operator lays in every trench it uses. The diagonal is the
    operator's own duct-metres.
    """
    use = np.asarray(use, dtype=bool)
    length = np.asarray(length_m, dtype=float)
    metres = (use * length[None, :]) @ use.T.astype(float)   # (owner, renter) trench metres in common
    return {o: {r: float(metres[i, j] * ducts[j]) for j, r in enumerate(operators)}
            for i, o in enumerate(operators)}


@dataclass(frozen=True)
class RentSettings:
    """Rent versus build settings: the scenario's ``[rent]`` over the cost model's ``[rent]``.

    Attributes
    ----------
    discount_rate
        Yearly discount rate (0.08 = 8 %).
    horizon_years
        Years of rent and maintenance (payments at the end of years 1..horizon).
    maintenance_per_km_year
        THB per trench-km per year the owner of a trench spends on it.
    rent_per_km_month
        ``((operator, THB per sub-duct-km per month), ...)`` each operator pays when it rents.
    source
        Where the figures come from (``"cost model"``, ``"scenario"`` or ``"scenario and cost model"``).
    """

    discount_rate: float
    horizon_years: int
    maintenance_per_km_year: float
    rent_per_km_month: tuple[tuple[str, float], ...]
    source: str

    def rates(self) -> dict[str, float]:
        return dict(self.rent_per_km_month)

    def summary(self) -> dict[str, Any]:
        """The settings as plain figures (``summary.json`` ``rent_settings``)."""
        return {"discount_rate": self.discount_rate, "horizon_years": self.horizon_years,
                "maintenance_per_km_year": self.maintenance_per_km_year,
                "rent_per_km_month": self.rates(), "annuity_factor": round(
                    annuity_factor(self.discount_rate, self.horizon_years), 6), "source": self.source}


RENT_KEYS = ("discount_rate", "horizon_years", "maintenance_per_km_year", "per_subduct_km_month", "operators")
"""Keys of a scenario's ``[rent]`` table (``operators``: a table of operator = THB per sub-duct-km per month)."""


def _rent_number(value: Any, where: str, *, maximum: float, positive: bool = True) -> float:
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            or not (0 < value <= maximum if positive else 0 <= value <= maximum)):
        kind = "a positive number" if positive else "a number from 0"
        raise ConfigError(f"{where}: must be {kind} up to {maximum:g}, got {value!r}")
    return float(value)


def rent_settings(table: Mapping[str, Any] | None, *, source: str, operators: Sequence[str],
                  model: Any = None) -> RentSettings | None:
    """Rent settings of a scenario: its ``[rent]`` table, else the cost model's ``[rent]``.

    ``table`` keys (all optional): ``discount_rate`` (0..1), ``horizon_years`` (whole years
    1..200), ``maintenance_per_km_year`` (THB), ``per_subduct_km_month`` (THB, every operator)
    and ``operators`` (``{operator: THB per sub-duct-km per month}``, overriding both for the
    operators named). ``model`` is a :class:`connectivity.costs.CostModel` (or ``None``).
    Returns ``None`` when neither gives a rent rate and a horizon (no rent versus build).

    Raises
    ------
    ConfigError
        On an unknown key, an unknown operator or a value out of range, naming ``source``.
    """
    if table is not None and not isinstance(table, Mapping):
        raise ConfigError(f"{source}: [rent] must be a table")
    table = dict(table or {})
    unknown = sorted(set(table) - set(RENT_KEYS))
    if unknown:
        raise ConfigError(f"{source}: [rent] unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(RENT_KEYS))}")
    w = f"{source}: rent"
    got: dict[str, Any] = {}
    if "discount_rate" in table:
        got["discount_rate"] = _rent_number(table["discount_rate"], f"{w}.discount_rate", maximum=1.0, positive=False)
    if "horizon_years" in table:
        h = table["horizon_years"]
        if isinstance(h, bool) or not isinstance(h, int) or not 1 <= h <= 200:
            raise ConfigError(f"{w}.horizon_years: must be a whole number of years from 1 to 200, got {h!r}")
        got["horizon_years"] = int(h)
    if "maintenance_per_km_year" in table:
        got["maintenance_per_km_year"] = _rent_number(table["maintenance_per_km_year"],
                                                      f"{w}.maintenance_per_km_year", maximum=1e9, positive=False)
    if "per_subduct_km_month" in table:
        got["per_subduct_km_month"] = _rent_number(table["per_subduct_km_month"], f"{w}.per_subduct_km_month",
                                                   maximum=1e9)
    per_op: dict[str, float] = {}
    if "operators" in table:
        ops = table["operators"]
        if not isinstance(ops, dict):
            raise ConfigError(f"{w}.operators: must be a table of operator = THB per sub-duct-km per month")
        for name, v in ops.items():
            if name not in operators:
                raise ConfigError(f"{w}.operators.{name}: unknown operator; known: {', '.join(operators)}")
            per_op[name] = _rent_number(v, f"{w}.operators.{name}", maximum=1e9)
    has_model = model is not None and getattr(model, "horizon_years", 0) > 0
    default_rate = got.get("per_subduct_km_month",
                           model.rent_per_subduct_km_month if has_model and model.rent_per_subduct_km_month > 0 else None)
    horizon = got.get("horizon_years", model.horizon_years if has_model else None)
    if not table and not has_model:
        return None
    missing = [o for o in operators if o not in per_op and default_rate is None]
    if horizon is None or missing:
        need = (["horizon_years"] if horizon is None else []) + (
            [f"per_subduct_km_month (or operators.{missing[0]})"] if missing else [])
        raise ConfigError(f"{w}: needs {' and '.join(need)}: the cost model has no [rent] table")
    from_scenario = [k in got for k in ("discount_rate", "horizon_years", "maintenance_per_km_year")]
    from_scenario.append("per_subduct_km_month" in got or len(per_op) == len(operators))
    return RentSettings(
        discount_rate=got.get("discount_rate", model.discount_rate if has_model else 0.0),
        horizon_years=int(horizon),
        maintenance_per_km_year=got.get("maintenance_per_km_year", model.maintenance_per_km_year if has_model else 0.0),
        rent_per_km_month=tuple((o, per_op.get(o, default_rate)) for o in operators),
        source="scenario" if all(from_scenario) else "scenario and cost model" if table else "cost model")


def allocation_shares(allocation: Mapping[str, Mapping[str, float]]) -> tuple[str, dict[str, float]]:
    """The sharing rule the economics uses (Shapley, else proportional by duct-metres) and its shares."""
    for method in ("shapley", "proportional_ducts", "proportional_standalone", "equal"):
        if method in allocation:
            return method, {o: float(v) for o, v in allocation[method].items()}
    return "", {}


# --------------------------------------------------------------------------- plans side by side
# (the figures; connectivity.report.compare writes the files)

def headline(summary: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    """The headline figures of a plan's ``summary.json``: ``{figure: (unit, value)}`` (None when absent)."""
    cov = summary.get("coverage") or {}
    rng = (summary.get("cost_range") or {}).get("total") or {}
    km = summary.get("trench_length_m")
    shared = summary.get("shared_trench_m")
    out: dict[str, tuple[str, Any]] = {
        "sites_connected": ("sites", summary.get("sites_connected")),
        "sites_total": ("sites", summary.get("sites_total")),
        "trench_km": ("km", round(km / 1000.0, 3) if km is not None else None),
        "shared_trench_km": ("km", round(shared / 1000.0, 3) if shared is not None else None),
        "total_cost": ("THB", summary.get("total_cost")),
        "cost_p10": ("THB", rng.get("p10")),
        "cost_p50": ("THB", rng.get("p50")),
        "cost_p90": ("THB", rng.get("p90")),
        "separate_total_cost": ("THB", summary.get("separate_total_cost")),
        "savings": ("THB", summary.get("savings")),
        "savings_pct": ("%", summary.get("savings_pct")),
        "gap_pct": ("%", summary.get("gap_pct")),
        "buildings_passed": ("buildings", cov.get("buildings_passed")),
        "buildings_passed_pct": ("%", round(cov["buildings_passed_pct"], 3)
                                 if cov.get("buildings_passed_pct") is not None else None),
        "cost_per_building_passed": ("THB", round(cov["cost_per_building_passed"], 2)
                                     if cov.get("cost_per_building_passed") is not None else None),
        "overhead_km_removed": ("km", summary.get("overhead_km_removed")),
        "poles_removable": ("poles", summary.get("poles_removable")),
    }
    rule, shares = allocation_shares(summary.get("allocation") or {})
    for op, v in shares.items():
        out[f"share_{op}"] = (f"THB ({rule})", round(v, 2))
    for op, r in (summary.get("rent_vs_build") or {}).items():
        out[f"rent_or_build_{op}"] = ("", r.get("choice"))
    for op, r in (summary.get("rent_vs_build") or {}).items():
        if r.get("npv_owner_rent_income") is not None:
            out[f"owner_rent_npv_{op}"] = ("THB", r["npv_owner_rent_income"])
    return out


def compare_rows(plans: Sequence[tuple[str, Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """One row per headline figure, one column per plan (``(name, summary)`` pairs, in order)."""
    heads = [(name, headline(s)) for name, s in plans]
    figures: list[str] = []
    units: dict[str, str] = {}
    for _, h in heads:
        for k, (unit, _) in h.items():
            if k not in units:
                figures.append(k)
                units[k] = unit
    return [{"figure": k, "unit": units[k], **{name: h.get(k, ("", None))[1] for name, h in heads}}
            for k in figures]
