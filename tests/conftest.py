"""Shared test fixtures: paths to the committed fixtures and to the real data beside the repository."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
SHARED_DATA = REPO.parent / "shared" / "data"
SCENARIOS = REPO / "data" / "scenarios"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


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
