"""The signals domains send each other (blinker), declared and documented in this one module.

Depends on: blinker only, so any module may import it without pulling in another domain.

A lower domain sends; the domains above it that care connect receivers, so the sender never
imports them (tickets do not import referrals, callbacks or the outgoing webhooks; the
outbox does not import callbacks). Every receiver is connected in one place,
`hotline.receivers.connect`, which `create_app` calls: import order is not load-bearing,
and docs/architecture.md §7 has the table of who sends what to whom.

Every signal here is sent synchronously, inside the request's or job's transaction, before
its commit: a receiver writes and flushes like a service (never commits), and an exception
it raises rolls the whole request back, as if the sender had raised it. Receivers must not
depend on their order (blinker does not promise one); a signal that needs an answer says so.
"""

from blinker import Namespace

_signals = Namespace()

event_recorded = _signals.signal("ticket-event-recorded", doc="""
A ticket event was appended to the ticket's log (added to the session, not flushed yet).

sender: the event's action (str: "create", "dispatch", "timer_overdue", "referral_sent"...)
kwargs: event (hotline.tickets.models.Event, with its ticket)
sent by: hotline.tickets.events.record_event, for every event
receivers: hotline.subscriptions.capture (outgoing webhooks, written at commit)
""")

action_checking = _signals.signal("ticket-action-checking", doc="""
An action is about to change a ticket: the state allows it; other domains may refuse it.

sender: the action (str, a trigger of hotline.tickets.workflow.TRANSITIONS)
kwargs: ticket, actor (User or None for the service itself), data (the validated body)
sent by: the ticket machine's `before_state_change`, before the transition's own `before`
         refusals and before anything is changed
a receiver refuses by raising a HotlineError (409 Conflict, 422 Invalid...)
receivers: referrals.service.refuse_reply_while_crisis_unanswered ("reply")
""")

action_performed = _signals.signal("ticket-action-performed", doc="""
An action changed a ticket: the transition's own effects are applied.

sender: the action (str)
kwargs: ticket, actor (User or None), data (the validated body), record (dict: what the
        action's event keeps beyond the body; a receiver may add to it), now (datetime)
sent by: the ticket machine's `after_state_change`, after the transition's `after` effects
         and before the action's event is recorded and flushed
receivers: referrals.service.refer_from_ticket ("refer": the referral, its clock),
           referrals.service.report_from_ticket ("mandatory_report"),
           hotline.callbacks.start ("approve_reply": the SMS survey after commit)
""")

crisis_flagged = _signals.signal("ticket-crisis-flagged", doc="""
A ticket entered the crisis path (crisis words at intake or in a note, the seat's judgement,
a high risk assessment): priority crisis, the event recorded, clocks recomputed, alert raised.

sender: the ticket (hotline.tickets.models.Ticket)
kwargs: actor (User or None), signal (hotline.crisis.Signal: the words and their kinds)
sent by: hotline.tickets.crisis_path.enter_crisis_path (after the intake's first flush)
receivers: referrals.service.report_suspected_abuse (强制报告 for a minor's abuse words)
""")

crisis_partners = _signals.signal("ticket-crisis-partners", doc="""
Which partners the seat is offered on a crisis ticket (beside the 110 transfer).

sender: the ticket; kwargs: none
sent by: hotline.tickets.schemas.TicketWriteOut.dump_crisis (reading, no writes)
answers: each receiver returns a list of partners (objects with `code` and `name`)
receivers: referrals.service.crisis_partners
""")

message_refused = _signals.signal("outbox-message-refused", doc="""
Twilio refused an outgoing text or call for good (unsubscribed, invalid, not a mobile).

sender: the message's purpose (str: "callback_survey", "callback_voice"...)
kwargs: message (hotline.outbox.OutboxMessage), code (Twilio's error code)
sent by: hotline.outbox.refused_for_good (a status report or a refused send)
receivers: hotline.callbacks.refused (the callback closes as unreachable at once)
""")

year_declared = _signals.signal("calendar-year-declared", doc="""
An admin declared a year's holidays: clocks computed on it provisionally are recomputed.

sender: the year (int)
sent by: hotline.clocks.overrides.declare_year
answers: each receiver returns how many clocks moved
receivers: hotline.tickets.recompute.year_declared (the provisional clocks)
""")
