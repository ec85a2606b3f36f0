"""Fixtures of the console tests."""

import pytest

from tests.console.helpers import Browser


@pytest.fixture
def browser(app):
    """`browser("seat1")` → a logged-in Browser; `browser()` → logged out."""

    def make(username: str | None = None, **kwargs) -> Browser:
        session = Browser(app, **kwargs)
        if username:
            session.login(username)
        return session

    return make
