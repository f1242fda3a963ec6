"""Dependencies point one way (DESIGN.md §1): a module never imports from a layer above its own."""

from __future__ import annotations

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).parent.parent / "jobdeck"

#: Lower number = lower layer. A module may import its own layer or below, never above.
LAYERS = {
    "model": 0,
    "errors": 0,
    "settings": 0,
    "store": 1,
    "files": 1,
    "access": 2,
    "passwords": 2,
    "runner": 3,
    "imports": 4,
    "service": 5,
    "metrics": 5,
    "retention": 5,
    "views": 6,
    "web": 7,
    "cli": 8,
    "demo": 8,
}


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "jobdeck" or len(parts) < 2:
        return None
    return LAYERS.get(parts[1])


def imports_of(path: pathlib.Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found.extend(f"{node.module}.{alias.name}" for alias in node.names if node.module == "jobdeck")
    return found


def test_every_top_level_module_has_a_layer() -> None:
    names = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir() if not p.name.startswith("_")}
    names -= {"__pycache__", "py"}
    assert names <= set(LAYERS), f"give these a layer in LAYERS: {sorted(names - set(LAYERS))}"


def test_no_module_imports_from_a_higher_layer() -> None:
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        module = "jobdeck." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        own = layer_of(module)
        if own is None:
            continue
        for imported in imports_of(path):
            target = layer_of(imported)
            if target is not None and target > own and not (module.startswith("jobdeck.cli") and target == 7):
                wrong.append(f"{module} imports {imported}")
    assert wrong == []


def test_the_runner_reaches_the_database_only_through_the_store() -> None:
    """Transactions, held connections and transient errors are the store's: the runner sees jobdeck's errors."""
    wrong = [
        f"{path.relative_to(PACKAGE)} imports {imported}"
        for path in (PACKAGE / "runner").rglob("*.py")
        for imported in imports_of(path)
        if imported.split(".")[0] == "sqlalchemy"
    ]
    assert wrong == []
