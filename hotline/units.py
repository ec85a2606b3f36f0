"""Units: the tree of the city centre, counties, departments, towns and villages.

Each unit stores its materialised `path` ("/xz/gulou/gulou-edu/") so "this unit
and everything below it" is one indexed prefix match.
"""

import enum

from sqlalchemy import ForeignKey, String, bindparam, func, or_, select, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline import shared_cache
from hotline.extensions import db
from hotline.types import enum_column


class UnitKind(enum.StrEnum):
    CITY = "city"
    COUNTY = "county"
    DEPARTMENT = "department"
    TOWN = "town"
    VILLAGE = "village"


class Unit(db.Model):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[UnitKind] = mapped_column(enum_column(UnitKind))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    path: Mapped[str] = mapped_column(String(1000), index=True)
    # A deactivated unit keeps its history but receives no new dispatches.
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    # The unit's contact for the centre: a person and a phone number.
    contact_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    contact_phone: Mapped[str] = mapped_column(String(64), default="", server_default="")

    parent: Mapped["Unit | None"] = relationship(remote_side=[id], lazy="joined", join_depth=1)

    def __repr__(self) -> str:
        return f"<Unit {self.code}>"

    def is_within(self, other: "Unit") -> bool:
        """True when this unit is `other` or below it."""
        return self.path.startswith(other.path)


def path_for(code: str, parent: Unit | None) -> str:
    return f"{parent.path if parent else '/'}{code}/"


_BY_CODE = select(Unit).where(Unit.code == bindparam("code"))  # built once: intake runs it


def get_by_code(code: str) -> Unit | None:
    """The unit with this code (its parent loaded), from this process's cache of units while
    no unit changed anywhere (hotline.shared_cache): intake names one in every request."""
    found = shared_cache.cached("units", code, lambda: _detached_by_code(code))
    return shared_cache.attach(found) if found is not None else None


def _detached_by_code(code: str) -> Unit | None:
    unit = db.session.scalar(_BY_CODE, {"code": code})
    return shared_cache.snapshot(unit) if unit is not None else None


def subtree_ids(unit: Unit):
    """A select of the ids of `unit` and every unit below it."""
    return select(Unit.id).where(Unit.path.startswith(unit.path, autoescape=True))


def branch(path: str, root: str | None) -> str | None:
    """The code of the unit on `path` directly below `root` (a unit's path; None: the city
    centre, whose counties and departments are its branches), or `root`'s own code when `path`
    is `root` itself; None when `path` lies outside `root` or is the city itself.

    Reports group a unit's facts by its branches: a county's towns, the centre's counties."""
    if root is not None and not path.startswith(root):
        return None
    codes = [code for code in path.split("/") if code]
    depth = len([code for code in root.split("/") if code]) if root else 1
    if len(codes) > depth:
        return codes[depth]
    return codes[-1] if root and codes else None


def names() -> dict[str, str]:
    """Every unit's name by its code (exports and reports show names, not codes)."""
    return dict(db.session.execute(select(Unit.code, Unit.name)).all())
def search(text: str, *, kinds=None, within: "Unit | None" = None, limit: int = 20) -> list[Unit]:
    """Active units whose name or code contains `text` (a picker's type-ahead), shallowest first:
    counties before their towns. `kinds` narrows to some kinds; `within` to a unit's subtree
    (below it, not itself)."""
    pattern = text.strip().lower()
    stmt = select(Unit).where(Unit.active.is_(True), or_(
        func.lower(Unit.name).contains(pattern, autoescape=True),
        func.lower(Unit.code).contains(pattern, autoescape=True)))
    if kinds:
        stmt = stmt.where(Unit.kind.in_(list(kinds)))
    if within is not None:
        stmt = stmt.where(Unit.path.startswith(within.path, autoescape=True), Unit.id != within.id)
    stmt = stmt.order_by(func.length(Unit.path), Unit.path).limit(limit)
    return list(db.session.scalars(stmt))


def path_names(units: list[Unit]) -> dict[int, list[str]]:
    """Each unit's ancestors' names below the root (the city, above everything), from the top:
    where a unit sits in the tree, for telling two 教育局 apart."""
    codes = {code for unit in units for code in unit.path.split("/")[2:] if code}
    names = {code: name for code, name in
             db.session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(codes)))} if codes else {}
    return {unit.id: [names.get(code, code) for code in unit.path.split("/")[2:]
                      if code and code != unit.code] for unit in units}
