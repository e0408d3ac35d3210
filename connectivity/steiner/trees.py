"""Small operations on trees given as edge sets: clean (MST + leaf pruning), connectivity.

The design stage keeps its trees as edge ids of a large road graph; these helpers work on
the few edges of a tree, relabelled to local node ids, so their cost does not grow with
the graph.
"""
from __future__ import annotations

import numpy as np

from connectivity.steiner.graph import component_labels
from connectivity.steiner.heuristics import mst_prune


def _local(u: np.ndarray, v: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Relabel the end nodes of ``edges`` to 0..k-1; returns (global node ids, local u, local v)."""
    nodes, inv = np.unique(np.concatenate([u[edges], v[edges]]), return_inverse=True)
    return nodes, inv[:len(edges)].astype(np.int64), inv[len(edges):].astype(np.int64)


def clean_tree(u: np.ndarray, v: np.ndarray, weights: np.ndarray, edges, terminals) -> np.ndarray:
    """A minimum spanning forest of ``edges`` (lightest first, ties by id) with every
    non-terminal leaf pruned, repeatedly.

    Parameters
    ----------
    u, v, weights
        End nodes and weights of all edges of the graph.
    edges
        Edge ids of the subgraph to clean (duplicates ignored).
    terminals
        Node ids that must stay (never pruned).

    Returns
    -------
    numpy.ndarray
        Sorted int64 edge ids; a tree per connected part of ``edges`` that holds a terminal.
    """
    edges = np.unique(np.asarray(edges, dtype=np.int64))
    if len(edges) == 0:
        return edges
    nodes, lu, lv = _local(u, v, edges)
    is_term = np.isin(nodes, np.asarray(terminals, dtype=np.int64))
    order = np.lexsort((edges, np.asarray(weights, dtype=float)[edges])).astype(np.int64)
    keep = mst_prune(len(nodes), lu, lv, order, is_term, np.ones(len(nodes), np.bool_))
    return edges[keep]


def connects(u: np.ndarray, v: np.ndarray, edges, terminals) -> bool:
    """Whether the subgraph of ``edges`` joins all ``terminals`` (node ids) in one component."""
    terms = np.unique(np.asarray(terminals, dtype=np.int64))
    if len(terms) < 2:
        return True
    edges = np.unique(np.asarray(edges, dtype=np.int64))
    if len(edges) == 0:
        return False
    nodes, lu, lv = _local(u, v, edges)
    pos = np.searchsorted(nodes, terms)
    if np.any(pos >= len(nodes)) or np.any(nodes[np.minimum(pos, len(nodes) - 1)] != terms):
        return False
    label = component_labels(len(nodes), lu, lv)
    return bool(np.all(label[pos] == label[pos[0]]))
