"""Seam figures of issue 19: function-level imports, largest files, long functions.

Run from the checkout: `python -m bench.seams` (or `make seams`). Only reads source files
(the standard library's `ast`), so it needs no database and gives the same figures anywhere.

Function-level imports are import statements inside a function body. Those in the app
factory (`hotline/__init__.py`, blueprint and model registration) and in the CLI commands
(`hotline/cli.py`, imported lazily so `hotline --help` stays fast) are counted apart, as the
issue does.
"""

import ast
import sys
from pathlib import Path

PACKAGES = ("hotline", "referrals")
EXEMPT = {"hotline/__init__.py", "hotline/cli.py"}
LONG_FUNCTION = 60


def _python_files(root: Path) -> list[Path]:
    return sorted(p for package in PACKAGES for p in (root / package).rglob("*.py"))


def _function_imports(tree: ast.AST) -> list[int]:
    """Line numbers of the import statements nested in a function (at any depth)."""
    lines = []
    for func in ast.walk(tree):
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(func):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    lines.append(node.lineno)
    return sorted(set(lines))  # a nested function's imports are walked twice


def _functions(tree: ast.AST) -> list[tuple[str, int, int]]:
    """(name, first line, length in lines) of every function, decorators excluded."""
    return [
        (node.name, node.lineno, node.end_lineno - node.lineno + 1)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def measure(root: Path) -> dict:
    imports: dict[str, list[int]] = {}
    sizes: list[tuple[int, str]] = []
    long_functions: list[tuple[int, str]] = []
    for path in _python_files(root):
        name = path.relative_to(root).as_posix()
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=name)
        sizes.append((len(source.splitlines()), name))
        found = _function_imports(tree)
        if found:
            imports[name] = found
        long_functions += [(length, f"{name}:{line} {func}")
                           for func, line, length in _functions(tree) if length > LONG_FUNCTION]
    total = sum(len(lines) for lines in imports.values())
    exempt = sum(len(lines) for name, lines in imports.items() if name in EXEMPT)
    return {
        "imports": imports,
        "total": total,
        "counted": total - exempt,
        "exempt": exempt,
        "sizes": sorted(sizes, reverse=True),
        "long_functions": sorted(long_functions, reverse=True),
    }


def report(figures: dict, top: int = 10) -> str:
    out = [
        f"function-level imports in {' and '.join(p + '/' for p in PACKAGES)}: {figures['total']} "
        f"({figures['counted']} without the app factory and CLI, which have {figures['exempt']})",
    ]
    for name, lines in sorted(figures["imports"].items(), key=lambda item: -len(item[1])):
        out.append(f"  {len(lines):3d}  {name}: {', '.join(map(str, lines))}")
    out.append(f"largest files (lines), top {top}:")
    out += [f"  {size:5d}  {name}" for size, name in figures["sizes"][:top]]
    out.append(f"functions over {LONG_FUNCTION} lines: {len(figures['long_functions'])}")
    out += [f"  {length:5d}  {where}" for length, where in figures["long_functions"]]
    return "\n".join(out)


if __name__ == "__main__":
    print(report(measure(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())))
