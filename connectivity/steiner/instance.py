"""Readers for Steiner tree instance files (SteinLib ``.stp`` and PACE 2018 ``.gr``).

Both formats share the SteinLib section syntax::

    SECTION Graph
    Nodes 4
    Edges 3
    E 1 2 5
    ...
    END
    SECTION Terminals
    Terminals 2
    T 1
    ...
    END
    EOF

Keywords are matched case-insensitively, node ids in the file are 1-based and
are converted to 0-based ids. Sections other than ``Graph`` and ``Terminals``
(``Comment``, ``Coordinates``, PACE track-2 ``Tree Decomposition``, ...) are
skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from connectivity.errors import InputDataError

logger = logging.getLogger(__name__)

_MAGIC = "33D32945"
MAX_NODES = 100_000_000  # far above SteinLib and PACE instances; node arrays must fit int64 and memory
BYTES_PER_NODE = 200  # what the solver keeps per node (CSR, labels, distances, ...), a generous estimate
MAX_WEIGHT_TOTAL = 1e300  # sums of weights (paths, trees, bounds) stay finite below this


def _memory_bytes() -> int | None:
    try:
        import os
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


@dataclass(frozen=True)
class SteinerInstance:
    """A Steiner tree problem in an undirected graph.

    Attributes
    ----------
    name : str
        Instance name (file name without suffix).
    n_nodes : int
        Number of nodes; node ids are ``0 .. n_nodes - 1``.
    edges_u, edges_v : numpy.ndarray
        int64 end nodes of each edge.
    weights : numpy.ndarray
        float64 non-negative edge weights (same unit as the file, unitless).
    terminals : numpy.ndarray
        int64 terminal node ids (sorted, unique).
    """

    name: str
    n_nodes: int
    edges_u: np.ndarray
    edges_v: np.ndarray
    weights: np.ndarray
    terminals: np.ndarray


class _Parser:
    """Line-oriented state machine; raises InputDataError naming file and line."""

    def __init__(self, path: Path):
        self.path = path
        self.lineno = 0
        self.n_nodes: int | None = None
        self.n_edges: int | None = None
        self.n_terms: int | None = None
        self.eu: list[int] = []
        self.ev: list[int] = []
        self.ew: list[float] = []
        self.terms: list[int] = []
        self.seen_graph = False
        self.seen_terms = False

    def fail(self, msg: str) -> InputDataError:
        return InputDataError(f"{self.path}:{self.lineno}: {msg}")

    def node(self, token: str) -> int:
        try:
            v = int(token)
        except ValueError:
            raise self.fail(f"node id {token!r} is not an integer") from None
        if self.n_nodes is None:
            raise self.fail("node referenced before 'Nodes' line")
        if not 1 <= v <= self.n_nodes:
            raise self.fail(f"node id {v} outside 1..{self.n_nodes}")
        return v - 1

    def count(self, parts: list[str]) -> int:
        if len(parts) != 2:
            raise self.fail(f"expected '{parts[0]} <count>'")
        try:
            c = int(parts[1])
        except ValueError:
            raise self.fail(f"count {parts[1]!r} is not an integer") from None
        if c < 0:
            raise self.fail(f"negative count {c}")
        return c

    def graph_line(self, parts: list[str]) -> None:
        key = parts[0].lower()
        if key == "nodes":
            n = self.count(parts)
            if n > MAX_NODES:
                raise self.fail(f"Nodes {n} is too large (at most {MAX_NODES:,} nodes)")
            memory = _memory_bytes()
            if memory is not None and n * BYTES_PER_NODE > memory:
                raise self.fail(f"Nodes {n} does not fit in memory ({memory / 2**30:.1f} GiB; "
                                f"about {BYTES_PER_NODE} bytes per node)")
            self.n_nodes = n
        elif key == "edges" or key == "arcs":
            self.n_edges = self.count(parts)
        elif key == "e":
            if len(parts) != 4:
                raise self.fail("expected 'E <u> <v> <weight>'")
            u, v = self.node(parts[1]), self.node(parts[2])
            try:
                w = float(parts[3])
            except ValueError:
                raise self.fail(f"edge weight {parts[3]!r} is not a number") from None
            if not (w >= 0.0 and np.isfinite(w)):
                raise self.fail(f"edge weight {parts[3]!r} must be finite and non-negative")
            self.eu.append(u)
            self.ev.append(v)
            self.ew.append(w)
        else:
            raise self.fail(f"unexpected line in Graph section: {parts[0]!r}")

    def terminal_line(self, parts: list[str]) -> None:
        key = parts[0].lower()
        if key == "terminals":
            self.n_terms = self.count(parts)
        elif key == "t":
            if len(parts) != 2:
                raise self.fail("expected 'T <node>'")
            self.terms.append(self.node(parts[1]))
        elif key in ("root", "rootp", "tp"):
            return
        else:
            raise self.fail(f"unexpected line in Terminals section: {parts[0]!r}")

    def run(self, lines) -> None:
        section: str | None = None
        ended = False
        for raw in lines:
            self.lineno += 1
            parts = raw.split()
            if not parts or ended:
                continue
            head = parts[0].lower()
            if self.lineno == 1 and parts[0].upper() == _MAGIC:
                continue
            if section is None:
                if head == "section":
                    if len(parts) < 2:
                        raise self.fail("'SECTION' without a name")
                    section = " ".join(parts[1:]).lower()
                    if section == "graph":
                        self.seen_graph = True
                    elif section == "terminals":
                        self.seen_terms = True
                elif head == "eof":
                    ended = True
                else:
                    raise self.fail(f"unexpected line outside a section: {raw.strip()[:40]!r}")
            elif head == "end":
                if section == "graph" and self.n_edges is not None and len(self.eu) != self.n_edges:
                    raise self.fail(f"Graph section declares {self.n_edges} edges but lists {len(self.eu)}")
                if section == "terminals" and self.n_terms is not None and len(self.terms) != self.n_terms:
                    raise self.fail(f"Terminals section declares {self.n_terms} terminals but lists {len(self.terms)}")
                section = None
            elif section == "graph":
                self.graph_line(parts)
            elif section == "terminals":
                self.terminal_line(parts)
            # any other section: skipped
        if section is not None:
            raise self.fail(f"file ends inside section {section!r} (missing END)")
        if not self.seen_graph or self.n_nodes is None:
            raise self.fail("no 'SECTION Graph' with a 'Nodes' line")
        if not self.seen_terms:
            raise self.fail("no 'SECTION Terminals'")


def read_instance(path: str | Path) -> SteinerInstance:
    """Read a SteinLib ``.stp`` or PACE 2018 ``.gr`` file.

    Parameters
    ----------
    path : str or pathlib.Path
        File to read.

    Returns
    -------
    SteinerInstance
        Graph with 0-based node ids.

    Raises
    ------
    InputDataError
        If the file cannot be read or is malformed; the message names the
        file and the line number.
    """
    path = Path(path)
    parser = _Parser(path)
    try:
        with open(path, encoding="utf-8", errors="strict") as fh:
            parser.run(fh)
    except OSError as exc:
        raise InputDataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputDataError(f"{path}:{parser.lineno + 1}: not a text file (bad UTF-8)") from None
    terms = np.unique(np.asarray(parser.terms, dtype=np.int64))
    weights = np.asarray(parser.ew, dtype=np.float64)
    with np.errstate(over="ignore"):
        total = float(np.sum(weights)) if len(weights) else 0.0
    if not total <= MAX_WEIGHT_TOTAL:
        raise InputDataError(f"{path}: edge weights too large: their sum ({total:g}) exceeds {MAX_WEIGHT_TOTAL:g}, "
                             "so tree costs would overflow; scale the weights down")
    logger.debug("read %s: %d nodes, %d edges, %d terminals", path, parser.n_nodes, len(parser.eu), len(terms))
    return SteinerInstance(
        name=path.stem,
        n_nodes=int(parser.n_nodes),
        edges_u=np.asarray(parser.eu, dtype=np.int64),
        edges_v=np.asarray(parser.ev, dtype=np.int64),
        weights=weights,
        terminals=terms,
    )


def check_connected(inst: SteinerInstance, path: str | Path) -> None:
    """Raise :class:`InfeasibleError` naming ``path`` (ids 1-based, as in the file) when the
    terminals of ``inst`` are not all in one connected component."""
    from connectivity.errors import InfeasibleError

    if len(inst.terminals) < 2:
        return
    from connectivity.steiner.graph import component_labels

    label = component_labels(inst.n_nodes, inst.edges_u, inst.edges_v)
    first = label[inst.terminals[0]]
    for t in inst.terminals[1:].tolist():
        if label[t] != first:
            raise InfeasibleError(f"{path}: terminals are not all connected: terminal {t + 1} is not in the "
                                  f"component of terminal {int(inst.terminals[0]) + 1} (node ids as in the file)")
