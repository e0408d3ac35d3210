"""Execute the Chiang Mai walkthrough notebook and check what it shows."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "chiang_mai_walkthrough.ipynb"


@pytest.mark.slow
def test_walkthrough_runs_and_shows_results(shared_data, monkeypatch, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")

    # the kernel must import this checkout's package (not another editable install)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=600,
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()

    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("outputs") for c in code), "every code cell shows something"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert errors == []

    def text(cell):
        parts = []
        for o in cell.outputs:
            if o.output_type == "stream":
                parts.append(o.text)
            elif "data" in o:
                parts.append(o.data.get("text/html", "") + o.data.get("text/plain", ""))
        return "\n".join(parts)

    everything = "\n".join(text(c) for c in code)
    assert "Chiang Mai" in everything
    assert "sites connected:" in everything and "buildings passed:" in everything
    # both maps are displayed inline as self-contained Leaflet pages
    map_cells = [text(c) for c in code if "maps.cost_map(" in c.source or "maps.coverage_map(" in c.source]
    assert len(map_cells) == 2
    for html in map_cells:
        assert "Leaflet" in html and "connectivity-data-ducts" in html
        assert "cdn.jsdelivr.net" not in html
    assert (ROOT / "maps" / "chiang_mai" / "cost_map.html").is_file()
