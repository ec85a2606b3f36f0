"""The dispatch sheet (交办单, issue 22): one ticket on one page, as the centre hands it to a
unit: number, deadlines, the request, the caller (masked as for the viewer), the instructions,
the lead and co-units, the list of attachments. A print layout, and a PDF of the same
(`sheet_pdf`) for a unit that files it or a fax machine that still wants paper.

What the sheet holds is built once (`sheet`) from the same dumps the ticket page uses, so the
masking of the caller and of the caller's own files is the page's; a children's-desk sheet
is audited as a read like the page.
"""

from dataclasses import dataclass

from flask import make_response, render_template
from flask_babel import gettext
from flask_login import login_required

from hotline import audit, permissions
from hotline.attachments import service as attachments
from hotline.attachments.schemas import MASKED_NAME
from hotline.console import bp, labels
from hotline.console.filters import deadline, localtime
from hotline.console.helpers import user
from hotline.console.sheet_pdf import render_pdf
from hotline.tickets.schemas import TicketDetailOut
from hotline.types import utcnow
from hotline.units import Unit
from hotline.users import User

# The clocks a unit works to, in the order of the work.
SHEET_TIMERS = ("dispatch", "acknowledge", "respond", "handle", "review", "callback")


@dataclass
class Sheet:
    number: str
    title: str
    facts: list[tuple[str, str]]          # (label, value): desk, category, channel, priority...
    request: str
    caller: list[tuple[str, str]]
    location: str
    lead_unit: str
    co_units: list[str]
    instructions: list[str]
    deadlines: list[tuple[str, str, str]]    # (clock, due, state)
    attachments: list[tuple[str, str]]       # (name, size)
    printed_by: str
    printed_at: str
    masked: bool = False


def sheet(viewer: User, ticket_id: int) -> Sheet:
    ticket = permissions.get_visible_ticket(viewer, ticket_id)
    audit.audit_children(viewer, [ticket], "dispatch_sheet")
    t = TicketDetailOut(viewer=viewer).dump(ticket)
    caller = t["caller"]
    name = caller["name"] or "—"
    if caller["is_minor"]:
        name += f"（未成年人 {caller['age']} 岁）" if caller["age"] is not None else "（未成年人）"
    files = [(row.filename if attachments.readable(viewer, ticket, row) else MASKED_NAME,
              attachments.size_text(row.size)) for row in attachments.of_ticket(ticket)]
    instructions = [t["dispatch_note"]] if t["dispatch_note"] else []
    instructions += [f"督办（{localtime(entry['at'])}）：{entry['note']}"
                     for entry in t["supervisions"] if entry["note"]]
    return Sheet(
        number=t["number"], title=t["subject"] or gettext("（无标题）"),
        facts=[(gettext("状态"), labels.label(labels.STATES, t["state"])),
               (gettext("专席"), labels.label(labels.DESKS, t["desk"])),
               (gettext("类别"), labels.label(labels.CATEGORIES, t["category"])),
               (gettext("渠道"), labels.label(labels.CHANNELS, t["channel"])),
               (gettext("紧急程度"), labels.label(labels.PRIORITIES, t["priority"])),
               (gettext("受理时间"), localtime(t["created_at"])),
               (gettext("派单时间"), localtime(t["dispatched_at"]) or "—")],
        request=t["content"],
        caller=[(gettext("姓名"), name), (gettext("电话"), caller["phone"] or "—")],
        location=_location(ticket.location_unit, t["location"]["address"]),
        lead_unit=ticket.lead_unit.name if ticket.lead_unit else gettext("（尚未派单）"),
        co_units=[unit.name for unit in ticket.co_units],
        instructions=instructions,
        deadlines=[(labels.label(labels.TIMERS, timer["kind"]), deadline(timer["due_at"]),
                    labels.label(labels.TIMER_STATES, timer["state"]))
                   for kind in SHEET_TIMERS for timer in t["timers"] if timer["kind"] == kind],
        attachments=files,
        printed_by=viewer.display_name or viewer.username,
        printed_at=localtime(utcnow()),
        masked=caller["masked"],
    )


def _location(unit: Unit | None, address: str | None) -> str:
    parts = [part for part in (unit.name if unit else None, address) if part]
    return " · ".join(parts) or "—"


@bp.get("/tickets/<int:ticket_id>/sheet")
@login_required
def dispatch_sheet(ticket_id: int):
    """The print layout (the browser's print dialog opens from its button)."""
    return render_template("console/dispatch_sheet.html", s=sheet(user(), ticket_id), ticket_id=ticket_id)


@bp.get("/tickets/<int:ticket_id>/sheet.pdf")
@login_required
def dispatch_sheet_pdf(ticket_id: int):
    """The same sheet as a PDF (fonts inside: it prints alike everywhere)."""
    s = sheet(user(), ticket_id)
    response = make_response(render_pdf(s))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f"attachment; filename=\"sheet-{s.number}.pdf\""
    response.headers["Cache-Control"] = "private, no-store"
    return response

