"""`hotline users passwd|deactivate`: what an operator needs before production starts (it
refuses to while a demo user still has the password `demo`), and when someone leaves."""

import click
from flask.cli import with_appcontext

from hotline import accounts
from hotline.errors import HotlineError
from hotline.extensions import db


@click.group("users")
def users_group():
    """Users' passwords and deactivation."""


def _apply(change, *args) -> None:
    try:
        change(*args)
    except HotlineError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()


@users_group.command("passwd")
@click.argument("username")
@click.password_option("--password", prompt="New password",
                       help="The new password (asked for twice when not given).")
@with_appcontext
def passwd_command(username, password):
    """Set USERNAME's password (the password policy applies); every session of the user ends."""
    _apply(accounts.set_password, username, password)
    click.echo(f"password of {username} changed; their sessions and tokens ended")


@users_group.command("deactivate")
@click.argument("username")
@with_appcontext
def deactivate_command(username):
    """USERNAME can no longer sign in; every session and token of the user ends."""
    _apply(accounts.deactivate, username)
    click.echo(f"{username} deactivated; their sessions and tokens ended")
