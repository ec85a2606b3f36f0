"""Editing the routing catalogue and the crisis lexicon (the console and the API share these).

Both are rule sets of hotline.rulebook: the edit is checked here field by field (the field
named: `route.2.unit`, `kinds.self_harm`), then built by the owning module's builder
(hotline.routing, hotline.crisis), stored and recorded as an audited change. In force in
every process from its next request.
"""

import re

from hotline import permissions
from hotline.crisis import CRISIS_WORDS, CrisisKeywordsError, CrisisWords
from hotline.errors import Invalid
from hotline.routing import COUNTY_OF_LOCATION, ROUTES, Route, RoutingError
from hotline.tickets.models import Category, Desk
from hotline.units import get_by_code
from hotline.users import User

DESKS = {desk.value for desk in Desk}
CATEGORIES = {category.value for category in Category}
ROUTE_KEYS = ("name", "desk", "category", "location", "unit")
MAX_ROUTES, MAX_WORDS = 200, 500


def _why(errors: dict[str, list[str]]) -> dict:
    """The params of a refused record: its first field error says why."""
    return {"why": next(iter(errors.values()))[0]}


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
    errors: dict[str, list[str]] = {}
    routes = []
    if not rows or len(rows) > MAX_ROUTES:
        errors["route"] = [f"派单目录须有 1 至 {MAX_ROUTES} 条规则 (1 to {MAX_ROUTES} routes)"]
    for index, row in enumerate(rows):
        def fail(key: str, message: str, index: int = index) -> None:
            errors.setdefault(f"route.{index}.{key}", []).append(message)

        name, unit = (row.get("name") or "").strip(), (row.get("unit") or "").strip()
        location = (row.get("location") or "").strip()
        desks, categories = _listify(row.get("desk")), _listify(row.get("category"))
        if not name or len(name) > 200:
            fail("name", "请填写规则名称（200 字以内） (a name of up to 200 characters)")
        if unit != COUNTY_OF_LOCATION and (not unit or get_by_code(unit) is None):
            fail("unit", f"单位 {unit or '（空）'} 不存在；可填单位代码或 @county "
                         f"(no such unit {unit!r}: a unit code or @county)")
        if location and get_by_code(location) is None:
            fail("location", f"地点单位 {location} 不存在 (no such unit {location!r})")
        if set(desks) - DESKS:
            fail("desk", f"未知专席 {sorted(set(desks) - DESKS)} (unknown desk)")
        if set(categories) - CATEGORIES:
            fail("category", f"未知类别 {sorted(set(categories) - CATEGORIES)} (unknown category)")
        entry: dict = {"name": name, "unit": unit}
        entry.update({key: value for key, value in (("desk", desks), ("category", categories)) if value})
        if location:
            entry["location"] = location
        routes.append(entry)
    if errors:
        raise Invalid(errors=errors, error="routing.invalid", params=_why(errors))
    try:
        return ROUTES.save(actor, {"route": routes}, note)
    except RoutingError as error:
        raise Invalid(errors={"route": [str(error)]}, error="routing.invalid",
                      params={"why": str(error)}) from None


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
    errors: dict[str, list[str]] = {}
    kinds = body.get("kinds") or {}
    if not kinds:
        errors["kinds"] = ["至少需要一类危机词 (at least one kind of crisis words)"]
    clean_kinds = {}
    for kind, words in kinds.items():
        words = _words(words)
        if not re.fullmatch(r"[a-z_]{1,32}", kind or ""):
            errors[f"kinds.{kind}"] = ["类别名只能用小写字母和下划线 (a kind is lower-case letters and _)"]
        elif not words:
            errors[f"kinds.{kind}"] = ["每类至少一个词；不用的类别请删除 (each kind needs a word)"]
        elif len(words) > MAX_WORDS or any(len(word) > 40 for word in words):
            errors[f"kinds.{kind}"] = [f"最多 {MAX_WORDS} 个词，每个 40 字以内 (too many or too long)"]
        clean_kinds[kind] = words
    negation = body.get("negation") or {}
    clean_negation = {key: _words(negation.get(key)) for key in ("kinds", "cues", "fillers")}
    unknown = set(clean_negation["kinds"]) - set(clean_kinds)
    if unknown:
        errors["negation.kinds"] = [f"否定只能用于已有的类别，未知：{sorted(unknown)} (unknown kinds)"]
    if errors:
        raise Invalid(errors=errors, error="crisis_words.invalid", params=_why(errors))
    document = {"kinds": clean_kinds, "ignore": {"phrases": _words(body.get("ignore"))},
                "negation": clean_negation}
    try:
        return document, CRISIS_WORDS.build(document, "crisis_words")
    except CrisisKeywordsError as error:
        raise Invalid(errors={"kinds": [str(error)]}, error="crisis_words.invalid",
                      params={"why": str(error)}) from None


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
