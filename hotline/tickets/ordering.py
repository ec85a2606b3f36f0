"""Queue order: crisis first, then the nearest running deadline; newest first only on request.

Every list of tickets (the API's list, each console queue and board) is ordered here, in SQL,
so that paging stays exact: a page is the ORDER BY's rows `offset..offset+per_page`.
"""

import enum

from sqlalchemy import Select, bindparam, case, func, select

from hotline.clocks.models import OPEN_TIMER_STATES, Timer
from hotline.tickets.models import Priority, Ticket


class Sort(enum.StrEnum):
    PRIORITY = "priority"   # crisis > urgent > normal, then the nearest due (the default)
    DUE = "due"             # the nearest due, then priority
    NEWEST = "newest"       # newest first (a user's choice)


DEFAULT_SORT = Sort.PRIORITY
SORT_ERROR = "排序方式应为 priority、due 或 newest (sort must be one of: priority, due, newest)"

# Lower ranks first; an unknown future priority sorts with the ordinary ones.
PRIORITY_RANK = case({Priority.CRISIS.value: 0, Priority.URGENT.value: 1},
                     value=Ticket.priority, else_=2)


def nearest_due():
    """The earliest due of the ticket's open clocks (NULL without one), as a correlated subquery.

    The states are literals so that the partial index of open clocks
    (ix_timers_open_ticket_due: ticket_id, due_at) answers it from the index alone."""
    states = bindparam("due_states", [s.value for s in OPEN_TIMER_STATES], expanding=True,
                       literal_execute=True)
    return (select(func.min(Timer.due_at))
            .where(Timer.ticket_id == Ticket.id, Timer.state.in_(states))
            .correlate(Ticket).scalar_subquery())


def ordered(stmt: Select, sort: str | Sort = DEFAULT_SORT) -> Select:
    """`stmt` ordered by `sort`'s keys; the caller appends newest first as the last tie-break."""
    sort = Sort(sort)
    if sort == Sort.NEWEST:
        return stmt
    due = nearest_due().nulls_last()   # tickets without a running clock after those with one
    if sort == Sort.DUE:
        return stmt.order_by(due, PRIORITY_RANK)
    return stmt.order_by(PRIORITY_RANK, due)
