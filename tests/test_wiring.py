"""The wiring `create_app` does (`hotline.receivers.connect`): every job declared in
`hotline.tasks` has the function that does its work, every clock kind a firing handler, every
signal its receivers and its documentation (issue 19). A job or kind added without its
registration would otherwise fail only in a worker, at the first firing."""

import blinker

from hotline import receivers, signals, tasks
from hotline.clocks import firing
from hotline.clocks.models import TimerKind


def _declared_jobs() -> list[str]:
    return sorted(name for name, value in vars(tasks).items()
                  if not name.startswith("_") and callable(value) and hasattr(value, "__wrapped__")
                  and value.__module__ == tasks.__name__)


def _signals() -> dict[str, blinker.NamedSignal]:
    return {name: value for name, value in vars(signals).items() if isinstance(value, blinker.NamedSignal)}


def test_every_declared_job_has_its_work_registered(app):
    jobs = _declared_jobs()
    assert "callback_survey" in jobs and "fire_timer" in jobs       # the scan finds the jobs
    missing = [name for name in jobs if name != "sweep" and name not in tasks._IMPLEMENTATIONS]
    assert missing == []


def test_the_minute_sweep_runs_every_domains_step_in_order(app):
    assert list(tasks._SWEEP_STEPS) == ["clocks", "messages", "inbound_sms", "callback_surveys",
                                        "survey_keys", "failed_jobs_retried", "webhooks", "mms_media",
                                        "hotspots", "knowledge_expiring", "kpi_rollups", "history"]


def test_every_kind_of_clock_has_a_firing_handler(app):
    assert sorted(firing._HANDLERS) == sorted(TimerKind)


def test_every_signal_is_documented_and_received(app):
    declared = _signals()
    assert "event_recorded" in declared and "action_performed" in declared
    for name, signal in declared.items():
        assert signal.receivers, f"signals.{name} has no receiver"
        for part in ("sender", "sent by", "receivers"):
            assert part in (signal.__doc__ or ""), f"signals.{name} does not say its {part}"


def test_connecting_again_adds_no_second_receiver(app):
    before = {name: len(signal.receivers) for name, signal in _signals().items()}
    receivers.connect()
    assert {name: len(signal.receivers) for name, signal in _signals().items()} == before
