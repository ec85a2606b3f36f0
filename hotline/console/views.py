"""Where the console's pages used to live, kept as names other modules may still import.

The pages are split by concern (each module registers its routes on `bp`):
plumbing.py (CSRF, security headers, error pages), helpers.py (`user`, `save_form`,
paging), navigation.py (NAV, landing page), auth_pages.py (login, logout, language),
intake_pages.py, ticket_pages.py, queue_pages.py (lists and queues), notice_pages.py and
widgets.py (action forms from the API's schemas). New code imports from those modules.
"""

from hotline.console.helpers import (
    dump,
    list_page,
    page_arg,
    per_page,
    safe_next,
    save_form,
    user,
)
from hotline.console.navigation import CALENDAR_WATCHERS, NAV
from hotline.console.queue_pages import list_filters
from hotline.console.ticket_pages import render_ticket
from hotline.console.widgets import field_spec, form_specs

_field_spec = field_spec  # the name referral pages imported before the split

__all__ = ["CALENDAR_WATCHERS", "NAV", "dump", "field_spec", "form_specs", "list_filters", "list_page",
           "page_arg", "per_page", "render_ticket", "safe_next", "save_form", "user"]
