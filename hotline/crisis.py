"""Crisis words: does a text speak of self-harm, abuse or violence (DESIGN §5)?

The word list lives in config/crisis_keywords.toml (HOTLINE_CRISIS_KEYWORDS
replaces it) and is read once at start-up; a bad file stops start-up.
"""

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app


class CrisisKeywordsError(ValueError):
    """The keyword file is missing or malformed."""


@dataclass(frozen=True)
class CrisisWords:
    kinds: dict[str, tuple[str, ...]]
    ignore: tuple[str, ...] = ()

    def detect(self, text: str | None) -> "Signal":
        cleaned = text or ""
        for phrase in self.ignore:
            cleaned = cleaned.replace(phrase, " ")
        found = {kind: [word for word in words if word in cleaned]
                 for kind, words in self.kinds.items()}
        return Signal({kind: tuple(words) for kind, words in found.items() if words})


@dataclass(frozen=True)
class Signal:
    """What was found, by kind (self_harm, abuse, violence)."""

    found: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.found)

    @property
    def kinds(self) -> list[str]:
        return sorted(self.found)

    @property
    def words(self) -> list[str]:
        return sorted({word for words in self.found.values() for word in words})

    @property
    def suggests_abuse(self) -> bool:
        return "abuse" in self.found


def load_crisis_words(path: str | Path) -> CrisisWords:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CrisisKeywordsError(f"crisis keyword file {path}: {exc}") from None
    kinds = raw.get("kinds")
    if not isinstance(kinds, dict) or not kinds:
        raise CrisisKeywordsError(f"{path}: [kinds] must list words by kind")
    for kind, words in kinds.items():
        if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
            raise CrisisKeywordsError(f"{path}: kinds.{kind} must be a list of words")
    ignore = raw.get("ignore", {}).get("phrases", [])
    return CrisisWords({kind: tuple(words) for kind, words in kinds.items()}, tuple(ignore))


def detect(text: str | None) -> Signal:
    """Crisis words in `text`, with this app's word list."""
    return current_app.extensions["hotline.crisis_words"].detect(text)
