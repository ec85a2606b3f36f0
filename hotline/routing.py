"""The routing catalogue: a suggested lead unit for a ticket (category + location -> unit).

The built-in catalogue is config/routing.toml (or HOTLINE_ROUTING), checked at start-up; an
admin edits it in the console (hotline.rulebook stores it, in force without a restart).
"""

from dataclasses import dataclass
from pathlib import Path

from hotline import rulebook
from hotline.errors import RuleDocumentError
from hotline.rulebook import RuleSet
from hotline.units import Unit, UnitKind, get_by_code

COUNTY_OF_LOCATION = "@county"


class RoutingError(RuleDocumentError):
    """The routing file is missing or has a bad rule."""


@dataclass(frozen=True)
class Route:
    name: str
    unit: str
    categories: frozenset[str] = frozenset()
    desks: frozenset[str] = frozenset()
    location: str | None = None

    def fits(self, ticket) -> bool:
        if self.categories and ticket.category.value not in self.categories:
            return False
        if self.desks and ticket.desk.value not in self.desks:
            return False
        if self.location:
            where = ticket.location_unit
            return where is not None and f"/{self.location}/" in where.path
        return True


@dataclass(frozen=True)
class Suggestion:
    unit: Unit
    rule: str


def load_routes(path: str | Path) -> tuple[Route, ...]:
    return rulebook.load_file(path, build_routes, RoutingError)


def build_routes(raw: dict, path: str) -> tuple[Route, ...]:
    """The routes of a parsed document (`path` names it in errors: a file or a table)."""
    routes = []
    for index, entry in enumerate(raw.get("route", [])):
        if not isinstance(entry.get("unit"), str):
            raise RoutingError(path, error="routing.bad_unit", params={"key": f"route[{index}].unit"})
        routes.append(Route(
            name=entry.get("name", f"route[{index}]"), unit=entry["unit"],
            categories=frozenset(_listify(entry.get("category"))),
            desks=frozenset(_listify(entry.get("desk"))), location=entry.get("location"),
        ))
    return tuple(routes)


def suggest(ticket) -> Suggestion | None:
    """The first fitting route's unit, or None when nothing fits or the unit is unknown."""
    for route in ROUTES.current():
        if not route.fits(ticket):
            continue
        if route.unit == COUNTY_OF_LOCATION:
            unit = county_of(ticket.location_unit)
        else:
            unit = get_by_code(route.unit)
        if unit is not None:
            return Suggestion(unit, route.name)
    return None


def county_of(unit: Unit | None) -> Unit | None:
    while unit is not None and unit.kind != UnitKind.COUNTY:
        unit = unit.parent
    return unit


def _listify(value) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


# The catalogue in force: the file, or what an admin saved (hotline.rulebook).
ROUTES = RuleSet("routing", "HOTLINE_ROUTING", "hotline.routes", build_routes)
