"""The time-limit file (config/time_limits.toml or HOTLINE_TIME_LIMITS), loaded and checked once.

A bad file stops start-up with a message naming the key, never a silent default.
"""

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from hotline.clocks.durations import Duration, parse_duration

TICKET_CLOCKS = ("dispatch", "acknowledge", "respond", "handle")
REFERRAL_CLOCKS = ("accept", "first_contact", "outcome")
MATCH_KEYS = ("desk", "category", "priority")
WINDOWS = ("return", "reopen", "extension_total")


class TimeLimitsError(ValueError):
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

    def rule_for(self, desk: str, category: str, priority: str) -> Rule:
        for rule in self.rules:
            if rule.fits(desk, category, priority):
                return rule
        raise TimeLimitsError(
            f"no [[rule]] fits desk={desk} category={category} priority={priority}; "
            "end the file with a rule whose match is {}"
        )


def load_time_limits(path: str | Path) -> TimeLimits:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TimeLimitsError(f"time-limit file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise TimeLimitsError(f"time-limit file {path} is not valid TOML: {exc}") from None
    return _build(raw, path)


def _build(raw: dict, path: Path) -> TimeLimits:
    def duration(section: dict, key: str, where: str) -> Duration:
        if key not in section:
            raise TimeLimitsError(f"{path}: missing key {where}.{key}")
        try:
            return parse_duration(section[key])
        except ValueError as exc:
            raise TimeLimitsError(f"{path}: bad value for {where}.{key}: {exc}") from None

    warning = raw.get("warning", {})
    ticket = raw.get("ticket", {})
    windows = raw.get("windows", {})
    ratio = warning.get("ratio", 0.8)
    if not isinstance(ratio, int | float) or not 0 < ratio < 1:
        raise TimeLimitsError(f"{path}: warning.ratio must be a number between 0 and 1")
    attempts = ticket.get("callback_attempts", 3)
    if not isinstance(attempts, int) or attempts < 1:
        raise TimeLimitsError(f"{path}: ticket.callback_attempts must be a whole number >= 1")

    rules = []
    for index, entry in enumerate(raw.get("rule", [])):
        where = f"rule[{index}]" + (f" ({entry['name']})" if "name" in entry else "")
        match = {}
        for key, value in entry.get("match", {}).items():
            if key not in MATCH_KEYS:
                raise TimeLimitsError(f"{path}: {where}.match.{key} is not one of {MATCH_KEYS}")
            values = [value] if isinstance(value, str) else value
            match[key] = frozenset(values)
        clock = entry.get("clock", "calendar")
        if clock not in ("calendar", "24x7"):
            raise TimeLimitsError(f"{path}: {where}.clock must be 'calendar' or '24x7'")
        limits = {kind: duration(entry, kind, where) for kind in TICKET_CLOCKS}
        escalations = entry.get("escalation", {})
        if not isinstance(escalations, dict) or not set(escalations) <= set(TICKET_CLOCKS):
            raise TimeLimitsError(f"{path}: {where}.escalation keys must be among {TICKET_CLOCKS}")
        rules.append(Rule(entry.get("name", where), match, clock == "24x7", limits,
                          {str(k): str(v) for k, v in escalations.items()}))
    if not rules or rules[-1].match:
        raise TimeLimitsError(f"{path}: the last [[rule]] must have an empty match (the fallback)")

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
    )


def _referral_limits(section: dict, duration) -> dict[str, dict[str, Duration]]:
    normal = {kind: duration(section, kind, "referral") for kind in REFERRAL_CLOCKS}
    crisis_section = section.get("crisis", {})
    crisis = {kind: duration(crisis_section, kind, "referral.crisis") for kind in REFERRAL_CLOCKS}
    return {"normal": normal, "crisis": crisis}
