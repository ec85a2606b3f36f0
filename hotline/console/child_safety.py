"""The ticket page's child-safety panels (issue 16): the crisis panel, the risk assessment and
the offer to move a minor to the children's desk.

The partials (_crisis_panel.html, _risk_assessment.html, _children_desk.html) call the
template globals below with the dumped ticket; their forms post to the ordinary action
route (`console.ticket_action`), so the service and the workflow decide as for any action.
Which of those actions the viewer is offered comes from `actions.offered_actions` (`panels`).
"""

from flask_login import current_user
from sqlalchemy import select

from hotline import permissions, risk
from hotline.console import bp
from hotline.extensions import db
from hotline.tickets.service import timeline_entries
from referrals.models import Partner

EXCERPT = 40   # characters of context either side of a crisis word


def _excerpt(text: str, words: list[str]) -> str:
    """The part of `text` around the first crisis word found in it."""
    positions = [text.find(word) for word in words if word in text]
    if not positions:
        return text[: 2 * EXCERPT]
    start = min(positions)
    begin, end = max(0, start - EXCERPT), min(len(text), start + EXCERPT)
    return ("…" if begin else "") + text[begin:end] + ("…" if end < len(text) else "")


def _who(event) -> str | None:
    return (event.actor.display_name or event.actor.username) if event.actor else None


def crisis_reasons(ticket) -> list[dict]:
    """Why the ticket is on the crisis path, oldest first: the words found (in the intake, a
    note, a text message) with where they were said, the seat's stated reason, a high risk."""
    events = timeline_entries(ticket, "create", "crisis_flagged", "add_note", "flag_crisis", "assess_risk")
    by_seq = {event.seq: event for event in events}
    reasons = []
    for event in events:
        data = event.data or {}
        following = by_seq.get(event.seq + 1)
        if event.action == "add_note" and data.get("crisis_words"):
            source = "sms" if data.get("channel") == "sms" else "note"
            reasons.append({"at": event.at, "source": source, "who": _who(event),
                            "words": data["crisis_words"],
                            "excerpt": _excerpt(data.get("note") or "", data["crisis_words"])})
        elif event.action == "flag_crisis":
            reasons.append({"at": event.at, "source": "seat", "who": _who(event),
                            "reason": data.get("reason")})
        elif event.action == "assess_risk" and data.get("crisis"):
            reasons.append({"at": event.at, "source": "risk", "who": _who(event),
                            "level": data.get("level")})
        elif event.action == "crisis_flagged" and following is not None and following.action in (
                "add_note", "flag_crisis", "assess_risk"):
            continue    # told by the note, the seat's flag or the assessment that follows it
        elif event.action == "crisis_flagged" and data.get("words"):
            text = f"{ticket.subject}\n{ticket.content}"
            reasons.append({"at": event.at, "source": "intake", "who": _who(event),
                            "words": data["words"], "excerpt": _excerpt(text, data["words"])})
        elif event.action == "crisis_flagged":
            reasons.append({"at": event.at, "source": "intake_judged", "who": _who(event)})
    return reasons


def crisis_panel(t: dict) -> dict | None:
    """What the crisis panel shows for the dumped ticket `t`; None when it is not a crisis."""
    if t.get("priority") != "crisis":
        return None
    ticket = permissions.get_visible_ticket(current_user._get_current_object(), t["id"])
    codes = [p["code"] for p in (t.get("crisis") or {}).get("partners") or []]
    partners = {p.code: p for p in db.session.scalars(select(Partner).where(Partner.code.in_(codes)))}
    return {
        "reasons": crisis_reasons(ticket),
        "partners": [partners[code] for code in codes if code in partners],
        "location_unknown": _location_unknown(t["id"]),
    }


def _location_unknown(ticket_id: int) -> bool:
    latest = risk.latest(ticket_id)
    return latest is None or latest.location_known != risk.Answer.YES


def risk_panel(t: dict) -> dict:
    """The latest assessment and the earlier ones of the dumped ticket `t`."""
    rows = risk.assessments(t["id"])
    return {"latest": rows[0] if rows else None, "earlier": rows[1:], "questions": risk.QUESTIONS}


bp.add_app_template_global(crisis_panel)
bp.add_app_template_global(risk_panel)
