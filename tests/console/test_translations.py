"""The English catalogue covers every console string, and the shipped .mo matches the .po."""

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "hotline" / "console"
CATALOG = ROOT / "hotline" / "translations" / "en" / "LC_MESSAGES"
# The console's own catalogue (its referral pages), merged over the app's at run time.
CATALOGS = [CATALOG, CONSOLE / "translations" / "en" / "LC_MESSAGES"]
METHODS = [("**/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


# Beyond the console's own folder: the names of the ticket actions and of the referral and
# report steps, which come with their entries in the registries.
ELSEWHERE = [(ROOT / "hotline" / "tickets", [("registry.py", "python")]),
             (ROOT / "referrals", [("workflow.py", "python")])]


def console_strings() -> set[str]:
    found = set()
    for folder, methods in [(CONSOLE, METHODS), *ELSEWHERE]:
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(folder), methods, keywords=KEYWORDS, options_map={"**.html": {"extensions": ""}}
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_console_string_has_an_english_translation():
    translated = set()
    for folder in CATALOGS:
        with open(folder / "messages.po", "rb") as po:
            catalog = read_po(po)
        translated |= {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog
                       if m.id and (all(m.string) if isinstance(m.string, tuple) else m.string)}
    strings = console_strings()
    assert len(strings) > 200
    assert strings - translated == set(), "add these to messages.po, then pybabel compile"


def messages(catalog) -> dict:
    """Each message id and its translation; not the header, which names the Babel version."""
    def plain(text):
        return tuple(text) if isinstance(text, (list, tuple)) else text

    return {plain(m.id): plain(m.string) for m in catalog if m.id}


@pytest.mark.parametrize("folder", CATALOGS, ids=["app", "console"])
def test_the_compiled_catalogue_is_up_to_date(folder):
    with open(folder / "messages.po", "rb") as po:
        source = read_po(po)
    with open(folder / "messages.mo", "rb") as mo:
        shipped = read_mo(mo)
    assert messages(shipped) == messages(source), (
        f"run: pybabel compile -d {folder.parents[1].relative_to(ROOT)}"
    )


def test_the_console_catalogue_is_merged_in(app, browser):
    page = browser("partner-xz-xinli")
    page.get("/console/lang/en", expect=302)
    html = page.html("/console/referrals")
    assert "Referral inbox" in html and "Completed / closed" in html and "转介收件箱" not in html
    assert "Log out" in html and "退出" not in html  # ... and the app's own catalogue still applies
