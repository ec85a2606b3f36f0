"""Duration strings of the time-limit file: `90s`, `10m`, `2h`, `1d`, `3wd`, `30wm`, `2wh`."""

import re
from dataclasses import dataclass
from datetime import timedelta

_PATTERN = re.compile(r"^\s*(\d+)\s*(wd|wm|wh|s|m|h|d)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Working minutes and hours: their length in working time, and their 7x24 equivalent.
_WORKING = {"wm": 60, "wh": 3600}


@dataclass(frozen=True)
class Duration:
    """An amount of time: elapsed (`s`, `m`, `h`, `d`), working days (`wd`) or working
    minutes/hours (`wm`, `wh`: counted only inside the working hours of working days)."""

    amount: int
    unit: str

    @property
    def working_days(self) -> bool:
        return self.unit == "wd"

    @property
    def working_hours(self) -> bool:
        return self.unit in _WORKING

    @property
    def on_calendar(self) -> bool:
        """Whether the working-day calendar decides where it ends."""
        return self.working_days or self.working_hours

    def as_timedelta(self) -> timedelta:
        """The elapsed length; only for 7x24 units (`wd`, `wm`, `wh` have no fixed length)."""
        if self.on_calendar:
            raise ValueError("a working-time duration has no fixed length")
        return timedelta(seconds=self.amount * _UNITS[self.unit])

    def working_length(self) -> timedelta:
        """How much working time a `wm`/`wh` duration counts."""
        if not self.working_hours:
            raise ValueError("only working minutes or hours have a working length")
        return timedelta(seconds=self.amount * _WORKING[self.unit])

    def elapsed_equivalent(self) -> timedelta:
        """The length on a 7x24 clock: a working day is a calendar day, a working hour an hour."""
        if self.working_days:
            return timedelta(days=self.amount)
        if self.working_hours:
            return self.working_length()
        return self.as_timedelta()

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


def parse_duration(text: str) -> Duration:
    """Parse `"3wd"` into Duration(3, "wd"); ValueError with the text otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"expected a duration string like '2h' or '3wd', got {text!r}")
    match = _PATTERN.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration (use s, m, h, d, wd, wm or wh, e.g. '10m', '3wd')")
    return Duration(int(match.group(1)), match.group(2))
