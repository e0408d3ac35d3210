"""Shared test fixtures: paths to the committed fixtures and to the real data beside the repository."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
SHARED_DATA = REPO.parent / "shared" / "data"
SCENARIOS = REPO / "data" / "scenarios"


def small_joint_plan():
    """A small joint plan with its BoQ rows: a square with a bridge and a primary road; TOT and
    PEA share, CAT alone on a branch. Returns ``(model, problem, plan, rows)`` (default cost model)."""
    from connectivity.boq import bill_of_quantities
    from connectivity.config import OperatorSpec
    from connectivity.costs import edge_costs, load_cost_model, make_edge_table
    from connectivity.design import build_problem, plan_joint

    model = load_cost_model()
    u = [0, 1, 2, 3, 1, 4]
    v = [1, 2, 3, 0, 4, 5]
    table = make_edge_table(u, v, [120, 200, 80, 150, 60, 400],
                            highway=["residential", "primary", "service", "residential", "lead_in", "tertiary"],
                            surface=["asphalt"] * 6, bridge=[False, False, True, False, False, False])
    costs = edge_costs(model, table)
    ops = [OperatorSpec("TOT", "telecom", ducts=2, duct_diameter_mm=100),
           OperatorSpec("CAT", "telecom", ducts=2, duct_diameter_mm=100),
           OperatorSpec("PEA", "power", ducts=4, duct_diameter_mm=125)]
    p = build_problem(model, table, costs, n_nodes=6, operators=ops,
                      terminals={"TOT": [0, 2], "CAT": [0, 5], "PEA": [0, 2, 4]})
    plan = plan_joint(p)
    rows = bill_of_quantities(p, plan, costs, model, highway=table.highway, diameters_mm=[100, 100, 125])
    return model, p, plan, rows


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def web_server_address():
    """``tcp://127.0.0.1:PORT`` of a server answering every connection as a web server does
    (``HTTP/1.1 400 Bad Request``): a ``--scheduler`` given the dashboard's port, say."""
    import socketserver
    import threading

    class Answer(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.recv(1024)
            self.request.sendall(b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")

    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Answer) as server:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield f"tcp://127.0.0.1:{server.server_address[1]}"
        server.shutdown()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside the repository")
    return SHARED_DATA


#: Test files that run whole plans on the real data or drive subprocesses, a browser, a Dask
#: cluster, a wheel build or the internet: marked ``slow`` here (and every test reading the real
#: data through ``shared_data``), so that ``pytest -m "not slow"`` is the quick loop while
#: changing code; CI (``.ci/run``) runs everything but the ``network`` tests.
SLOW_FILES = {
    "test_areas.py", "test_atomic.py", "test_browser.py", "test_cli.py", "test_corridors.py",
    "test_determinism.py", "test_integration.py", "test_notebook.py", "test_package.py",
    "test_properties.py", "test_robustness.py", "test_towns.py", "steiner/test_cli.py", "test_online.py",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        try:
            rel = Path(str(item.fspath)).resolve().relative_to(REPO / "tests").as_posix()
        except ValueError:
            continue
        if rel in SLOW_FILES or "shared_data" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
