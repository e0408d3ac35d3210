"""Readers: every format variant of the benchmark folder, and malformed files."""

import csv

import numpy as np
import pytest

from connectivity.errors import InputDataError
from connectivity.steiner import SteinerInstance, read_instance


def _rows(data):
    return list(csv.DictReader(open(data / "instances.csv", newline="")))


@pytest.mark.parametrize("fmt", ["steinlib-stp", "pace2018-gr", "pace2018-gr+treedecomp"])
def test_reads_each_format_variant(steiner_data, fmt):
    rows = [r for r in _rows(steiner_data) if r["format"] == fmt]
    assert rows
    # the smallest two of each variant keep the test fast
    for r in sorted(rows, key=lambda r: int(r["bytes"]))[:2]:
        inst = read_instance(steiner_data / r["file"])
        assert isinstance(inst, SteinerInstance)
        assert inst.name == r["instance"]
        assert inst.n_nodes == int(r["nodes"])
        assert len(inst.edges_u) == len(inst.edges_v) == len(inst.weights) == int(r["edges"])
        assert len(inst.terminals) == int(r["terminals"])
        assert inst.edges_u.dtype == np.int64 and inst.terminals.dtype == np.int64
        assert inst.edges_u.min() >= 0 and max(inst.edges_u.max(), inst.edges_v.max()) < inst.n_nodes
        assert np.all(np.diff(inst.terminals) > 0)


def test_small_file_zero_based_and_case_insensitive(tmp_path):
    f = tmp_path / "tiny.stp"
    f.write_text(
        "33D32945 STP File, STP Format Version 1.0\n"
        "section comment\nName \"x\"\nend\n\n"
        "Section Graph\nnodes 3\nEDGES 2\ne 1 2 1.5\nE 2 3 2\nEnd\n"
        "SECTION Coordinates\nDD 1 0 0\nEND\n"
        "SECTION Terminals\nTERMINALS 2\nT 1\nt 3\nEND\nEOF\n"
    )
    inst = read_instance(f)
    assert inst.name == "tiny"
    assert inst.n_nodes == 3
    np.testing.assert_array_equal(inst.edges_u, [0, 1])
    np.testing.assert_array_equal(inst.edges_v, [1, 2])
    np.testing.assert_array_equal(inst.weights, [1.5, 2.0])
    np.testing.assert_array_equal(inst.terminals, [0, 2])


def test_tree_decomposition_section_skipped(tmp_path):
    f = tmp_path / "td.gr"
    f.write_text(
        "SECTION Graph\nNodes 2\nEdges 1\nE 1 2 4\nEND\n\n"
        "SECTION Terminals\nTerminals 2\nT 1\nT 2\nEND\n\n"
        "SECTION Tree Decomposition\ns td 1 2 2\nb 1 1 2\nEND\n\nEOF\n"
    )
    inst = read_instance(f)
    assert inst.n_nodes == 2 and len(inst.edges_u) == 1


GOOD_HEAD = "SECTION Graph\nNodes 3\nEdges 2\n"


@pytest.mark.parametrize(
    "text, line, words",
    [
        (GOOD_HEAD + "E 1 x 2\n", 4, "not an integer"),
        (GOOD_HEAD + "E 1 4 2\n", 4, "outside"),
        (GOOD_HEAD + "E 1 2 -1\n", 4, "non-negative"),
        (GOOD_HEAD + "E 1 2\n", 4, "expected"),
        (GOOD_HEAD + "E 1 2 1\nE 2 3 1\nE 1 3 1\nEND\n", 7, "declares 2 edges"),
        (GOOD_HEAD + "E 1 2 1\nE 2 3 1\n", 5, "missing END"),
        (GOOD_HEAD + "E 1 2 1\nE 2 3 1\nEND\nSECTION Terminals\nTerminals 1\nT 9\nEND\n", 9, "outside"),
        (GOOD_HEAD + "E 1 2 1\nE 2 3 1\nEND\nEOF\n", 7, "no 'SECTION Terminals'"),
        ("hello world\n", 1, "outside a section"),
        (GOOD_HEAD + "Q 1 2\n", 4, "unexpected line"),
    ],
)
def test_malformed_file_names_file_and_line(tmp_path, text, line, words):
    f = tmp_path / "bad.stp"
    f.write_text(text)
    with pytest.raises(InputDataError) as info:
        read_instance(f)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"{f}:{line}:"), msg
    assert words in msg


def test_missing_file(tmp_path):
    with pytest.raises(InputDataError, match="cannot read"):
        read_instance(tmp_path / "nope.gr")


def test_binary_file(tmp_path):
    f = tmp_path / "bin.gr"
    f.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(InputDataError, match="bin.gr:1"):
        read_instance(f)
