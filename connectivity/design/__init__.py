"""The design stage: the joint multi-operator duct network (a Steiner forest with a shared
trench), its coalitions and dig-once savings, lower bounds and exact small-instance plans.

Modules, one concern each (data flows down the list):

* :mod:`.manholes` - pull points of a group's network;
* :mod:`.layout` - the plan's segments and manholes as arrays (:func:`plan_layout`);
* :mod:`.problem` - :class:`DesignProblem`, the single trench-mode pricing, :func:`evaluate`;
* :mod:`.heuristic` - :func:`plan_joint` on the Steiner engine (:mod:`connectivity.steiner`);
* :mod:`.coalitions` - every coalition's plan, :func:`dig_once`;
* :mod:`.bounds` - :func:`certify`, the certified lower bound (and :func:`lower_bound`);
* :mod:`.milp` - :func:`solve_milp` (HiGHS, tens of edges), :func:`solve_cut_milp` (branch and cut,
  a few hundred edges);
* :mod:`.frames` - adapters from the scenario's frames and ``[design]`` table;
* :mod:`.instances` - random small instances for tests and benchmarks.
"""
from connectivity.design.bounds import (QUALITY_BOUND_EFFORT, Bound, best_bound, bounds_and_gaps, certify, certify_steps,
                                        gap_pct, lower_bound, plan_bounds, plan_gaps, relaxed_for_bounds,
                                        required_chambers, routing_bound)
from connectivity.design.coalitions import MAX_COALITION_PLAYERS, CoalitionTable, DigOnce, dig_once, plan_coalitions
from connectivity.design.frames import DesignSettings, build_problem, design_settings, terminals_by_operator
from connectivity.design.heuristic import Deadline, DesignOptions, plan_alone, plan_joint
from connectivity.design.instances import random_problem
from connectivity.design.layout import Manholes, PlanLayout, Segments, plan_layout, plan_manholes
from connectivity.design.milp import CutMilpResult, MilpResult, solve_cut_milp, solve_milp
from connectivity.design.problem import (GROUPS, DesignProblem, JointPlan, duct_metres, evaluate, group_presence,
                                         group_terminals, linear_cost, make_problem)

__all__ = ["GROUPS", "MAX_COALITION_PLAYERS", "QUALITY_BOUND_EFFORT", "Bound", "bounds_and_gaps", "certify", "certify_steps", "gap_pct", "plan_bounds", "plan_gaps", "relaxed_for_bounds", "required_chambers", "best_bound", "routing_bound", "CoalitionTable", "Deadline", "DesignOptions", "DesignProblem", "DesignSettings", "DigOnce",
           "JointPlan", "Manholes", "CutMilpResult", "MilpResult", "PlanLayout", "Segments", "plan_layout", "plan_manholes", "build_problem", "design_settings", "dig_once", "duct_metres", "evaluate",
           "group_presence", "group_terminals", "linear_cost", "lower_bound", "make_problem", "plan_alone",
           "plan_coalitions", "plan_joint", "random_problem", "solve_cut_milp", "solve_milp", "terminals_by_operator"]
