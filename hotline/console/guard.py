"""Which console pages a user may open: each page names a predicate of `hotline.permissions`.

`@allowed(permissions.can_view_kpis)` on a page: logged in, and 403 unless the predicate admits
the user. The rule itself lives in `hotline/permissions.py`, where the services ask it too;
`tests/console/test_authorization_table.py` holds every console route against every role.
"""

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from hotline.users import User


def allowed(predicate: Callable[[User], bool]):
    """Only the users `predicate` admits (403 for the others); always logged in."""

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not predicate(current_user._get_current_object()):
                abort(403)
            return view(*args, **kwargs)

        wrapper.permission = predicate  # type: ignore[attr-defined]
        return wrapper

    return decorate
