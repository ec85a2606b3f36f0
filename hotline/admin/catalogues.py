"""Editing the routing catalogue and the crisis lexicon (the console and the API share these).

Both are rule sets of hotline.rulebook: the edit is checked here field by field (the field
named: `route.2.unit`, `kinds.self_harm`), then built by the owning module's builder
(hotline.routing, hotline.crisis), stored and recorded as an audited change. In force in
every process from its next request.
"""

import re

from hotline import permissions
from hotline.crisis import CRISIS_WORDS, CrisisKeywordsError, CrisisWords
from hotline.errors import FieldProblems
from hotline.routing import COUNTY_OF_LOCATION, ROUTES, Route, RoutingError
from hotline.tickets.models import Category, Desk
from hotline.units import get_by_code
from hotline.users import User

DESKS = {desk.value for desk in Desk}
CATEGORIES = {category.value for category in Category}
ROUTE_KEYS = ("name", "desk", "category", "location", "unit")
MAX_ROUTES, MAX_WORDS, MAX_WORD_LENGTH = 200, 500, 40


# --- the routing catalogue -----------------------------------------------------------------

def routes_document() -> list[dict]:
    """The catalogue in force as rows {name, desk: [...], category: [...], location, unit}."""
    rows = []
    for entry in ROUTES.document().get("route", []):
        rows.append({"name": entry.get("name", ""), "desk": _listify(entry.get("desk")),
                     "category": _listify(entry.get("category")), "location": entry.get("location") or "",
                     "unit": entry.get("unit", "")})
    return rows


def save_routes(actor: User, rows: list[dict], note: str = "") -> tuple[Route, ...]:
    """Replace the catalogue with `rows` (in order; the first fitting route wins)."""
    permissions.check_edits_rules(actor)
    errors = FieldProblems()
    routes = []
    if not rows or len(rows) > MAX_ROUTES:
        errors.add("route", "routing.route_count", max=MAX_ROUTES)
    for index, row in enumerate(rows):
        field = f"route.{index}."
        name, unit = (row.get("name") or "").strip(), (row.get("unit") or "").strip()
        location = (row.get("location") or "").strip()
        desks, categories = _listify(row.get("desk")), _listify(row.get("category"))
        if not name or len(name) > 200:
            errors.add(field + "name", "routing.name_required", max=200)
        if not unit:
            errors.add(field + "unit", "routing.unit_required")
        elif unit != COUNTY_OF_LOCATION and get_by_code(unit) is None:
            errors.add(field + "unit", "routing.unknown_unit", unit=unit)
        if location and get_by_code(location) is None:
            errors.add(field + "location", "routing.unknown_location", location=location)
        if set(desks) - DESKS:
            errors.add(field + "desk", "routing.unknown_desk", desks=sorted(set(desks) - DESKS))
        if set(categories) - CATEGORIES:
            errors.add(field + "category", "routing.unknown_category",
                       categories=sorted(set(categories) - CATEGORIES))
        entry: dict = {"name": name, "unit": unit}
        entry.update({key: value for key, value in (("desk", desks), ("category", categories)) if value})
        if location:
            entry["location"] = location
        routes.append(entry)
    errors.refuse("routing.invalid")
    try:
        return ROUTES.save(actor, {"route": routes}, note)
    except RoutingError as error:
        raise error.refusal("route", "routing.invalid") from None


# --- the crisis lexicon --------------------------------------------------------------------

LEXICON_FIELDS = ("kinds", "ignore", "negation.kinds", "negation.cues", "negation.fillers")


def lexicon_document() -> dict:
    """The lexicon in force: {kinds: {kind: [words]}, ignore: [...], negation: {kinds, cues, fillers}}."""
    raw = CRISIS_WORDS.document()
    negation = raw.get("negation", {})
    return {"kinds": {kind: list(words) for kind, words in raw.get("kinds", {}).items()},
            "ignore": list(raw.get("ignore", {}).get("phrases", [])),
            "negation": {key: list(negation.get(key, [])) for key in ("kinds", "cues", "fillers")}}


def check_lexicon(body: dict) -> tuple[dict, CrisisWords]:
    """The stored document of an edited lexicon and the lexicon it builds (Invalid names fields)."""
    errors = FieldProblems()
    kinds = body.get("kinds") or {}
    if not kinds:
        errors.add("kinds", "crisis_words.no_kinds")
    clean_kinds = {}
    for kind, words in kinds.items():
        words = _words(words)
        if not re.fullmatch(r"[a-z_]{1,32}", kind or ""):
            errors.add(f"kinds.{kind}", "crisis_words.bad_kind")
        elif not words:
            errors.add(f"kinds.{kind}", "crisis_words.empty_kind")
        elif len(words) > MAX_WORDS or any(len(word) > MAX_WORD_LENGTH for word in words):
            errors.add(f"kinds.{kind}", "crisis_words.too_many", max=MAX_WORDS, length=MAX_WORD_LENGTH)
        clean_kinds[kind] = words
    negation = body.get("negation") or {}
    clean_negation = {key: _words(negation.get(key)) for key in ("kinds", "cues", "fillers")}
    unknown = set(clean_negation["kinds"]) - set(clean_kinds)
    if unknown:
        errors.add("negation.kinds", "crisis_words.unknown_negation", kinds=sorted(unknown))
    errors.refuse("crisis_words.invalid")
    document = {"kinds": clean_kinds, "ignore": {"phrases": _words(body.get("ignore"))},
                "negation": clean_negation}
    try:
        return document, CRISIS_WORDS.build(document, "crisis_words")
    except CrisisKeywordsError as error:
        raise error.refusal("kinds", "crisis_words.invalid") from None


def save_lexicon(actor: User, body: dict, note: str = "") -> CrisisWords:
    permissions.check_edits_rules(actor)
    document, _words_built = check_lexicon(body)
    return CRISIS_WORDS.save(actor, document, note)


def _words(value) -> list[str]:
    """A list, or text of words separated by new lines, commas, 、 or spaces; in order, once each."""
    items = re.split(r"[\s,，、;；]+", value) if isinstance(value, str) else list(value or [])
    seen: list[str] = []
    for item in items:
        item = str(item).strip()
        if item and item not in seen:
            seen.append(item)
    return seen


def _listify(value) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else [str(item) for item in value]
