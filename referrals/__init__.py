"""Referrals (转介) to partner organisations: psychological institutions, the 12348 legal-aid
platform and social-work organisations (docs/design.md §5).

The interface with tickets is small and one-way at each end:
- tickets call `referrals.service.open_referral(ticket, actor, data)` from the ticket
  action `refer`, and `referrals.service.unanswered_crisis(ticket)` before a reply;
- referrals call tickets only through `hotline.tickets.service.record_event` (every
  referral step is also an event on its ticket) and read the ticket's own fields.
Referral clocks are ticket timers with a `referral_id`, fired by the same machinery.
"""
