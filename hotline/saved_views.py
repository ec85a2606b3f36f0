"""Saved views: a user's named set of ticket-list filters (state, desk, unit, overdue, words,
dates) and sort, applied to `GET /api/v1/tickets?view=<id>` and offered on the console's list.

A view is its owner's alone (another user's id is a 404). Its filters are stored as the list's
query arguments, validated by the list's own schema when saved, so what a view shows is
exactly what the same arguments show; paging is never part of it.
"""

from datetime import datetime
from urllib.parse import urlencode

from marshmallow import ValidationError
from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from hotline.errors import Conflict, Invalid, NotFound
from hotline.extensions import db
from hotline.tickets.schemas import TicketListArgs
from hotline.types import UTCDateTime, utcnow
from hotline.users import User

# The list arguments a view keeps (not the page).
KEPT = ("state", "desk", "unit", "overdue", "q", "created_from", "created_to", "sort")
MAX_VIEWS = 50


class SavedView(db.Model):
    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    filters: Mapped[dict] = mapped_column(JSON, default=dict)     # the list's query arguments
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def query(self) -> str:
        """The list's query string for this view (the console links to it)."""
        return urlencode(self.filters, doseq=True)


def clean(filters: dict) -> dict:
    """The kept arguments of `filters`, as strings (a list of states as a list), after checking
    them with the list's schema (422 naming the field)."""
    kept = {}
    for key in KEPT:
        value = filters.get(key)
        if value in (None, "", [], False):
            continue
        if key == "state":
            value = [v for v in (value if isinstance(value, list) else str(value).split(",")) if v]
        kept[key] = value if isinstance(value, list) else str(value).lower() if isinstance(value, bool) \
            else str(value)
    try:
        TicketListArgs().load({k: ",".join(v) if isinstance(v, list) else v for k, v in kept.items()})
    except ValidationError as error:
        raise Invalid(errors={"filters": error.messages}, error="view.bad_filters") from None
    return kept


def list_views(user: User) -> list[SavedView]:
    return list(db.session.scalars(select(SavedView).where(SavedView.user_id == user.id)
                                   .order_by(SavedView.name)))


def save_view(user: User, name: str, filters: dict) -> SavedView:
    """A new view, or the user's view of that name with new filters."""
    name = name.strip()
    if not name:
        raise Invalid(errors={"name": ["required"]}, error="view.name_required")
    kept = clean(filters)
    view = db.session.scalar(select(SavedView).where(SavedView.user_id == user.id, SavedView.name == name))
    if view is None:
        if len(list_views(user)) >= MAX_VIEWS:
            raise Conflict(error="view.too_many", params={"max": MAX_VIEWS})
        view = SavedView(user_id=user.id, name=name, created_at=utcnow())
        db.session.add(view)
    view.filters = kept
    db.session.flush()
    return view


def get_view(user: User, view_id: int) -> SavedView:
    view = db.session.get(SavedView, view_id)
    if view is None or view.user_id != user.id:
        raise NotFound(error="view.not_found", params={"view": view_id})
    return view


def delete_view(user: User, view_id: int) -> None:
    db.session.delete(get_view(user, view_id))
    db.session.flush()


def list_args(user: User, view_id: int) -> dict:
    """The list's arguments of the view, loaded by the list's schema (for `list_tickets`)."""
    filters = get_view(user, view_id).filters
    return TicketListArgs().load({k: ",".join(v) if isinstance(v, list) else v for k, v in filters.items()})
