"""The time-limit file (config/time_limits.toml or HOTLINE_TIME_LIMITS), loaded and checked once.

A bad file stops start-up with a message naming the key, never a silent default.
"""

import re
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path

from hotline import rulebook
from hotline.clocks.calendar import OFFICE_HOURS, WorkingHours
from hotline.clocks.durations import Duration, parse_duration
from hotline.errors import RuleDocumentError

TICKET_CLOCKS = ("dispatch", "acknowledge", "respond", "handle")
REFERRAL_CLOCKS = ("accept", "first_contact", "outcome")
MATCH_KEYS = ("desk", "category", "priority")
WINDOWS = ("return", "reopen", "extension_total")


class TimeLimitsError(RuleDocumentError):
    """The time-limit file is missing, unreadable or has a bad key."""


@dataclass(frozen=True)
class Rule:
    name: str
    match: dict[str, frozenset[str]]
    around_the_clock: bool
    limits: dict[str, Duration]
    # Who an overdue clock goes to beyond the unit and the supervisor (hard cases' tiers).
    escalations: dict[str, str] = field(default_factory=dict)

    def fits(self, desk: str, category: str, priority: str) -> bool:
        values = {"desk": desk, "category": category, "priority": priority}
        return all(values[key] in allowed for key, allowed in self.match.items())


@dataclass(frozen=True)
class TimeLimits:
    rules: tuple[Rule, ...]
    warning_ratio: float
    warning_before: Duration
    review: Duration
    callback: Duration
    callback_attempts: int
    callback_spacing: Duration
    windows: dict[str, Duration] = field(default_factory=dict)
    # urgency ("normal", "crisis") -> referral clock -> limit
    referral: dict[str, dict[str, Duration]] = field(default_factory=dict)
    mandatory_report: Duration | None = None
    # When "wm"/"wh" clocks run on a working day.
    working_hours: WorkingHours = OFFICE_HOURS

    # The rule found for each (desk, category, priority) asked (a batch of clocks asks alike).
    _found: dict[tuple[str, str, str], Rule] = field(default_factory=dict, compare=False, repr=False)

    def rule_for(self, desk: str, category: str, priority: str) -> Rule:
        found = self._found.get((desk, category, priority))
        if found is not None:
            return found
        for rule in self.rules:
            if rule.fits(desk, category, priority):
                self._found[(desk, category, priority)] = rule
                return rule
        raise TimeLimitsError(error="time_limits.no_rule_fits",
                              params={"desk": desk, "category": category, "priority": priority})


def load_time_limits(path: str | Path) -> TimeLimits:
    return rulebook.load_file(path, build_time_limits, TimeLimitsError)


def build_time_limits(raw: dict, path: str) -> TimeLimits:
    """The time limits of a parsed document (`path` names it in errors: a file or a table)."""
    def duration(section: dict, key: str, where: str) -> Duration:
        if key not in section:
            raise TimeLimitsError(path, error="time_limits.missing_key", params={"key": f"{where}.{key}"})
        try:
            return parse_duration(section[key])
        except ValueError:
            raise TimeLimitsError(path, error="time_limits.not_a_duration",
                                  params={"key": f"{where}.{key}", "value": section[key]}) from None

    warning = raw.get("warning", {})
    ticket = raw.get("ticket", {})
    windows = raw.get("windows", {})
    ratio = warning.get("ratio", 0.8)
    if not isinstance(ratio, int | float) or not 0 < ratio < 1:
        raise TimeLimitsError(path, error="time_limits.bad_ratio", params={"key": "warning.ratio"})
    attempts = ticket.get("callback_attempts", 3)
    if not isinstance(attempts, int) or attempts < 1:
        raise TimeLimitsError(path, error="time_limits.bad_attempts",
                              params={"key": "ticket.callback_attempts"})

    rules = []
    for index, entry in enumerate(raw.get("rule", [])):
        where = f"rule[{index}]" + (f" ({entry['name']})" if "name" in entry else "")
        match = {}
        for key, value in entry.get("match", {}).items():
            if key not in MATCH_KEYS:
                raise TimeLimitsError(path, error="time_limits.bad_match_key",
                                      params={"key": f"{where}.match.{key}", "allowed": MATCH_KEYS})
            values = [value] if isinstance(value, str) else value
            match[key] = frozenset(values)
        clock = entry.get("clock", "calendar")
        if clock not in ("calendar", "24x7"):
            raise TimeLimitsError(path, error="time_limits.bad_clock", params={"key": f"{where}.clock"})
        limits = {kind: duration(entry, kind, where) for kind in TICKET_CLOCKS}
        escalations = entry.get("escalation", {})
        if not isinstance(escalations, dict) or not set(escalations) <= set(TICKET_CLOCKS):
            raise TimeLimitsError(path, error="time_limits.bad_escalation",
                                  params={"key": f"{where}.escalation", "allowed": TICKET_CLOCKS})
        rules.append(Rule(entry.get("name", where), match, clock == "24x7", limits,
                          {str(k): str(v) for k, v in escalations.items()}))
    if not rules or rules[-1].match:
        raise TimeLimitsError(path, error="time_limits.no_fallback")

    return TimeLimits(
        rules=tuple(rules),
        warning_ratio=float(ratio),
        warning_before=duration(warning, "before", "warning"),
        review=duration(ticket, "review", "ticket"),
        callback=duration(ticket, "callback", "ticket"),
        callback_attempts=attempts,
        callback_spacing=duration(ticket, "callback_spacing", "ticket"),
        windows={key: duration(windows, key, "windows") for key in WINDOWS},
        referral=_referral_limits(raw.get("referral", {}), duration),
        mandatory_report=duration(raw.get("mandatory_report", {}), "due", "mandatory_report"),
        working_hours=_working_hours(raw.get("working_hours", {}), path),
    )


_PERIOD = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _working_hours(section: dict, path: str) -> WorkingHours:
    """`periods = ["09:00-12:00", "13:30-17:30"]`: in order, not overlapping, within one day."""
    if "periods" not in section:
        return OFFICE_HOURS
    periods = section["periods"]
    key = "working_hours.periods"
    if not isinstance(periods, list) or not periods:
        raise TimeLimitsError(path, error="time_limits.no_periods", params={"key": key})
    parsed: list[tuple[time, time]] = []
    for text in periods:
        match = _PERIOD.match(text) if isinstance(text, str) else None
        try:
            opens, closes = (time(int(match[1]), int(match[2])), time(int(match[3]), int(match[4]))) \
                if match else (None, None)
        except ValueError:
            opens = closes = None
        if opens is None or closes is None or opens >= closes:
            raise TimeLimitsError(path, error="time_limits.bad_period", params={"key": key, "period": text})
        if parsed and opens < parsed[-1][1]:
            raise TimeLimitsError(path, error="time_limits.periods_out_of_order",
                                  params={"key": key, "period": text})
        parsed.append((opens, closes))
    return tuple(parsed)


def _referral_limits(section: dict, duration) -> dict[str, dict[str, Duration]]:
    normal = {kind: duration(section, kind, "referral") for kind in REFERRAL_CLOCKS}
    crisis_section = section.get("crisis", {})
    crisis = {kind: duration(crisis_section, kind, "referral.crisis") for kind in REFERRAL_CLOCKS}
    return {"normal": normal, "crisis": crisis}
