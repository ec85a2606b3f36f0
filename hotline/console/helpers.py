"""What every console page module uses: the signed-in user, the one
commit of a form post, paging, the ticket rows of a list and the safe `next` of a redirect."""

from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from hotline.console import forms, live
from hotline.errors import HotlineError, NotFound
from hotline.extensions import db
from hotline.tickets import service
from hotline.tickets.schemas import TicketOut


def user():
    return current_user._get_current_object()


def save_form(save, rerender, stale: str | None = None, refuse: tuple = ()):
    """One form post: `save()` validates the form and makes the one service call, then the
    commit. None when it went through; otherwise everything is rolled back and the answer is
    the 404 page (what the user may not see), or `rerender(state, status)`: the form again with
    what was typed and why the service refused it, or, given `stale`, that message with 409
    when someone else changed the record meanwhile."""
    try:
        save()
        db.session.commit()
    except NotFound:
        db.session.rollback()
        abort(404)
    except (forms.FormInvalid, HotlineError) as error:
        db.session.rollback()
        if isinstance(error, refuse):   # the caller answers these itself (rolled back)
            raise
        return rerender(refused_state(error), getattr(error, "code", 422))
    except StaleDataError:
        if stale is None:
            raise
        db.session.rollback()
        return rerender(forms.FormState(values=request.form, message=stale), 409)
    return None


def refused_state(error: forms.FormInvalid | HotlineError) -> forms.FormState:
    """The posted form again, with why it was refused (the fields, else a general word)."""
    state = forms.error_state(request.form, error)
    if not state.message:
        state.message = gettext("请检查标出的字段。")
    return state


def per_page() -> int:
    return current_app.config.get("CONSOLE_PER_PAGE", 20)


def page_arg() -> int:
    try:
        return max(1, min(int(request.args.get("page", 1)), 100_000))
    except ValueError:
        return 1


def dump(tickets) -> list[dict]:
    return TicketOut(many=True, viewer=user()).dump(tickets)


def list_page(template: str, stmt, total: int | None = None, **context):
    """A page of the tickets `stmt` selects, in the order the user picked."""
    page = service.paged(stmt, page_arg(), per_page(), total, live.sort_arg())
    return render_template(template, rows=dump(page.items), page=page, **context)


def tab_arg(tabs, default: str) -> str:
    """The list's tab (`?tab=`); 404 for one it does not have."""
    tab = request.args.get("tab", default)
    if tab not in tabs:
        abort(404)
    return tab


def post_action(action: str, label: str, page: str, save, rerender, stale: str | None = None,
                refuse: tuple = ()):
    """A posted step (a ticket's action, a referral's): `save_form`, then a flash naming the
    step and back to `next` (on this site) or `page`; the form again when refused."""
    back = safe_next(request.form.get("next"), page)
    refused = save_form(save, lambda state, status: rerender(action, state, status), stale=stale,
                        refuse=refuse)
    if refused is not None:
        return refused
    flash(gettext("已完成：%(action)s", action=label), "success")
    return redirect(back)


def safe_next(target: str | None, default: str) -> str:
    """Only a path on this site (no scheme, no host, no //) is followed after login or a form."""
    if not target:
        return default
    parts = urlsplit(target)
    if (parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//")
            or "\\" in target):
        return default
    return target
