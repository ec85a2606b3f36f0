"""Numbers stored before every input path normalised them (issue 22): rewritten in E.164, once,
by `hotline phones normalise --apply` after the upgrade (docs/operations.md). The tickets'
search documents follow by themselves (hotline.search reindexes a ticket that changed).

Reads in batches by id; what is not a phone number (a SIP address, "anonymous") stays as it is.
"""

from typing import Any

from sqlalchemy import select

from hotline import phones
from hotline.channels.models import Call, InboundSms
from hotline.extensions import db
from hotline.tickets.models import Ticket
from hotline.users import User

# model -> the columns holding phone numbers
COLUMNS: dict[type[Any], tuple[str, ...]] = {
    Ticket: ("caller_phone",), User: ("phone",), Call: ("from_number", "to_number"),
    InboundSms: ("from_number",)}
BATCH = 500


def normalise_stored(apply: bool = False) -> dict[str, int]:
    """How many numbers of each table are not in E.164 yet; rewritten (flushed, not committed:
    the caller commits each batch) when `apply`."""
    counts: dict[str, int] = {}
    for model, columns in COLUMNS.items():
        changed, last = 0, 0
        while True:
            rows = list(db.session.scalars(select(model).where(model.id > last)
                                           .order_by(model.id).limit(BATCH)))
            if not rows:
                break
            last = rows[-1].id
            for row in rows:
                for column in columns:
                    stored = getattr(row, column)
                    wanted = phones.to_e164(stored)
                    if wanted and wanted != stored:
                        changed += 1
                        if apply:
                            setattr(row, column, wanted)
            if apply:
                db.session.commit()
        counts[model.__tablename__] = changed
    return counts
