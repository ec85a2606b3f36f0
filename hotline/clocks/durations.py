"""Duration strings of the time-limit file: `90s`, `10m`, `2h`, `1d`, `3wd`."""

import re
from dataclasses import dataclass
from datetime import timedelta

_PATTERN = re.compile(r"^\s*(\d+)\s*(s|m|h|d|wd)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Duration:
    """An amount of time: elapsed (`s`, `m`, `h`, `d`) or working days (`wd`)."""

    amount: int
    unit: str

    @property
    def working_days(self) -> bool:
        return self.unit == "wd"

    def as_timedelta(self) -> timedelta:
        """The elapsed length; only for 7x24 units (`wd` has no fixed length)."""
        if self.working_days:
            raise ValueError("a working-day duration has no fixed length")
        return timedelta(seconds=self.amount * _UNITS[self.unit])

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


def parse_duration(text: str) -> Duration:
    """Parse `"3wd"` into Duration(3, "wd"); ValueError with the text otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"expected a duration string like '2h' or '3wd', got {text!r}")
    match = _PATTERN.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration (use s, m, h, d or wd, e.g. '10m', '3wd')")
    return Duration(int(match.group(1)), match.group(2))
