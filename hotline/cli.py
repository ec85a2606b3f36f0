"""The `hotline` command: run, web, worker, db (Flask-Migrate), seed."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate.cli import db as db_group

from hotline import PROJECT_ROOT, create_app, history, kpi_rollups
from hotline.accounts_cli import users_group
from hotline.clocks.cli import calendar_group
from hotline.extensions import db
from hotline.security import InsecureConfiguration, check_demo_passwords

# Seconds a stopping child gets before its whole process group is killed.
STOP_GRACE = 15
# A child that exits is restarted after RESTART_FIRST seconds, doubling up to RESTART_MAX
# while it keeps dying within RESTART_RESET seconds of its start.
RESTART_FIRST = 1.0
RESTART_MAX = 30.0
RESTART_RESET = 60.0


def _create_app(*_args, **_kwargs):
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False,
             add_version_option=False)
def main():
    """12345 hotline service."""


main.add_command(db_group, "db")
main.add_command(calendar_group)
main.add_command(users_group)


def _serving_app() -> Flask:
    """The app for `web` and `run`, refused (cleanly) while an account is unsafe to serve.
    Maintenance commands (db, seed, users) skip that check: they are how it is fixed."""
    app = create_app()
    try:
        check_demo_passwords(app)
    except InsecureConfiguration as error:
        raise click.ClickException(str(error)) from None
    return app


@main.command("seed")
@click.option("--demo", is_flag=True, help="Demo organisation, partners and users (password 'demo').")
@with_appcontext
def seed_command(demo):
    """Load the demo data; running it again changes nothing."""
    from hotline.extensions import db
    from hotline.seed import DEMO_PASSWORD, describe, seed_demo

    if not demo:
        raise click.UsageError("say what to seed: --demo")
    summary = seed_demo()
    db.session.commit()
    click.echo(f"demo data ready: {describe(summary)} (password of every demo user: {DEMO_PASSWORD})")


@main.command("phones")
@click.argument("what", type=click.Choice(["normalise"]))
@click.option("--apply", is_flag=True, help="Rewrite them (without it: only count).")
@with_appcontext
def phones_command(what, apply):
    """Numbers stored before E.164 on every input path (issue 22): count them, or rewrite them."""
    from hotline.phones_backfill import normalise_stored

    counts = normalise_stored(apply=apply)
    verb = "rewritten" if apply else "to rewrite (run again with --apply)"
    click.echo(", ".join(f"{table}: {n}" for table, n in counts.items()) + f" {verb}")


@main.command("retention")
@click.option("--days", type=int, default=None,
              help="Anonymise children's tickets ended this many days ago "
                   "(default: RETENTION_CHILDREN_DAYS).")
@click.option("--apply", is_flag=True, help="Do it; without this flag only list what would change.")
@with_appcontext
def retention_command(days, apply):
    """Anonymise closed children's-desk tickets past the retention period, and say what was done."""
    from hotline.extensions import db
    from hotline.retention import anonymise

    days = days if days is not None else current_app.config["RETENTION_CHILDREN_DAYS"]
    summary = anonymise(days, apply)
    db.session.commit()
    verb = "anonymised" if apply else "would anonymise"
    click.echo(f"{verb} {summary['tickets']} children's ticket(s) ended over {days} days ago"
               + (f", {summary['referrals']} referral(s), {summary['messages']} message(s)" if apply else ""))
    for number in summary["numbers"]:
        click.echo(f"  {number}")


@main.group("kpis")
def kpis_group():
    """KPI rollups (hotline.kpi_rollups)."""


@kpis_group.command("rebuild")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Only the days from this one (YYYY-MM-DD), after bringing the rest up to date.")
@with_appcontext
def kpis_rebuild_command(since):
    """Recompute the KPI rollups of every day (or of the days since one) from the events and clocks."""
    days = kpi_rollups.rebuild(since=since.date() if since else None)
    db.session.commit()
    click.echo(f"已重算 {days} 天的指标汇总 (rebuilt the KPI rollups of {days} day(s))")


@main.group("history")
def history_group():
    """The event log's and read audit's monthly partitions (PostgreSQL; hotline.history)."""


@history_group.command("archive")
@click.option("--before", "before", required=True, type=click.DateTime(["%Y-%m"]),
              help="Archive the months before this one (YYYY-MM).")
@click.option("--dry-run", is_flag=True, help="Only list the partitions that would be detached.")
@with_appcontext
def history_archive_command(before, dry_run):
    """Detach the monthly partitions before a month, to dump and drop (docs/operations.md)."""
    if not history.is_partitioned():
        raise click.ClickException("only PostgreSQL partitions its history")
    try:
        found = history.archive(before.date(), current_app.config["HISTORY_ONLINE_MONTHS"],
                                dry_run=dry_run)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"{'would detach' if dry_run else 'detached'} {len(found)} partition(s)")
    for partition in found:
        click.echo(f"  {partition.name}")
    if found and not dry_run:
        click.echo("dump each, keep the file, then drop it (docs/operations.md):")
        for partition in found:
            click.echo(f"  pg_dump --format=custom --table={partition.name} --file={partition.name}.dump"
                       f' "$DATABASE_URL" && psql "$DATABASE_URL" -c "DROP TABLE {partition.name}"')


@main.group("audit")
def audit_group():
    """The audit trail: the event log and the read audit."""


@audit_group.command("verify")
@click.option("--ticket", "ticket_id", type=int, default=None,
              help="Only this ticket's event chain and the reads of it.")
@with_appcontext
def audit_verify_command(ticket_id):
    """Recompute the hash chains; report the first broken link (exit 1) or that all hold."""
    from hotline.audit import verify

    report = verify(ticket_id)
    click.echo(f"checked {report.chains} chain(s), {report.rows} row(s)"
               + (f" ({report.unchained} from before the chains, not covered)" if report.unchained else ""))
    if report.ok:
        click.echo("all chains intact")
        return
    for broken in report.broken:
        click.echo(f"BROKEN: {broken}")
    raise SystemExit(1)


@main.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@with_appcontext
def worker_command(burst):
    """RQ worker with the built-in scheduler; sweeps the clocks first to catch up, and outlives
    Redis outages (see hotline/worker.py)."""
    from hotline import worker

    sys.exit(worker.run(current_app._get_current_object(), current_app.config["RQ_QUEUES"], burst))


@main.command("web")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
def web_command(host, port, workers):
    """Serve the app with gunicorn."""
    from hotline import redis

    app = _serving_app()  # fail fast on bad configuration
    command = _gunicorn_command(app, host, port, workers)
    if not redis.is_embedded(app):
        # Production: gunicorn becomes this process (its signals, its exit status).
        os.execv(sys.executable, command)
    # The embedded Redis lives as long as this process, so stay and supervise gunicorn.
    _supervise(app, {"web": command})


@main.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def run_command(host, port):
    """Web server and one RQ worker with scheduler, in one command."""
    app = _serving_app()
    _check_port(host, port)  # before anything starts: gunicorn would retry for seconds
    children = {
        "web": _gunicorn_command(app, host, port, workers=2, graceful_timeout=STOP_GRACE - 5),
        "worker": [sys.executable, "-m", "hotline.cli", "worker"],
    }
    _supervise(app, children, announce=lambda: _answers(host, port) and _banner(host, port))


def _gunicorn_command(app: Flask, host: str, port: int, workers: int,
                      graceful_timeout: int | None = None) -> list[str]:
    import gunicorn

    command = [sys.executable, "-m", "gunicorn", "--bind", _bind(host, port), "--workers", str(workers),
               "--chdir", str(PROJECT_ROOT), "--access-logfile", "-"]
    if graceful_timeout is not None:
        command += ["--graceful-timeout", str(graceful_timeout)]
    if gunicorn.version_info >= (25, 1):
        # Its control socket defaults to one per user ($HOME/.gunicorn); keep one per instance.
        command += ["--control-socket", str(Path(app.instance_path) / "gunicorn.ctl")]
    return [*command, "wsgi:app"]


def _supervise(app: Flask, commands: dict[str, list[str]], announce=None) -> None:
    """Start `commands` and keep them running until a signal, then stop them all.

    A child that exits is started again after a pause that doubles on each quick death
    (RESTART_FIRST … RESTART_MAX seconds; back to the first after RESTART_RESET seconds of
    running), so one crash — the worker losing Redis, the web server failing to boot
    during a database outage — never stops the rest of the centre.

    Each child gets its own process group (so a stuck one can be killed with everything
    it forked) and the Redis URL of this process, so all share one embedded server,
    which is shut down once they are gone.
    """
    from hotline import redis

    received: list[int] = []

    def stop(signum, _frame):
        received.append(signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)
    env = redis.embedded_url_for_children(app)
    children: dict[str, subprocess.Popen] = {}
    started: dict[str, float] = {}
    pause = dict.fromkeys(commands, RESTART_FIRST)
    restart_at: dict[str, float] = {}

    def start(name: str) -> None:
        children[name] = subprocess.Popen(commands[name], env=env, process_group=0,
                                          preexec_fn=_die_with_parent())
        started[name] = time.monotonic()

    try:
        for name in commands:
            if not received:
                start(name)
        while not received:
            now = time.monotonic()
            for name, child in children.items():
                if name in restart_at or child.poll() is None:
                    continue
                if now - started[name] >= RESTART_RESET:
                    pause[name] = RESTART_FIRST
                click.echo(f"{name} exited with {child.returncode}; restarting it in {pause[name]:.0f}s",
                           err=True)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(child.pid, signal.SIGKILL)   # what it forked (RQ's scheduler) goes too
                restart_at[name] = now + pause[name]
                pause[name] = min(pause[name] * 2, RESTART_MAX)
            for name, when in list(restart_at.items()):
                if now >= when and not received:
                    del restart_at[name]
                    start(name)
            if announce is not None and announce():
                announce = None
            time.sleep(0.2)
    finally:
        _stop_children(list(children.values()))
        redis.stop_embedded(wait=5)


def _die_with_parent():
    """A preexec_fn that makes the child get SIGTERM if this process dies without stopping it.

    Covers `kill -9` of `hotline run` (or of the process group it was started in, which no
    longer holds the children): they stop instead of serving on as orphans. Linux only.
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def preexec() -> None:
        libc.prctl(pr_set_pdeathsig, int(signal.SIGTERM))
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def _stop_children(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + STOP_GRACE
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
    for child in children:
        if child.poll() is None:
            click.echo(f"killing {child.args[:4]} (did not stop in {STOP_GRACE}s)", err=True)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)  # whatever it forked and left behind, too
        child.wait()


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _url(host: str, port: int) -> str:
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://{_bind(shown, port)}/"


def _check_port(host: str, port: int) -> None:
    try:
        family, _, _, _, address = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                                      flags=socket.AI_PASSIVE)[0]
        with socket.create_server(address, family=family):
            pass
    except OSError as error:
        raise click.ClickException(f"cannot listen on {_bind(host, port)}: {error.strerror or error}") \
            from None


def _answers(host: str, port: int) -> bool:
    """True once the web server (ours, not whatever else holds the port) answers /healthz."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"{_url(host, port)}healthz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def _banner(host: str, port: int) -> bool:
    from hotline.seed import DEMO_PASSWORD, demo_logins

    url = _url(host, port)
    lines = ["", "12345 hotline is running",
             f"  console and API  {url}",
             f"  OpenAPI          {url}api/openapi.json",
             f"  health           {url}healthz  {url}readyz",
             f"  demo logins (password: {DEMO_PASSWORD}) — after `hotline seed --demo`:",
             *(f"    {login}" for login in demo_logins()),
             "  Ctrl-C stops the web server, the worker and the embedded Redis.", ""]
    click.echo("\n".join(lines))
    return True


if __name__ == "__main__":
    main()
