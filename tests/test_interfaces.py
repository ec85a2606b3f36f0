"""`referrals.service.__all__` is the interface the rest of the product uses: it names
exactly what is used from outside the module, so a reader can trust it (issue 19)."""

import ast
from pathlib import Path

import referrals.service

ROOT = Path(__file__).resolve().parents[1]
MODULE = "referrals.service"


def _names_used_from_outside() -> set[str]:
    """Names imported from referrals.service, or read as attributes of an alias of it,
    anywhere in hotline/ and referrals/ (the module itself excluded)."""
    used: set[str] = set()
    for path in [*ROOT.glob("hotline/**/*.py"), *ROOT.glob("referrals/**/*.py")]:
        if path == ROOT / "referrals" / "service.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == MODULE:
                used |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module == "referrals":
                aliases |= {a.asname or a.name for a in node.names if a.name == "service"}
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id in aliases:
                used.add(node.attr)
    return used


def test_all_lists_every_name_the_product_uses_and_nothing_missing():
    used = _names_used_from_outside()
    assert used, "the scan found no use at all: it is broken"
    assert used <= set(referrals.service.__all__), sorted(used - set(referrals.service.__all__))
    assert all(hasattr(referrals.service, name) for name in referrals.service.__all__)
