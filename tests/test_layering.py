"""Dependencies point one way: a room imports the domain and the layer right below its own;
every other edge is listed in SKIPS with its reason, so no layer is skipped silently."""

from __future__ import annotations

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).parent.parent / "jobdeck"

#: The layers, lowest first, and the rooms (top-level modules and packages of jobdeck) in each.
LAYERS: list[set[str]] = [
    {"model", "errors", "settings", "query", "csvsafe"},  # the domain: every room may use it
    {"store", "files"},
    {"access", "passwords", "accounts", "identity"},
    {"runner"},
    {"imports"},
    {"wiring", "metrics", "service", "previewing", "operations", "bulk", "importing"},
    {"views"},
    {"web", "cli", "demo"},
]
DOMAIN = LAYERS[0]
LAYER = {room: i for i, rooms in enumerate(LAYERS) for room in rooms}

#: Every edge between rooms that is not to the domain or to the layer right below, and why it is needed.
SKIPS: dict[tuple[str, str], str] = {
    ("files", "store"): "within the layer: database file storage keeps its blobs in a store table",
    ("runner", "store"): "the worker claims jobs and records their outcome in the ledger",
    ("runner", "files"): "a running job reads and writes its files",
    ("imports", "store"): "an import writes rows into its target's tables",
    ("imports", "files"): "an import reads its input file and writes its error report",
    ("metrics", "store"): "/metrics reads the ledger's counts at scrape time",
    ("wiring", "metrics"): "within the layer: the wiring points the metrics at its database",
    ("wiring", "runner"): "the wiring holds the job types and builds the workers",
    ("wiring", "store"): "the wiring opens the database and migrates its schema",
    ("wiring", "files"): "the wiring opens the file store",
    ("service", "wiring"): "within the layer: the service works over one process's wiring",
    ("previewing", "service"): "within the layer: a preview checks the caller and the target as an import does",
    ("previewing", "imports"): "a preview reads the head of an upload with the import's readers",
    ("metrics", "runner"): "every registered job type gets its zero samples, and the workers' counters live there",
    ("web", "previewing"): "POST /api/v1/imports/preview is a service call",
    ("bulk", "service"): "within the layer: a bulk action is the single action, job by job",
    ("bulk", "access"): "a bulk action lists, counts and skips by the visibility rule",
    ("bulk", "store"): "the count of a listing is a store query",
    ("web", "bulk"): "the bulk actions and the export are service calls",
    ("cli", "bulk"): "`jobdeck jobs cancel --all`, `retry --all` and `export` are service calls",
    ("cli", "previewing"): "`jobdeck import --preview` is a service call",
    ("service", "runner"): "the service starts jobs of registered job types",
    ("service", "access"): "the service checks every read and action against the visibility rule",
    ("accounts", "passwords"): "within the layer: accounts hash and verify passwords",
    ("service", "accounts"): "the service hands its callers the accounts of its database",
    ("service", "store"): "the service reads and writes the ledger for every room above it",
    ("service", "files"): "the service stores uploads and streams job files",
    ("service", "importing"): "within the layer: Service.start_import and previous_mapping live in importing.py",
    ("importing", "service"): "within the layer: an import is queued as the service queues any job",
    ("importing", "store"): "the mapping offered again is read from the user's earlier import jobs",
    ("web", "service"): "every route is a service call",
    ("web", "access"): "a page shows only the buttons its reader may use",
    ("web", "accounts"): "signing in, sessions and tokens are the accounts' operations",
    ("web", "runner"): "the web process runs its embedded workers",
    ("web", "files"): "a download's name is cleaned by the same rule as an upload's",
    ("identity", "accounts"): "within the layer: a vouched-for user is named and started like any account",
    ("web", "identity"): "OpenID and proxy sign-ins turn what the provider says into a jobdeck user",
    ("cli", "web"): "within the layer: `jobdeck serve` serves the web application",
    ("cli", "service"): "every command is a service call",
    ("cli", "wiring"): "`jobdeck db` migrates the schema through the wiring",
    ("cli", "runner"): "`jobdeck worker` and `jobdeck import` run workers",
    ("demo", "service"): "the demo seeds its history through the service",
    ("demo", "runner"): "the demo registers job types",
    ("demo", "imports"): "the demo registers an import target",
    ("operations", "wiring"): "within the layer: the operator's view works over one process's wiring",
    ("operations", "store"): "the operator's view reads the workers and queues and pauses queues in the ledger",
    ("operations", "access"): "only admins may see workers and queues or pause them",
    ("web", "operations"): "the Workers and Queues pages and API are service calls",
    ("cli", "operations"): "`jobdeck queues` and `jobdeck workers` are service calls",
}
#: Rooms no edge may reach from these rooms, whatever SKIPS says.
SEALED: dict[str, set[str]] = {"web": {"store"}, "cli": {"store"}}
#: Module-level edges allowed for now, until the code that needs them moves.
TEMPORARY: dict[tuple[str, str], str] = {}


def room_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "jobdeck" or len(parts) < 2 or parts[1].startswith("_"):
        return None
    return parts[1]


def imports_of(path: pathlib.Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.extend(f"{node.module}.{alias.name}" for alias in node.names)  # a module or a name in one
    return found


def temporary(module: str, imported: str) -> bool:
    return any(module == m and (imported == i or imported.startswith(f"{i}.")) for m, i in TEMPORARY)


def edges() -> list[tuple[str, str]]:
    """(importing module, imported module) for every import from one room into another."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        module = "jobdeck." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        own = room_of(module)
        for imported in imports_of(path):
            target = room_of(imported)
            if own is not None and target is not None and target != own:
                found.append((module, imported))
    return found


def test_every_top_level_module_has_a_layer() -> None:
    names = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir() if not p.name.startswith("_")}
    names -= {"__pycache__", "py"}
    assert names <= set(LAYER), f"give these a layer in LAYERS: {sorted(names - set(LAYER))}"


def test_a_room_imports_only_the_domain_the_layer_below_and_the_listed_skips() -> None:
    wrong = []
    for module, imported in edges():
        own, target = room_of(module), room_of(imported)
        assert own is not None and target is not None
        below = LAYER[target] == LAYER[own] - 1
        if target in DOMAIN or below or (own, target) in SKIPS or temporary(module, imported):
            continue
        wrong.append(f"{module} imports {imported}")
    assert wrong == []


def test_every_listed_skip_points_down_or_across_and_is_still_needed() -> None:
    used = {(room_of(m), room_of(i)) for m, i in edges()}
    assert [edge for edge in SKIPS if LAYER[edge[1]] > LAYER[edge[0]]] == []
    assert [edge for edge in SKIPS if edge not in used] == []
    for module, imported in TEMPORARY:
        assert any(m == module and (i == imported or i.startswith(f"{imported}.")) for m, i in edges())


def test_the_web_and_the_cli_never_reach_the_store() -> None:
    wrong = [
        f"{m} imports {i}"
        for m, i in edges()
        if room_of(i) in SEALED.get(room_of(m) or "", set()) and not temporary(m, i)
    ]
    assert wrong == []
    assert [edge for edge in SKIPS if edge[1] in SEALED.get(edge[0], set())] == []


def test_nothing_imports_the_demo() -> None:
    """The demo is loaded by name (JOBDECK_JOB_MODULES, `jobdeck serve --demo`), never imported."""
    assert [f"{m} imports {i}" for m, i in edges() if room_of(i) == "demo"] == []


def test_the_runner_reaches_the_database_only_through_the_store() -> None:
    """Transactions, held connections and transient errors are the store's: the runner sees jobdeck's errors."""
    wrong = [
        f"{path.relative_to(PACKAGE)} imports {imported}"
        for path in (PACKAGE / "runner").rglob("*.py")
        for imported in imports_of(path)
        if imported.split(".")[0] == "sqlalchemy"
    ]
    assert wrong == []
