"""The dependency direction between packages (docs/architecture.md §7), read from the source.

A lower layer never imports a higher one at module level (the clocks know nothing of tickets,
the tickets nothing of referrals, callbacks or webhooks), and no ring of imports hides in
function bodies any more: what a lower domain needs from a higher one travels through
`hotline.signals`, the clocks' firing registry or the jobs' registry (issue 19).
"""

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hotline", "referrals")

# Below everything: the session, types, errors, the signals, units and users, Redis and the
# job helper (which knows the app factory, whose module level imports nothing of ours).
FOUNDATION = {
    "hotline", "hotline.extensions", "hotline.types", "hotline.errors", "hotline.signals",
    "hotline.parsing", "hotline.passwords", "hotline.units", "hotline.users", "hotline.redis",
    "hotline.tasks", "hotline.changelog", "hotline.rulebook", "hotline.error_messages",
    "hotline.shared_cache", "hotline.bulk",
}
# Above the tickets: what reacts to ticket changes, and the front doors.
ABOVE_TICKETS = (
    "referrals", "hotline.callbacks", "hotline.subscriptions", "hotline.receivers", "hotline.api",
    "hotline.console", "hotline.channels.sms", "hotline.channels.survey", "hotline.channels.status",
    "hotline.channels.webhooks", "hotline.failed_jobs", "hotline.worker", "hotline.cli",
)
# May import referrals beyond its models: the wiring and the front doors.
WIRING = ("hotline.receivers", "hotline.api", "hotline.console", "hotline.admin", "hotline.seed",
          "hotline.cli")
# Function-level imports left out of the ring check: the app factory and the CLI (lazy on
# purpose), blueprint registration, and the optional console seen from the Twilio webhooks.
LAZY_BY_DESIGN = {"hotline", "hotline.cli", "hotline.api", "hotline.channels.webhooks"}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _import_nodes(tree: ast.Module, *, in_functions: bool) -> list[ast.Import | ast.ImportFrom]:
    """Import statements run when the module is imported (and, if asked, those in functions);
    `if TYPE_CHECKING:` blocks never run."""
    found: list[ast.Import | ast.ImportFrom] = []

    def walk(nodes: list) -> None:
        for node in nodes:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if in_functions:
                    walk(node.body)
            elif isinstance(node, ast.Import | ast.ImportFrom):
                found.append(node)
            elif isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
                continue
            else:
                for field in ("body", "orelse", "finalbody", "handlers"):
                    children = getattr(node, field, None)
                    if isinstance(children, list):
                        walk(children)

    walk(tree.body)
    return found


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    """Our modules an import statement loads (`from a import b` is module a.b when it exists)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        assert not node.level, f"{module}: a relative import (the project writes absolute ones)"
        base = node.module or ""
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                 for alias in node.names]
    targets = set()
    for name in names:
        while name not in MODULES and "." in name:
            name = name.rsplit(".", 1)[0]
        if name in MODULES and name != module:
            targets.add(name)
    return targets


@functools.cache
def _graph(*, in_functions: bool) -> dict[str, set[str]]:
    graph = {}
    for module, path in MODULES.items():
        deep = in_functions and module not in LAZY_BY_DESIGN
        nodes = _import_nodes(ast.parse(path.read_text(encoding="utf-8")), in_functions=deep)
        graph[module] = set().union(*(_targets(module, node) for node in nodes)) if nodes else set()
    return graph


def _rings(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    rings: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in graph[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            ring = set()
            while True:
                member = stack.pop()
                ring.add(member)
                if member == module:
                    break
            if len(ring) > 1:
                rings.append(ring)

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return rings


def _within(module: str, prefixes) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def _offences(rule) -> list[str]:
    graph = _graph(in_functions=False)
    return sorted(f"{module} imports {target}" for module, targets in graph.items()
                  for target in targets if rule(module, target))


def test_the_scan_sees_the_imports_it_checks():
    graph = _graph(in_functions=False)
    assert "hotline.clocks.models" in graph["hotline.clocks.service"]
    assert "hotline.tickets.events" in graph["referrals.service"]
    assert "referrals.service" in graph["hotline.receivers"]


def test_the_clocks_import_nothing_above_them():
    assert _offences(lambda module, target: _within(module, ["hotline.clocks"])
                     and not _within(target, ["hotline.clocks"]) and target not in FOUNDATION) == []


def test_the_foundation_imports_only_the_foundation():
    assert _offences(lambda module, target: module in FOUNDATION and target not in FOUNDATION) == []


def test_the_tickets_import_nothing_that_reacts_to_them():
    assert _offences(lambda module, target: _within(module, ["hotline.tickets"])
                     and _within(target, ABOVE_TICKETS)) == []


def test_hotline_reads_only_the_models_of_referrals_outside_the_wiring():
    assert _offences(lambda module, target: _within(module, ["hotline"]) and not _within(module, WIRING)
                     and _within(target, ["referrals"]) and target != "referrals.models") == []


def test_no_ring_of_imports_even_in_function_bodies_outside_the_console():
    """The console's views and page modules still import each other (being split by concern)."""
    rings = [ring for ring in _rings(_graph(in_functions=True))
             if not all(_within(module, ["hotline.console"]) for module in ring)]
    assert rings == []
