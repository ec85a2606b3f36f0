"""A worker's run ends with nothing of it left waiting: its pub/sub listener (RQ's command
channel) stops with it, instead of waiting up to a minute for a subscription that never comes
while every stop, and every burst run, waits out the bounds on it."""

import threading
from datetime import timedelta

import time_machine
from redis.client import PubSubWorkerThread

from hotline import tasks
from hotline.redis import connection
from hotline.types import utcnow
from hotline.worker import HotlineWorker


def test_each_run_of_the_worker_ends_its_pubsub_listener(app):
    for minutes in range(20):
        before = set(threading.enumerate())
        with time_machine.travel(utcnow() + timedelta(minutes=11 * minutes), tick=True), app.app_context():
            HotlineWorker([tasks.queue()], connection=connection()).work(
                burst=True, with_scheduler=True, logging_level="WARNING")
        listeners = [thread for thread in set(threading.enumerate()) - before
                     if isinstance(thread, PubSubWorkerThread)]
        for listener in listeners:
            listener.join(10)      # a listener still waiting for a subscription waits 60 s
        assert not [listener for listener in listeners if listener.is_alive()]
