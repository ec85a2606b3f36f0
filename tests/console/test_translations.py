"""The English catalogue covers every console string, and the shipped .mo matches the .po."""

import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "hotline" / "console"
CATALOG = ROOT / "hotline" / "translations" / "en" / "LC_MESSAGES"
METHODS = [("**/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def console_strings() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(CONSOLE), METHODS, keywords=KEYWORDS, options_map={"**.html": {"extensions": ""}}
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_console_string_has_an_english_translation():
    with open(CATALOG / "messages.po", "rb") as po:
        catalog = read_po(po)
    translated = {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog
                  if m.id and (all(m.string) if isinstance(m.string, tuple) else m.string)}
    strings = console_strings()
    assert len(strings) > 200
    assert strings - translated == set(), "add these to messages.po, then pybabel compile"


def test_the_compiled_catalogue_is_up_to_date():
    with open(CATALOG / "messages.po", "rb") as po:
        catalog = read_po(po)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    assert (CATALOG / "messages.mo").read_bytes() == compiled.getvalue(), (
        "run: pybabel compile -d hotline/translations"
    )
