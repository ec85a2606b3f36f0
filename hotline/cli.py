"""The `hotline` command: run, web, worker, db (Flask-Migrate), seed."""

import os
import signal
import subprocess
import sys
import time

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate.cli import db as db_group

from hotline import PROJECT_ROOT, create_app


def _create_app(*_args, **_kwargs):
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False,
             add_version_option=False)
def main():
    """12345 hotline service."""


main.add_command(db_group, "db")


@main.command("seed")
@click.option("--demo", is_flag=True, help="Demo organisation, partners and users (password 'demo').")
@with_appcontext
def seed_command(demo):
    """Load the demo data; running it again changes nothing."""
    from hotline.extensions import db
    from hotline.seed import seed_demo

    if not demo:
        raise click.UsageError("say what to seed: --demo")
    summary = seed_demo()
    db.session.commit()
    click.echo(f"demo data ready: {summary}")


@main.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@with_appcontext
def worker_command(burst):
    """RQ worker with the built-in scheduler."""
    from rq import SimpleWorker

    from hotline.redis import connection
    from hotline.tasks import queue

    queues = [queue(name) for name in current_app.config["RQ_QUEUES"]]
    worker = SimpleWorker(queues, connection=connection())
    worker.work(with_scheduler=True, burst=burst, logging_level="INFO")


@main.command("web")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
def web_command(host, port, workers):
    """Serve the app with gunicorn."""
    app = create_app()  # fail fast on bad configuration, and start the embedded Redis
    env = {**os.environ, "REDIS_URL": app.config["REDIS_URL"]}
    args = [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}",
            "--workers", str(workers), "--chdir", str(PROJECT_ROOT), "--access-logfile", "-",
            "wsgi:app"]
    os.execvpe(sys.executable, args, env)


@main.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def run_command(host, port):
    """Web server and one RQ worker with scheduler, in one command."""
    app = create_app()
    env = {**os.environ, "REDIS_URL": app.config["REDIS_URL"]}
    hotline = [sys.executable, "-m", "hotline.cli"]
    children = [
        subprocess.Popen([*hotline, "web", "--host", host, "--port", str(port), "--workers", "2"],
                         env=env),
        subprocess.Popen([*hotline, "worker"], env=env),
    ]
    click.echo(f"console and API on http://{host}:{port}/  (Ctrl-C stops)")
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
    failed = [child.args for child in children if child.returncode not in (0, -15, None)]
    if failed and not stopping:
        raise click.ClickException(f"a process stopped: {failed}")


if __name__ == "__main__":
    main()
