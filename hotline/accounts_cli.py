"""`hotline users create|passwd|deactivate|import`: what an operator needs before production starts (it
refuses to while a demo user still has the password `demo`), and when someone leaves."""

import click
from flask.cli import with_appcontext

from hotline import accounts
from hotline.admin import organisation, people, tabular
from hotline.errors import HotlineError
from hotline.extensions import db
from hotline.users import Role, User


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


def _operator() -> User:
    """The operator at the terminal acts as an admin (never stored)."""
    return User(username="(cli)", role=Role.ADMIN)


@users_group.command("create")
@click.argument("username")
@click.option("--role", required=True,
              type=click.Choice([role.value for role in Role if role not in people.NOT_HERE]))
@click.option("--display-name", required=True, help="The name shown in the console.")
@click.option("--unit", default="", help="The unit's code (handlers and unit admins need one).")
@click.option("--desks", default="", help="A seat's desks, comma-separated (general,children,hard_case).")
@click.option("--phone", default="", help="Where notices may be texted.")
@click.password_option("--password", prompt="Password", help="Asked for twice when not given.")
@click.option("--temporary/--final", default=False,
              help="--temporary: the user must change this password at first sign-in.")
@with_appcontext
def create_command(username, role, display_name, unit, desks, phone, password, temporary):
    """Create USERNAME (the first admin of a new installation, or anyone else)."""

    def create():
        user = people.create_user(_operator(), {
            "username": username, "role": role, "display_name": display_name, "unit": unit,
            "desks": desks, "phone": phone, "password": password})
        user.must_change_password = temporary

    _apply(create)
    click.echo(f"{username} created ({role})")


@users_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--kind", type=click.Choice(["users", "units"]), default="users")
@click.option("--commit", is_flag=True, help="Write the rows (without it: a dry run that writes nothing).")
@with_appcontext
def import_command(path, kind, commit):
    """Import users or units from a CSV or XLSX file; without --commit only check every row."""
    importer = people.import_users if kind == "users" else organisation.import_units
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        result = importer(_operator(), tabular.read_rows(path, data), dry_run=not commit)
    except HotlineError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    for row in result["rows"]:
        for field, messages in row["errors"].items():
            click.echo(f"row {row['row']}: {field}: {'; '.join(messages)}", err=True)
    if not result["ok"]:
        db.session.rollback()
        raise click.ClickException(f"{result['problems']} row(s) with problems; nothing written")
    db.session.commit()
    verb = "imported" if commit else "dry run OK, would import"
    click.echo(f"{verb}: {result['created']} new, {result['updated']} updated")
