"""The import contract: data flows one way through the package.

Every module of ``connectivity`` sits in a layer; a module may import only from lower
layers (and from inside its own subpackage). ``steiner`` stays usable without the
geo stack. ARCHITECTURE.md draws the same picture; a new module gets a layer here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "connectivity"

# Lower number = further upstream.  Same layer may not import each other.
LAYERS: dict[str, int] = {
    "errors": 0,
    "atomic": 0,
    "config": 1,
    "outdir": 1,
    "steiner": 2,
    "load": 3,
    "records": 4,
    "network": 4,
    "sites": 4,
    "costs": 4,
    "aerial": 4,
    "coverage": 4,
    "design": 5,
    "corridors": 5,
    "boq": 6,
    "allocate": 6,
    "plan": 6,
    "phasing": 7,
    "output": 8,
    "economics": 9,
    "export": 9,
    "maps": 9,
    "report": 10,
    "pipeline": 11,
    "areas": 12,
    "cli": 13,
    "__main__": 14,   # python -m connectivity: the command line
}
# The package root re-exports the public API; it is not a stage.
ROOT_EXEMPT = {"__init__"}
GEO_STACK = {"geopandas", "pandas", "shapely", "pyproj", "pyogrio", "osmnx", "folium"}


def _unit(module: str) -> str:
    """Top-level unit of a dotted module name inside the package ('design.problem' -> 'design')."""
    return module.split(".")[0]


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        if rel.parts[0] == "data":   # package data (e.g. an example's generator script), not a module
            continue
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append((".".join(parts) or "__init__", path))
    return out


def _imports(module: str, path: Path) -> list[tuple[str, int]]:
    """Package-internal modules imported by ``path`` (dotted, without 'connectivity.'), with line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package_parts = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("connectivity."):
                    found.append((alias.name.removeprefix("connectivity."), node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            elif node.module == "connectivity":
                for alias in node.names:
                    found.append((alias.name, node.lineno))
                continue
            elif node.module and node.module.startswith("connectivity."):
                name = node.module.removeprefix("connectivity.")
            else:
                continue
            if name:
                found.append((name, node.lineno))
    return found


def _third_party(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_every_module_has_a_layer():
    units = {_unit(m) for m, _ in _modules()} - ROOT_EXEMPT
    missing = sorted(units - LAYERS.keys())
    assert not missing, f"give these modules a layer in tests/test_architecture.py: {missing}"


@pytest.mark.parametrize("module,path", _modules(), ids=[m for m, _ in _modules()])
def test_no_module_imports_a_later_stage(module, path):
    unit = _unit(module)
    if unit in ROOT_EXEMPT:
        return
    bad = []
    for target, line in _imports(module, path):
        other = _unit(target)
        if other == unit or other not in LAYERS:
            continue
        if LAYERS[other] >= LAYERS[unit]:
            bad.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target} (layer {LAYERS[other]} >= {LAYERS[unit]})")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize(
    "path", sorted((PACKAGE / "steiner").glob("*.py")), ids=lambda p: p.name
)
def test_steiner_engine_needs_no_geo_stack(path):
    assert not (_third_party(path) & GEO_STACK), f"{path.name} imports the geo stack"


def test_the_contract_catches_a_backward_import(tmp_path):
    """The checker itself: a stage importing a later one is found."""
    fake = tmp_path / "network.py"
    fake.write_text("from connectivity.maps import draw\nimport connectivity.pipeline\n")
    targets = [t for t, _ in _imports("network", fake)]
    assert targets == ["maps", "pipeline"]
    assert all(LAYERS[_unit(t)] > LAYERS["network"] for t in targets)
