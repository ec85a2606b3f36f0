"""Referrals (转介) to partner organisations: psychological institutions, the 12348 legal-aid
platform and social-work organisations (docs/design.md §5).

The interface with tickets is small and one-way: the tickets never import this package.
- The ticket actions `refer` and `mandatory_report`, the refusal of a reply while a crisis
  referral is unanswered, the 强制报告 on a minor's abuse words and the partners a crisis
  ticket is offered are receivers of `hotline.signals` in `referrals.service`, connected by
  `hotline.receivers` (docs/architecture.md §7).
- Referrals use the tickets through `hotline.tickets.events.record_event` (every referral
  step is also an event on its ticket), `hotline.permissions`, `tickets.models` and
  `tickets.clock_events`, and read the ticket's own fields.
Referral clocks are ticket timers with a `referral_id`, fired by the same machinery: their
handler (`referrals.service.clock_fired`) is registered with `hotline.clocks.firing.on_fire`.
"""
