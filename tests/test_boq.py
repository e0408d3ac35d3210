"""Manholes and bill of quantities."""
from __future__ import annotations

import numpy as np
import pytest

from connectivity.boq import place_manholes, plan_manholes
from conftest import small_joint_plan


def test_manholes_sites_junctions_and_spacing():
    # star: centre 0 with arms to 1 (100 m), 2 (300 m), 3 (50 m); sites at 1, 2, 3
    u, v, L = [0, 0, 0], [1, 2, 3], [100.0, 300.0, 50.0]
    lay = place_manholes(u, v, L, np.ones(3, bool), [1, 2, 3], spacing_m=140.0)
    assert dict(zip(lay.node_id.tolist(), lay.node_reason.tolist())) == {0: "junction", 1: "site", 2: "site", 3: "site"}
    # only the 300 m arm needs pull points in between: ceil(300/140) - 1 = 2, evenly spaced
    assert lay.spacing_edge.tolist() == [1, 1]
    np.testing.assert_allclose(sorted(lay.spacing_offset_m), [100.0, 200.0])
    assert lay.count == 6


def test_spacing_runs_through_degree_two_nodes_and_orientation():
    # path 0-1-2-3 with edge 1 stored reversed (u=2, v=1); 3 x 100 m = 300 m -> 2 spacing manholes
    lay = place_manholes([0, 2, 2], [1, 1, 3], [100.0] * 3, np.ones(3, bool), [0, 3], spacing_m=140.0)
    assert lay.node_id.tolist() == [0, 3]
    pos = {0: 0.0, 1: 100.0, 2: 200.0}   # run position of each edge's start
    along = []
    for e, off in zip(lay.spacing_edge.tolist(), lay.spacing_offset_m.tolist()):
        along.append(pos[e] + (off if e != 1 else 100.0 - off))
    np.testing.assert_allclose(sorted(along), [100.0, 200.0])


def test_boq_total_equals_plan_total():
    model, p, plan, rows = small_joint_plan()
    total = sum(r["cost_thb"] for r in rows)
    assert total == pytest.approx(plan.cost * model.contingency_factor, abs=0.01)
    cats = {r["category"] for r in rows}
    assert {"trench", "duct", "manhole", "contingency"} <= cats
    ducts = {r["operator"]: r for r in rows if r["category"] == "duct"}
    assert set(ducts) == {"TOT", "CAT", "PEA"}
    assert ducts["PEA"]["unit_cost_thb"] == pytest.approx(model.duct_price(125))  # per duct-metre
    for r in rows:
        if r["category"] != "contingency":
            assert r["quantity"] * r["unit_cost_thb"] == pytest.approx(r["cost_thb"])
    mh = plan_manholes(p, plan)
    assert sum(r["quantity"] for r in rows if r["category"] == "manhole") == mh["telecom"].count + mh["power"].count


def test_plan_layout_holds_the_plan_cost_and_places_every_manhole():
    from connectivity.design import plan_layout

    model, p, plan, rows = small_joint_plan()
    layout = plan_layout(p, plan)
    seg, mh = layout.segments, layout.manholes
    f = model.contingency_factor
    assert seg.edge.tolist() == np.flatnonzero(plan.use.any(axis=0)).tolist()
    assert np.array_equal(seg.use, plan.use[:, seg.edge])
    # segments (trench and ducts) and manholes add up to the plan's cost with contingency
    assert seg.cost_thb.sum() + mh.cost_thb.sum() == pytest.approx(plan.cost * f, abs=0.01)
    layouts = plan_manholes(p, plan)
    assert len(mh) == sum(lay.count for lay in layouts.values())
    inside = mh.segment >= 0
    assert (mh.node[inside] == -1).all() and (mh.node[~inside] >= 0).all()
    spacing = np.concatenate([lay.spacing_edge for lay in layouts.values()])
    assert seg.edge[mh.segment[inside]].tolist() == spacing.tolist()
    # a node manhole sits where a segment of its group's ducts ends, and names those operators
    for i in np.flatnonzero(~inside):
        at = (seg.u == mh.node[i]) | (seg.v == mh.node[i])
        group = np.array([k == mh.group[i] for k in p.kinds])
        assert np.array_equal(mh.use[i], (seg.use[:, at] & group[:, None]).any(axis=1))
