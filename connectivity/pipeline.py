"""The whole planning sequence: ``run(scenario) -> Plan`` and ``write_outputs(plan, folder)``.

This is the only module that knows the order of the stages:
load -> network -> sites -> design (costs, aerial, joint plan, coalitions, allocation,
manholes, bill of quantities) -> coverage -> phasing -> summary (:func:`plan_summary`) -> outputs.
"""
from __future__ import annotations

import logging
import os
import time
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

import geopandas as gpd
import pandas as pd

from connectivity import (aerial, allocate, boq, corridors, costs, coverage, design, economics, load, network, phasing,
                          plan, sites as sites_mod)
from connectivity.config import Options, Scenario, province_near_miss
from connectivity.atomic import atomic_dir
from connectivity.errors import InfeasibleError, InputDataError, not_a_file
from connectivity.output import write_csv, write_geojson, write_json

log = logging.getLogger(__name__)

Progress = Callable[[str], None]
ROAD_FIELDS = ("u", "v", "length_m", "highway", "name", "ref", "surface", "lanes", "width_m", "bridge", "tunnel",
               "osm_id", "component")
STAGES = ("load", "network", "sites", "plan", "design", "coverage", "phasing", "write")
# Every name a plan folder can hold (see _write_files): the output-folder guard replaces a
# folder holding these only (connectivity.outdir.check_output_folder).
PLAN_FILES = frozenset({
    "ducts.geojson", "sites.geojson", "manholes.geojson", "coverage.geojson", "roads.geojson",
    "map.html", "cost_map.html", "coverage_map.html", "boq.csv", "allocation.csv", "summary.json", "timings.json",
    "report.html", "tornado.svg",
    "aerial.geojson", "services.geojson",
    "tornado.png",   # written by earlier versions: a plan folder of theirs is replaced, not refused
})
MAP_LABELS = {"map.html": "Roads, ducts and sites", "cost_map.html": "Cost per metre, manholes, operator layers",
              "coverage_map.html": "Coverage: buildings passed per hexagon"}


def _noop(_: str) -> None:
    return None


def check_scenario(scenario: Scenario) -> corridors.CorridorSpec | None:
    """The checks that need no input data, before any long work (one-line errors): the cost model,
    the rent settings over it, the ``[corridors]`` table. Returns the corridors (None outside
    corridor mode).

    Raises
    ------
    ConfigError
        Naming the file and the key."""
    model = costs.load_cost_model(scenario.cost_model, warn=False)   # the design stage warns, once
    if scenario.rent is not None:
        _rent_settings(scenario, model)
    return corridors.scenario_corridors(scenario)


def load_layers(scenario: Scenario) -> load.OsmLayers:
    """Roads, POIs, buildings, poles and lines named by the scenario (downloading only as fallback).

    The roads come from the first of: ``inputs.osm`` when the file exists (a ``roads`` file beside it
    is not used, with a warning), ``inputs.roads``, a download of ``bbox`` / ``place``."""
    inp, opts = scenario.inputs, scenario.options
    if inp.osm is not None and inp.osm.is_file():
        if inp.roads is not None:
            log.warning("%s not used: the roads come from inputs.osm (%s), read first", inp.roads, inp.osm.name)
        layers = load.read_osm(inp.osm, highway_exclude=opts.highway_exclude)
    elif inp.roads is not None and (inp.roads.is_file() or (inp.bbox is None and inp.place is None)):
        layers = load.OsmLayers.from_road_lines(load.read_road_lines(inp.roads, highway_exclude=opts.highway_exclude))
    elif inp.bbox is not None or inp.place is not None:
        missing = inp.osm or inp.roads
        if missing is not None:
            log.warning("%s not found: downloading the same area from OpenStreetMap", missing)
        layers = load.download_osm(bbox=inp.bbox, place=inp.place, highway_exclude=opts.highway_exclude,
                                   instead_of=missing, features_required=inp.sites is None and inp.pois is None)
    else:
        raise InputDataError(f"{inp.osm}: {(not_a_file(inp.osm) if inp.osm else None) or 'file not found'}")
    if inp.pois is not None:
        layers = replace(layers, pois=load.read_vector(inp.pois, what="pois"))
    if inp.buildings is not None:
        layers = replace(layers, buildings=load.read_buildings(inp.buildings))
    if inp.poles is not None:
        layers = replace(layers, poles=load.read_assets(inp.poles, geometry="Point", crs=inp.crs))
    if inp.lines is not None:
        layers = replace(layers, lines=load.read_assets(inp.lines, geometry="LineString", crs=inp.crs))
    return layers


def roads_source(scenario: Scenario) -> str:
    """What :func:`load_layers` read the roads from, for messages: ``inputs.osm`` when the file
    exists, else ``inputs.roads``, else the scenario (a download of its area)."""
    inp = scenario.inputs
    if inp.osm is not None and inp.osm.is_file():
        return str(inp.osm)
    return str(inp.roads or inp.osm or scenario.path or "roads")


#: How far (metres) outside the road network's bounding box a layer's features may all lie before it is reported.
FAR_FROM_ROADS_M = 1000.0


#: Largest ``options.node_tolerance_m`` (metres) taken without a warning: road ends that far apart are
#: joined, and a road shorter than it can vanish into a node.
PLAUSIBLE_NODE_TOLERANCE_M = 10.0


def network_warnings(net: network.Network, opts: Options, *, noded: bool) -> list[str]:
    """Warnings (logged and returned) on the options that shaped the network: a CRS whose metres are not
    ground metres at the roads (:func:`connectivity.network.scale_warning`), and where the road lines
    were ``noded`` (a road line file), a node tolerance beyond :data:`PLAUSIBLE_NODE_TOLERANCE_M`."""
    out = []
    if opts.crs != "auto":
        out.append(network.scale_warning(net, opts.crs))
    if noded and opts.node_tolerance_m > PLAUSIBLE_NODE_TOLERANCE_M:
        out.append(f"options.node_tolerance_m = {opts.node_tolerance_m:g} m joins road ends up to that far apart, "
                   f"and a road shorter than that can vanish into one node (plausible: up to "
                   f"{PLAUSIBLE_NODE_TOLERANCE_M:g} m)")
    out = [w for w in out if w]
    for w in out:
        log.warning("%s", w)
    return out


def far_from_roads(net: network.Network, frames: dict[str, gpd.GeoDataFrame], names: dict[str, str]) -> list[str]:
    """One warning (logged and returned) per layer of ``frames`` (in the network's CRS) none of whose
    features lies within :data:`FAR_FROM_ROADS_M` of the road network's bounding box: another
    area's file, or coordinates in a wrong CRS; such features match no street."""
    x0, y0, x1, y1 = net.edges.total_bounds
    d = FAR_FROM_ROADS_M
    out = []
    for k, frame in frames.items():
        b = frame.geometry.bounds
        near = (b["minx"] <= x1 + d) & (b["maxx"] >= x0 - d) & (b["miny"] <= y1 + d) & (b["maxy"] >= y0 - d)
        if not near.any():
            out.append(f"{names[k]}: none of the {len(frame)} {k} lies within {d:,.0f} m of the roads "
                       f"(another area's file, or a wrong CRS?): they match no street")
            log.warning("%s", out[-1])
    return out


def joined_to_main(attached: gpd.GeoDataFrame) -> list[str]:
    """One warning line naming the sites joined to the main road network instead of a nearer road
    piece apart from it (:func:`connectivity.network.attach_sites`), logged; none when there are none."""
    moved = attached.loc[attached["status"] == network.MAIN_NETWORK, "site_id"].astype(str).tolist()
    if not moved:
        return []
    line = (f"{len(moved)} site(s) were joined to the main road network instead of a nearer road piece not "
            f"connected to it: " + ", ".join(moved[:10]) + (" ..." if len(moved) > 10 else ""))
    log.warning("%s", line)
    return [line]


def _projected(frame: gpd.GeoDataFrame, crs: str, what: str) -> gpd.GeoDataFrame:
    """``frame`` in ``crs`` through the one projection check (a point that cannot be projected is an
    error); named by its ``osm_id`` (an OSM object or a partner record's id) where it has one."""
    names = [f"id {i!r}" for i in frame["osm_id"].astype(str)] if "osm_id" in frame else None
    return network.project(frame, crs, what, names=names)


def scenario_sites(scenario: Scenario, layers: load.OsmLayers, crs: str) -> gpd.GeoDataFrame:
    """All sites of the scenario in ``crs``: from the sites file, else chosen from POIs; plus given hubs."""
    inp = scenario.inputs
    if inp.sites is not None:
        chosen = network.project(sites_mod.read_sites(inp.sites, scenario.operators, crs=inp.crs), crs, str(inp.sites))
    else:
        chosen = sites_mod.select_sites(layers.pois, scenario.operators, province=scenario.province)
        chosen = network.project(chosen, crs, str(inp.pois or inp.osm or "points of interest"),
                                 names=[f"site {i!r}" for i in chosen["site_id"]])
    hubs = sites_mod.hubs_from_coordinates(scenario.hubs)
    hubs = network.project(hubs, crs, str(scenario.path or "scenario"), names=[f"hubs.{op}" for op in hubs["operator"]])
    return sites_mod.combine_sites(chosen, hubs, crs=crs)


def _no_sites(scenario: Scenario, layers: load.OsmLayers) -> InputDataError:
    """The error of a scenario that gives no site at all (outside corridor mode): names the file
    the sites were to come from (the sites file, else the points of interest's) and why."""
    inp = scenario.inputs
    if inp.sites is not None:   # its rows (it has some) and hubs all of operators not serving the province
        return InputDataError(f"{inp.sites}: no sites to connect: every site is of an operator that does not "
                              f"serve {scenario.province}")
    source = inp.pois or (inp.osm if inp.osm is not None and inp.osm.is_file() else None)
    rules = scenario.operators_path.name if scenario.operators_path else "the operators file"
    why = sites_mod.why_no_sites(layers.pois, scenario.operators, province=scenario.province, rules_from=rules)
    if source is None and inp.bbox is None and inp.place is None:   # roads from a line file, nothing else
        why = "inputs name no sites, pois or osm file to take sites from"
    return InputDataError(f"{source or scenario.path or 'scenario'}: no sites to connect: {why}")


def run(scenario: Scenario, *, progress: Progress = _noop, executor: Executor | None = None) -> plan.Plan:
    """Plan the shared duct network of a scenario.

    Parameters
    ----------
    progress
        Called with the name of each stage as it starts.
    executor
        Where the coalition plans of one size run at once (e.g. a Dask cluster's
        ``Client.get_executor()``); default: ``[design] workers`` processes, serial with 1.
        The plan is the same either way.
    """
    started = time.perf_counter()
    opts = scenario.options
    phase_specs = scenario.phases  # checked when the scenario was read
    corridor_spec = check_scenario(scenario)
    progress("load")
    layers = load_layers(scenario)
    if corridor_spec is not None:
        layers = corridors.with_records(layers, corridor_spec)
    progress("network")
    tolerance = None if layers.roads_noded else opts.node_tolerance_m
    net = network.roads_network(layers.roads, crs=opts.crs, tolerance_m=tolerance, source=roads_source(scenario))
    names = {k: portable_path(getattr(scenario.inputs, k), scenario) if getattr(scenario.inputs, k) else k
             for k in ("buildings", "poles", "lines")}
    other = {k: _projected(getattr(layers, k), net.crs, str(getattr(scenario.inputs, k) or k))
             for k in ("buildings", "poles", "lines") if len(getattr(layers, k))}
    shaped = network_warnings(net, opts, noded=tolerance is not None)
    layers = replace(layers, warnings=(*layers.warnings, *far_from_roads(net, other, names), *shaped))
    progress("sites")
    all_sites = scenario_sites(scenario, layers, net.crs)
    # points of interest give no site to an operator not serving the province; nor do a sites file or hubs
    source = scenario.inputs.sites or scenario.path
    all_sites, left_out = sites_mod.served_sites(all_sites, scenario.operators, scenario.province,
                                                 portable_path(source, scenario) if source else "scenario")
    near_miss = province_near_miss(scenario.province, scenario.operators)
    if near_miss:
        log.warning("%s", near_miss)
    layers = replace(layers, warnings=(*layers.warnings, *([near_miss] if near_miss else []), *left_out))
    if corridor_spec is not None and not corridor_spec.sites:  # corridor mode: the streets and the hubs
        all_sites = all_sites[all_sites["kind"].astype(str) == "hub"].reset_index(drop=True)
    if len(all_sites) == 0 and corridor_spec is None:
        raise _no_sites(scenario, layers)
    net_sites, attached = network.attach_sites(net, all_sites, max_distance_m=opts.max_site_distance_m,
                                                 merge_m=opts.site_merge_m)
    layers = replace(layers, warnings=(*layers.warnings, *joined_to_main(attached)))
    corridor = None
    if corridor_spec is not None:
        corridor = corridors.plan_corridors(
            corridor_spec, net_sites.edges, scenario.operators, province=scenario.province, lines=other.get("lines"),
            poles=other.get("poles"), corridor_lines=corridors.read_corridor_lines(corridor_spec, net.crs),
            routes=corridors.read_existing_routes(corridor_spec, net.crs))
    progress("plan")
    reachable = plan.reachable_terminals(net_sites, attached)
    if corridor is not None:
        u = net_sites.edges["u"].to_numpy()
        reachable = reachable | pd.Series(corridors.reachable_sites(
            attached, net_sites.nodes["component"].to_numpy(), u, corridor.required), index=reachable.index)
    alone = attached.loc[~reachable & (attached["status"] != "too_far"), "site_id"].tolist()
    if len(attached) and not reachable.any() and corridor is None:
        far = len(attached) - len(alone)
        raise InfeasibleError(
            f"{scenario.inputs.sites or scenario.path or 'scenario'}: none of the {len(attached)} site(s) can be "
            f"connected: {far} farther than {opts.max_site_distance_m:g} m from every road, {len(alone)} without "
            f"another site of their operator (at another location) on their road network component")
    if alone:
        _warn_alone(attached, alone)
    progress("design")
    res = design_stage(scenario, net_sites, attached, reachable, lines=other.get("lines"), poles=other.get("poles"),
                       executor=executor,
                       progress=progress, corridor=corridor, buildings=other.get("buildings"))
    if res.dropped:
        log.warning("%d site(s) have no other site of their operator in their road component (an operator's "
                    "ducts only join its own sites), not connected: %s",
                    len(res.dropped), ", ".join(res.dropped[:10]) + (" ..." if len(res.dropped) > 10 else ""))
        reachable = reachable & ~attached["site_id"].astype(str).isin(res.dropped)
    ducts = res.ducts
    final_sites = plan.connected_sites(attached, reachable)
    progress("coverage")
    cov = coverage.analyse(ducts, other.get("buildings"), final_sites, pass_distance_m=opts.pass_distance_m,
                           h3_resolution=opts.h3_resolution, total_cost_thb=res.summary["total_cost"])
    phased = None
    if phase_specs:
        progress("phasing")
        phased = phasing.phase_layout(res.layout, final_sites, phase_specs,
                                      nearest_segment=cov.nearest_segment, passed_pairs=cov.passed_pairs,
                                      services=res.services, services_factor=res.layout.contingency_factor)
    summary = plan_summary(scenario, net, final_sites, res, cov, load_warnings=layers.warnings,
                           phases=None if phased is None else phased.phasing)
    result = plan.Plan(name=scenario.name, network=net_sites, ducts=ducts, sites=final_sites, summary=summary,
                       manholes=res.manholes, boq=res.boq, allocation=res.allocation, roads=net.edges,
                       buildings=other.get("buildings"), poles=other.get("poles"), lines=other.get("lines"),
                       aerial=res.aerial, services=res.services, layout=res.layout,
                       operators=tuple(o.name for o in scenario.operators), coverage=cov,
                       timings={"seconds": round(time.perf_counter() - started, 3), "design_seconds": res.seconds})
    return result if phased is None else _with_phases(result, phased, phase_specs)


def plan_summary(scenario: Scenario, net: network.Network, sites: gpd.GeoDataFrame, design_out: DesignOutputs,
                 cov: coverage.Coverage, *, load_warnings: Sequence[str] = (),
                 phases: phasing.Phasing | None = None) -> dict:
    """The plan's ``summary.json``, built in one place (JSON-ready; lengths in metres, money in THB).

    In order: the network and site figures, the design stage's figures (its trench length
    in the network figures' place; the cost model's path made portable), ``coverage`` (with
    the corridor mode's buildings reconnected), ``warnings`` (what could not be loaded, then
    the design stage's doubts about implausible costs) and, when phased, ``phases`` and
    ``phases_unbuilt``. Run times stay out (``Plan.timings``): the same plan gives the same bytes.
    """
    figures = dict(design_out.summary)
    design_warnings = figures.pop("warnings", [])
    if isinstance(figures.get("cost_model"), dict) and figures["cost_model"].get("path"):
        figures["cost_model"] = {**figures["cost_model"], "path": portable_path(figures["cost_model"]["path"], scenario)}
    unreachable = sites.loc[~sites["connected"], ["site_id", "status"]]
    roads = net.edges
    summary = {
        "scenario": scenario.name,
        "crs": net.crs,
        "network": {"nodes": len(net.nodes), "edges": len(roads), "km": round(float(roads["length_m"].sum()) / 1000, 3),
                    "components": list(net.component_sizes.values())},
        "trench_length_m": figures.pop("trench_length_m"),
        "sites_total": int(len(sites)),
        "sites_connected": int(sites["connected"].sum()),
        "sites_not_connected": [{"site_id": s, "status": st} for s, st in unreachable.itertuples(index=False)],
        "sites_per_operator": {op: {"total": int(len(g)), "connected": int(g["connected"].sum())}
                               for op, g in sites.groupby("operator", sort=True)},
        "attribution": load.OSM_ATTRIBUTION,
        **figures,
        "coverage": dict(cov.summary),
        "warnings": list(load_warnings) + list(design_warnings),
    }
    if "corridors" in summary:
        summary["coverage"]["buildings_reconnected"] = summary["corridors"]["buildings_reconnected"]
    if phases is not None:
        summary.update(phases.summary())
    return summary


def _with_phases(result: plan.Plan, phased: phasing.PhasedPlan, specs: Sequence[phasing.PhaseSpec]) -> plan.Plan:
    """The plan with a ``phase`` per duct segment (and service connection: its street's) and the
    per-phase rows after the plan's rows in the bill of quantities (their ``phase`` empty)."""
    layout = result.layout
    seg_phase = phased.phasing.phase
    rows = boq.phase_rows(layout, seg_phase, phased.manhole_phase, names=[p.name for p in specs],
                          services=result.services, service_phase=phased.service_phase,
                          services_factor=layout.contingency_factor)
    table = pd.concat([result.boq.assign(phase=pd.array([pd.NA] * len(result.boq), dtype="Int64")), rows],
                      ignore_index=True)
    services = result.services if phased.service_phase is None else result.services.assign(
        phase=_nullable(phased.service_phase))
    return replace(result, ducts=result.ducts.assign(phase=_nullable(seg_phase)), boq=table, services=services)


def _nullable(phase) -> pd.arrays.IntegerArray:
    """Phase numbers as a nullable integer column (0, unbuilt, becomes NA)."""
    return pd.array([int(p) if p > 0 else pd.NA for p in phase], dtype="Int64")


@dataclass(frozen=True)
class DesignOutputs:
    """What the design stage adds to a plan (frames in the network CRS, money in THB)."""

    ducts: gpd.GeoDataFrame
    manholes: gpd.GeoDataFrame
    boq: pd.DataFrame
    allocation: pd.DataFrame
    summary: dict  # the design stage's figures: plan_summary puts them into summary.json
    dropped: list
    seconds: float = 0.0  # wall-clock time of the design stage (timings.json, not the summary)
    aerial: gpd.GeoDataFrame | None = None  # spans and poles, removed or not (aerial.geojson)
    services: gpd.GeoDataFrame | None = None  # buildings reconnected (services.geojson, corridor mode)
    layout: design.PlanLayout | None = None  # the plan's segments and manholes as arrays (rows of ducts, manholes)


@dataclass(frozen=True)
class DesignInputs:
    """The design problem of a scenario and what it was priced from (see :func:`design_problem`)."""

    problem: design.DesignProblem
    settings: design.DesignSettings
    model: costs.CostModel
    match: aerial.AerialMatch
    table: costs.EdgeTable
    ecosts: costs.EdgeCosts
    dropped: list
    existing: corridors.ExistingDucts | None = None


def design_problem(scenario: Scenario, net: network.Network, attached: gpd.GeoDataFrame, reachable: pd.Series, *,
                   lines: gpd.GeoDataFrame | None = None, poles: gpd.GeoDataFrame | None = None,
                   corridor: corridors.CorridorPlan | None = None) -> DesignInputs:
    """Price the network (cost model, aerial corridors) and build the :class:`design.DesignProblem`
    of the attached, reachable sites; ``dropped`` are the sites no duct of their operator can reach.
    With ``corridor`` (corridor mode) its streets are required edges of their operators, hubs
    are kept where an operator's corridor streets are, and the duct banks follow its sizing."""
    settings = scenario.design
    model = costs.load_cost_model(scenario.cost_model)
    kinds = {o.name: o.kind for o in scenario.operators}
    match = aerial.match_aerial(net.edges, lines, poles, buffer_m=settings.aerial_buffer_m, operator_kinds=kinds)
    table = costs.edge_table_from_frame(net.edges, reuse=match.matched if settings.aerial_reuse else None)
    ecosts = costs.edge_costs(model, table)
    names = [o.name for o in scenario.operators]
    anchors = None if corridor is None else corridors.anchor_nodes(table.u, corridor.required)
    terminals, dropped = design.terminals_by_operator(net.nodes["component"].to_numpy(), attached[reachable], names,
                                                      anchors=anchors)
    active = [n for n in names if len(terminals[n]) >= 2]
    required = (aerial.required_corridors(match, operators=scenario.operators, active=active)
                if settings.underground_aerial else None)
    if corridor is not None:
        required = corridors.merge_required(required, corridor.required)
    problem = design.build_problem(model, table, ecosts, n_nodes=len(net.nodes), operators=scenario.operators,
                                   terminals=terminals, required=required)
    if corridor is not None:  # duct banks sized per street: ducts, trench width and shared spares
        problem, ecosts = corridors.sized_problem(problem, model, ecosts, scenario.operators, corridor)
    existing = None
    if corridor is not None and corridor.routes is not None:  # free existing ducts instead of trench
        existing = corridors.existing_ducts(net.edges, corridor.routes, scenario.operators, problem.duct_counts(),
                                            buffer_m=corridor.spec.buffer_m)
        problem = corridors.with_existing(problem, existing, corridors.existing_price_per_duct_m(model))
    return DesignInputs(problem=problem, settings=settings, model=model, match=match, table=table, ecosts=ecosts,
                        dropped=dropped, existing=existing)


def _warn_alone(attached: gpd.GeoDataFrame, alone: list) -> None:
    """One warning for the attached sites no duct can join: those whose operator has no other
    location at all, and those whose operator's other locations are on other road components."""
    alone = [str(s) for s in alone]
    at_one = set(attached.loc[plan.at_one_location(attached), "site_id"].astype(str))
    one = [s for s in alone if s in at_one]
    rest = [s for s in alone if s not in at_one]

    def listed(ids: list[str]) -> str:
        return ", ".join(ids[:10]) + (" ..." if len(ids) > 10 else "")
    if one:
        log.warning("%d site(s) stand at the only location of their operator (its hub included), nothing to join, "
                    "not connected: %s", len(one), listed(one))
    if rest:
        log.warning("%d site(s) share no road component with a site of their operator at another location (an "
                    "operator's ducts only join its own sites), not connected: %s", len(rest), listed(rest))


def _warn_time_limit(limit: float | None, seconds: float) -> None:
    """Log when the design stage ran well past ``time_limit_s`` (``limit``, ``seconds``: wall seconds)."""
    if limit is not None and seconds > 1.25 * limit + 0.5:
        log.warning("design stage took %.1f s, over time_limit_s = %g: the first plan of each coalition and the "
                    "bound's joint dual ascent always run whole (the limit cuts improvement rounds, polish and the "
                    "bound's steps)", seconds, limit)


def design_stage(scenario: Scenario, net: network.Network, attached: gpd.GeoDataFrame, reachable: pd.Series, *,
                 lines: gpd.GeoDataFrame | None = None, poles: gpd.GeoDataFrame | None = None,
                 progress: Progress = _noop, corridor: corridors.CorridorPlan | None = None,
                 buildings: gpd.GeoDataFrame | None = None, executor: Executor | None = None) -> DesignOutputs:
    """Costs, aerial corridors, joint plan, coalitions, allocation, manholes and BoQ of the attached sites
    (in corridor mode, of the corridor streets and the hubs; ``buildings`` get service connections there)."""
    inputs = design_problem(scenario, net, attached, reachable, lines=lines, poles=poles, corridor=corridor)
    problem, settings, model, match, table, ecosts, dropped = (
        inputs.problem, inputs.settings, inputs.model, inputs.match, inputs.table, inputs.ecosts, inputs.dropped)
    edges = net.edges
    names = [o.name for o in scenario.operators]
    opts = design.DesignOptions(rounds=settings.rounds, orders=settings.orders,
                                time_limit=scenario.options.time_limit_s, quality=scenario.options.quality)
    t0 = time.perf_counter()
    deadline = design.Deadline(scenario.options.time_limit_s)
    max_players = design.MAX_COALITION_PLAYERS if settings.shapley else 0

    def coalitions_done(done: int, total: int) -> None:
        progress(f"design: coalitions {done}/{total}")

    table_c = design.plan_coalitions(problem, options=opts, max_players=max_players, deadline=deadline,
                                     progress=coalitions_done, workers=settings.workers, executor=executor)
    joint = table_c.plans[frozenset(table_c.players)]
    f = problem.contingency_factor
    once = design.dig_once(table_c, names)
    steps = settings.bound_steps or (design.certify_steps(problem, effort=design.QUALITY_BOUND_EFFORT)
                                     if scenario.options.quality else None)
    cert, routing, gaps = design.bounds_and_gaps(problem, table_c, time_limit=deadline.left(), iterations=steps)
    _warn_time_limit(scenario.options.time_limit_s, time.perf_counter() - t0)
    bound, routing = cert.value * f, routing * f
    segment = allocate.segment_shapley(problem, joint)
    alloc = allocate.allocate(names, table_c.cost, duct_metres=design.duct_metres(problem, joint),
                              null=table_c.null, coalitions=table_c.complete, shapley_shares=segment)
    rows = boq.bill_of_quantities(problem, joint, ecosts, model, highway=table.highway,
                                  diameters_mm=[o.duct_diameter_mm for o in scenario.operators])
    layout = design.plan_layout(problem, joint, ecosts.trench_type)
    ducts = boq.duct_frame(edges, problem, layout, ecosts, crs=net.crs)
    manholes = boq.manhole_frame(edges, net.nodes, layout, crs=net.crs)
    status = None   # every span and pole: removed or why not
    if corridor is not None or (lines is not None and len(lines)) or (poles is not None and len(poles)):
        streets = corridor.selected if corridor is not None else match.matched
        buffer_m = corridor.spec.buffer_m if corridor is not None else settings.aerial_buffer_m
        status = aerial.aerial_status(edges, joint.use, names, [o.kind for o in scenario.operators],
                                      streets=streets, lines=lines, poles=poles, buffer_m=buffer_m,
                                      pole_distance_m=None if corridor is not None else settings.pole_distance_m)
    removal = aerial.removal_summary(status)
    services = None
    if corridor is not None:  # buildings along the undergrounded streets reconnected: their own cost per operator
        services = corridors.service_connections(edges, corridor.selected, joint.use, scenario.operators, buildings,
                                                 model, distance_m=corridor.spec.service_distance_m)
        rows = corridors.with_service_rows(rows, services, f)
        alloc = corridors.with_services(alloc, services.by_operator, f)
        once = corridors.dig_once_with_services(once, services.by_operator, f)
    network_total = joint.cost * f
    total = network_total + (sum(services.by_operator.values()) * f if services is not None else 0.0)
    n_mh = manholes["group"].value_counts().to_dict() if len(manholes) else {}
    summary = {
        "currency": "THB",
        "cost_model": {"path": model.path, "usd_to_thb": model.usd_to_thb, "rate_date": model.rate_date,
                       "contingency_pct": model.contingency_pct},
        "total_cost": round(total, 2),
        "separate_total_cost": round(once.separate_cost, 2),
        "savings": round(once.savings, 2),
        "savings_pct": round(once.savings_pct, 3),
        "stand_alone_cost": {k: round(v, 2) for k, v in once.stand_alone.items()},
        "cost_breakdown": {"trench": round(joint.trench_cost * f, 2), "ducts": round(joint.duct_cost * f, 2),
                           "manholes": round(joint.manhole_cost * f, 2)},
        "allocation": {m: {o: round(v, 2) for o, v in shares.items()} for m, shares in alloc.shares.items()},
        "in_core": dict(alloc.in_core),
        "shapley_method": ("coalitions: exact Shapley value over every coalition's plan" if table_c.complete else
                           "segment: airport-game Shapley value on the joint plan's routes"),
        "allocation_cross_check": {"segment_shapley": {o: round(v, 2) for o, v in segment.items()}},
        "core_violations": {m: [{"coalition": list(v.coalition), "pays": round(v.pays, 2), "alone": round(v.alone, 2)}
                                for v in vs[:5]] for m, vs in alloc.violations.items()},
        "network_cost": round(network_total, 2),   # what the bound is for: total_cost less the service connections
        "lower_bound": round(bound, 2),
        "lower_bound_method": cert.method,
        "routing_lower_bound": round(routing, 2),   # the optimised objective: manholes per metre
        "routing_gap_pct": design.gap_pct(joint.linear_cost * f, routing),
        "plan_gaps": gaps,
        "gap_pct": design.gap_pct(network_total, bound),
        "manholes": {"total": int(len(manholes)), **{g: int(n_mh.get(g, 0)) for g in design.GROUPS}},
        "networks_per_operator": {o: len(problem.terminal_groups(k)) for k, o in enumerate(problem.operators)},
        "trench_length_m": round(float(problem.length_m[joint.use.any(axis=0)].sum()), 2),
        "shared_trench_m": round(float(problem.length_m[joint.use.sum(axis=0) >= 2].sum()), 2),
        "duct_m": {o: round(v, 2) for o, v in design.duct_metres(problem, joint).items()},
        "aerial_edges_matched": match.n_matched,
        "overhead_km_removed": removal["spans_removed_km"],
        "poles_removable": removal["poles_removed"],
        # implausible costs, road surfaces the model does not price
        "warnings": (costs.limit_warnings(model, source=portable_path(model.path, scenario))
                     + costs.unpriced_surfaces(model, table, source=portable_path(model.path, scenario))),
    }
    if corridor is not None:
        summary["corridors"] = corridors.corridor_summary(corridor, edges, problem, joint, status, poles=poles,
                                                          services=services, existing=inputs.existing)
        summary["cost_breakdown"]["services"] = round(sum(services.by_operator.values()) * f, 2)
        loose = [op for op, ok in summary["corridors"]["hub_connected"].items() if not ok]
        if loose:
            log.warning("corridors: the ducts of %s reach no hub of theirs (give one in [hubs] or an operator hub rule)",
                        ", ".join(loose))
    summary.update(_economics(model, rows, alloc.shares, design.duct_metres(problem, joint),
                              {o: float(problem.length_m[joint.use[k]].sum()) for k, o in enumerate(names)},
                              rent=_rent_settings(scenario, model),
                              in_trench=economics.duct_metres_in_trench(joint.use, problem.length_m, problem.ducts,
                                                                        problem.operators)))
    alloc_frame = allocate.allocation_frame(alloc)
    for col in economics.RENT_COLUMNS:  # rent versus build per operator (empty on the total row)
        alloc_frame[col] = [summary["rent_vs_build"].get(o, {}).get(col) for o in alloc_frame["operator"]]
    log.info("joint plan %.0f THB, separate %.0f THB, savings %.1f%% (design stage %.1f s)", total,
             once.separate_cost, once.savings_pct, time.perf_counter() - t0)
    return DesignOutputs(ducts=ducts, manholes=manholes, boq=boq.boq_frame(rows), allocation=alloc_frame,
                         summary=summary, dropped=dropped, seconds=round(time.perf_counter() - t0, 3), aerial=status,
                         services=None if services is None else services.frame, layout=layout)


def _rent_settings(scenario: Scenario, model: costs.CostModel | None) -> economics.RentSettings | None:
    """The scenario's ``[rent]`` over the cost model's (checked; ``None``: no rent versus build)."""
    return economics.rent_settings(scenario.rent, source=str(scenario.path or "<scenario>"),
                                   operators=[o.name for o in scenario.operators], model=model)


def _economics(model: costs.CostModel, rows: list, shares: dict, duct_m: dict, trench_m: dict, *,
               rent: economics.RentSettings | None = None, in_trench: dict | None = None) -> dict:
    """``cost_range``, ``tornado``, ``rent_settings`` and ``rent_vs_build`` of the chosen plan (summary keys)."""
    ranges = {k: (lo, mo, hi) for k, lo, mo, hi in model.ranges}
    method, share = economics.allocation_shares(shares)
    out = {"cost_range": {**economics.cost_range(rows, ranges, shares=share), "by_operator_rule": method},
           "tornado": economics.tornado(rows, ranges), "rent_vs_build": {}}
    if rent is not None:
        out["rent_settings"] = rent.summary()
        out["rent_vs_build"] = economics.rent_vs_build(
            share, duct_m, trench_m, rent_per_km_month=rent.rates(), discount_rate=rent.discount_rate,
            horizon_years=rent.horizon_years, maintenance_per_km_year=rent.maintenance_per_km_year,
            duct_m_in_trench=in_trench)
    return out


def portable_path(path: str | Path, scenario: Scenario) -> str:
    """``path`` as written into reproducible files: the file name for a file shipped with the
    package, else relative to the scenario's folder ('/' separators), never absolute."""
    p = Path(path).resolve()
    package = Path(__file__).resolve().parent
    if package in p.parents or scenario.path is None:
        return p.name
    return Path(os.path.relpath(p, Path(scenario.path).resolve().parent)).as_posix()


def scenario_inputs(scenario: Scenario) -> list[Path]:
    """Every file a run of ``scenario`` reads (the scenario file first), for the output-folder guard."""
    inp = scenario.inputs
    files = [scenario.path, inp.osm, inp.roads, inp.pois, inp.sites, inp.poles, inp.lines, inp.buildings,
             scenario.cost_model, scenario.operators_path]
    spec = corridors.scenario_corridors(scenario)
    if spec is not None:
        files += spec.files()
    return [Path(f) for f in files if f is not None]


def check_output(scenario: Scenario, out_dir: str | Path) -> Path:
    """Refuse (one-line ConfigError) an output folder that would replace an input or unrelated files."""
    from connectivity.outdir import check_output_folder

    return check_output_folder(out_dir, inputs=scenario_inputs(scenario), own_names=PLAN_FILES, what="--out folder")


def write_outputs(result: plan.Plan, out_dir: str | Path) -> list[Path]:
    """Write the plan's files into ``out_dir`` (created if needed); returns the paths written.

    GeoJSON layers (``ducts``, ``sites``, ``coverage``), ``summary.json``, three offline
    maps: ``map.html`` (roads, ducts, sites), ``cost_map.html`` and ``coverage_map.html``, and
    the report linking them, ``report.html`` (with its tornado chart, also ``tornado.svg``).
    The files are written into a temporary sibling folder that then replaces ``out_dir``
    (:func:`connectivity.atomic.atomic_dir`): a killed run leaves the old complete output.
    """
    out = Path(out_dir)
    with atomic_dir(out, own=PLAN_FILES) as tmp:  # maps.save_map gives the maps stable ids: same plan -> same bytes
        written = [out / p.relative_to(tmp) for p in _write_files(result, tmp)]
    for path in written:   # named where they are now, not in the staging folder
        if path.name in MAP_LABELS:
            log.info("wrote %s (%.1f MB)", path, path.stat().st_size / 1e6)
    return written


def _write_report(result: plan.Plan, out: Path, *, maps: list[tuple[str, str]]) -> list[Path]:
    """``report.html`` and ``tornado.svg`` (:mod:`connectivity.report`) beside the maps they link to."""
    from connectivity import report  # jinja2 stays out of the import path of the planning stages
    from connectivity.atomic import atomic_path

    written = []
    for name, data in report.report_files(result, maps=maps).items():
        with atomic_path(out / name) as tmp:
            tmp.write_bytes(data)
        written.append(out / name)
    return written


def _write_files(result: plan.Plan, out: Path) -> list[Path]:
    from connectivity import maps  # folium stays out of the import path of the planning stages

    layers = {"ducts": result.ducts, "sites": result.sites}
    for name in ("manholes", "aerial", "services"):
        if getattr(result, name) is not None:
            layers[name] = getattr(result, name)
    if result.coverage is not None:
        layers["coverage"] = result.coverage.hexagons
    if result.roads is not None:  # the road network the plan was routed on
        layers["roads"] = result.roads[[c for c in ROAD_FIELDS if c in result.roads] + ["geometry"]].reset_index()
    written = []
    for name, frame in layers.items():
        written.append(out / f"{name}.geojson")
        write_geojson(frame, written[-1])
    ops = list(result.operators) or sorted(result.summary.get("sites_per_operator", {}))
    roads = None if result.roads is None else maps.road_data(result.roads)   # encoded once for both maps
    pages = {
        "map.html": maps.cost_map(result.ducts, None, result.sites, operators=ops, roads=roads,
                                  title=f"{result.name}: roads, ducts and sites", aerial=result.aerial,
                                  services=result.services),
        "cost_map.html": maps.cost_map(result.ducts, result.manholes, result.sites, operators=ops,
                                       roads=roads, title=f"{result.name}: cost", aerial=result.aerial,
                                       services=result.services),
    }
    if result.coverage is not None:
        pages["coverage_map.html"] = maps.coverage_map(result.coverage.hexagons, result.coverage.buildings,
                                                       result.ducts, result.sites, operators=ops,
                                                       title=f"{result.name}: coverage")
    for name, page in pages.items():
        written.append(maps.save_map(page, out / name))
    for name, table in result.tables.items():
        if table is not None:
            written.append(out / f"{name}.csv")
            write_csv(table, written[-1])
    written.append(out / "summary.json")
    write_json(result.summary, written[-1])
    written += _write_report(result, out, maps=[(n, MAP_LABELS.get(n, n)) for n in pages])
    if result.timings:  # wall-clock times: the only file that differs between two runs
        written.append(out / "timings.json")
        write_json(result.timings, written[-1])
    return written
