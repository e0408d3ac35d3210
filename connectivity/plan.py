"""The plan as a result: which sites can be joined, their final status, and :class:`Plan`,
the bundle of frames and figures the later stages and the outputs read.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from connectivity.coverage import Coverage
from connectivity.design.frames import joinable_sites
from connectivity.design.layout import PlanLayout
from connectivity.network import Network

log = logging.getLogger(__name__)


def reachable_terminals(net: Network, sites: gpd.GeoDataFrame) -> pd.Series:
    """Whether each attached site shares its road component with a site of its operator at another
    location: an operator's ducts join only its own sites, and co-located sites share a site node
    (:func:`connectivity.network.attach_sites`). The design's rule,
    :func:`connectivity.design.frames.joinable_sites` (without corridor anchors)."""
    return pd.Series(joinable_sites(net.nodes["component"].to_numpy(), sites), index=sites.index)


def connected_sites(sites: gpd.GeoDataFrame, reachable: pd.Series) -> gpd.GeoDataFrame:
    """Sites with ``connected`` and a final ``status``: ``connected``; ``too_far`` (from every
    road); ``one_location`` (every attached site of its operator, hub included, stands at this
    one location: nothing for a duct to join); ``unreachable`` (its operator's other locations
    lie on other road components)."""
    single = at_one_location(sites)
    status = np.where(reachable, "connected",
                      np.where(sites["status"] == "too_far", "too_far",
                               np.where(single, "one_location", "unreachable")))
    return sites.assign(connected=reachable.to_numpy(bool), status=status)


def at_one_location(sites: gpd.GeoDataFrame) -> np.ndarray:
    """Per site, whether it is attached and its operator's attached sites all share its node."""
    attached = sites["node_id"].notna().to_numpy()
    nodes = sites.loc[attached].groupby(sites.loc[attached, "operator"].astype(str))["node_id"].nunique()
    per_site = sites["operator"].astype(str).map(nodes).fillna(0).to_numpy()
    return attached & (per_site == 1)


@dataclass(frozen=True)
class Plan:
    """Everything a plan answers, in the network CRS (metres, THB).

    Attributes
    ----------
    name
        Scenario name.
    network
        The road network the plan was routed on, sites attached.
    ducts
        Duct segments (see :func:`connectivity.boq.duct_frame`).
    sites
        Every site with ``connected`` and ``status``.
    summary
        Plain figures (JSON-ready) for ``summary.json``.
    manholes
        Pull points (``manhole_id``, ``reason``, ``group``), see :func:`connectivity.boq.manhole_frame`.
    boq, allocation
        Bill of quantities (THB) and cost shares per operator and method (``boq.csv``, ``allocation.csv``).
    roads
        The network's road edges (context layer of the maps).
    buildings, poles, lines
        Input layers, projected (``None`` when the inputs have none).
    aerial, services
        Overhead spans and poles with ``removed`` (``aerial.geojson``) and the corridor mode's
        service connections (``services.geojson``); ``None`` when not made.
    operators
        Names of the scenario's operators, in the order of the operator file.
    coverage
        The :class:`connectivity.coverage.Coverage` of the plan (set by the coverage stage).
    layout
        The design stage's plan as arrays: its segments (the rows of ``ducts``) and manholes
        (the rows of ``manholes``), see :class:`connectivity.design.PlanLayout`.
    timings
        Wall-clock seconds of the run (``seconds``) and of its design stage (``design_seconds``),
        written to ``timings.json``, kept out of ``summary`` so that it is reproducible.
    """

    name: str
    network: Network
    ducts: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    summary: dict
    manholes: gpd.GeoDataFrame | None = None
    boq: pd.DataFrame | None = None
    allocation: pd.DataFrame | None = None
    roads: gpd.GeoDataFrame | None = None
    buildings: gpd.GeoDataFrame | None = None
    poles: gpd.GeoDataFrame | None = None
    lines: gpd.GeoDataFrame | None = None
    aerial: gpd.GeoDataFrame | None = None
    services: gpd.GeoDataFrame | None = None
    operators: tuple[str, ...] = ()
    coverage: Coverage | None = None
    layout: PlanLayout | None = None
    timings: dict = field(default_factory=dict)  # wall-clock seconds (timings.json): not reproducible

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """``boq`` and ``allocation`` where made, by name (``<name>.csv``)."""
        return {k: getattr(self, k) for k in ("boq", "allocation") if getattr(self, k) is not None}
