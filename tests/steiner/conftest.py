import pytest

from .helpers import DATA


@pytest.fixture(scope="session")
def steiner_data():
    """The shared benchmark folder; skips the test when it is absent."""
    if not (DATA / "instances.csv").is_file():
        pytest.skip(f"shared Steiner data not found at {DATA}")
    return DATA
