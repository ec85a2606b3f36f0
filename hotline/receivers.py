"""Where the domains are wired together: every signal receiver, timer handler, job and sweep
step is connected here, in one place, by `create_app` (`connect`).

Depends on: every domain that takes part (it sits at the top, beside the app factory). The
senders (`hotline.signals`, `hotline.clocks.firing`, `hotline.tasks`) import none of them,
so no import order is load-bearing: no reaction of one domain to another is connected as a
side effect of an import. (Invariants of a model's own rows stay with the model, whoever
writes them: the audit hash chains in `hotline.audit`, sessions ending on deactivation in
`hotline.auth`.) docs/architecture.md §7 has the same table in prose.
"""

from hotline import (
    callbacks,
    failed_jobs,
    history,
    hotspots,
    kpi_rollups,
    kpis,
    outbox,
    search,
    signals,
    subscriptions,
    tasks,
)
from hotline.attachments import mms
from hotline.channels import sms, status, survey
from hotline.clocks import firing
from hotline.clocks.models import TimerKind
from hotline.knowledge import service as knowledge
from hotline.tickets import clock_events, recompute
from referrals import service as referrals


def connect() -> None:
    """Connect everything (idempotent: connecting the same receiver again changes nothing)."""
    # Ticket events and actions -> the domains above the tickets.
    signals.event_recorded.connect(subscriptions.capture)
    signals.action_checking.connect(referrals.refuse_reply_while_crisis_unanswered, sender="reply")
    signals.action_performed.connect(referrals.refer_from_ticket, sender="refer")
    signals.action_performed.connect(referrals.report_from_ticket, sender="mandatory_report")
    signals.action_performed.connect(callbacks.reply_approved, sender="approve_reply")
    signals.crisis_flagged.connect(referrals.report_suspected_abuse)
    signals.crisis_partners.connect(referrals.crisis_partners)
    signals.message_refused.connect(callbacks.refused)
    signals.year_declared.connect(recompute.year_declared)
    # Search: every flush reindexes the tickets it touched (SQLAlchemy's session events).
    search.listen()

    # A fired clock, by whose clock it is.
    firing.on_fire(clock_events.TICKET_KINDS, clock_events.fired)
    firing.around_batch(clock_events.batch)
    firing.on_fire((TimerKind.ACCEPT, TimerKind.FIRST_CONTACT, TimerKind.OUTCOME), referrals.clock_fired)

    # What each job declared in hotline.tasks does.
    tasks.implement(tasks.fire_timer, firing.fire)
    tasks.implement(tasks.fire_clocks, firing.fire_second_of)
    tasks.implement(tasks.deliver_message, outbox.deliver)
    tasks.implement(tasks.callback_survey, callbacks.send_survey)
    tasks.implement(tasks.callback_followup, callbacks.follow_up)
    tasks.implement(tasks.process_inbound_sms, sms.process)
    tasks.implement(tasks.reapply_status, status.reapply)
    tasks.implement(tasks.voice_survey, survey.send_survey_call)
    tasks.implement(tasks.process_survey_key, survey.process_key)
    tasks.implement(tasks.deliver_webhook, subscriptions.deliver)
    tasks.implement(tasks.fetch_mms_media, mms.fetch)

    # The minute sweep's steps, in this order.
    tasks.sweeps("clocks", firing.sweep)
    tasks.sweeps("messages", outbox.requeue_stuck)
    tasks.sweeps("inbound_sms", sms.requeue_unprocessed)
    tasks.sweeps("callback_surveys", callbacks.requeue_lost)
    tasks.sweeps("survey_keys", failed_jobs.requeue_lost_survey_keys)
    tasks.sweeps("failed_jobs_retried", failed_jobs.retry_due)
    tasks.sweeps("webhooks", subscriptions.requeue_due)
    tasks.sweeps("mms_media", mms.requeue_unfetched)
    tasks.sweeps("hotspots", hotspots.detect)
    tasks.sweeps("knowledge_expiring", knowledge.notify_expiring)
    tasks.sweeps("kpi_rollups", kpi_rollups.fold)
    # Last: creating a month's partition locks the table until the sweep commits.
    tasks.sweeps("history", history.ensure_ahead)
    kpis.sums_from(kpi_rollups.sums)
