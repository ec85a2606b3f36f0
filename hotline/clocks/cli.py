"""`hotline calendar ...`: show and edit the working-day calendar."""

from datetime import date

import click
from flask.cli import with_appcontext

from hotline.clocks import overrides
from hotline.extensions import db


@click.group("calendar")
def calendar_group():
    """The working-day calendar (statutory holidays plus local overrides)."""


@calendar_group.command("show")
@click.argument("year", type=int)
@with_appcontext
def show(year):
    """Where YEAR's working days come from, and its overrides."""
    status = overrides.year_status(year)
    click.echo(f"{year}: {status['source']} calendar, {status['overrides']} override(s)")
    for row in overrides.overrides_in(year):
        kind = "working day" if row.is_workday else "rest day"
        click.echo(f"  {row.day.isoformat()}  {kind:11}  {row.note}")


@calendar_group.command("set")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--workday/--rest", "is_workday", required=True,
              help="Make DAY a working day (e.g. 调休 make-up day) or a rest day (holiday).")
@click.option("--note", default="", help="Why, e.g. 春节 or 国办发明电.")
@with_appcontext
def set_day(day, is_workday, note):
    """Override one DAY (YYYY-MM-DD)."""
    overrides.set_day(day.date(), is_workday, note)
    db.session.commit()
    click.echo(f"{day.date().isoformat()} is now a {'working' if is_workday else 'rest'} day")


@calendar_group.command("clear")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@with_appcontext
def clear(day):
    """Remove the override of DAY (the statutory calendar applies again)."""
    removed = overrides.clear_day(day.date())
    db.session.commit()
    click.echo("override removed" if removed else "no override on that day")


@calendar_group.command("declare-year")
@click.argument("year", type=int)
@click.option("--note", default="", help="The State Council notice the overrides come from.")
@with_appcontext
def declare_year(year, note):
    """Declare YEAR entered: its holidays and make-up days are set as overrides.

    Clocks computed provisionally for YEAR are recomputed on it (a timeline event each)."""
    if year < date.today().year - 1:
        raise click.BadParameter("only the current or a coming year can be declared", param_hint="YEAR")
    moved = overrides.declare_year(year, note)
    db.session.commit()
    click.echo(f"{year} declared: the statutory holidays and the overrides you set are rest days, "
               f"other weekdays and your make-up days are working days; "
               f"{moved} provisional clock(s) moved")
