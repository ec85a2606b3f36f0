"""Crisis words: does a text speak of self-harm, abuse or violence (docs/design.md §5)?

The word list lives in config/crisis_keywords.toml (HOTLINE_CRISIS_KEYWORDS
replaces it) and is checked at start-up; a bad file stops start-up. An admin edits it in the
console (hotline.rulebook stores it, in force without a restart). Phrases to ignore
are removed first; a word said right after a negation ("不是想死") does not count for the
kinds the file names, but any other mention of it in the text still does.
"""

from dataclasses import dataclass, field
from pathlib import Path

from hotline import rulebook
from hotline.errors import RuleDocumentError
from hotline.rulebook import RuleSet


class CrisisKeywordsError(RuleDocumentError):
    """The keyword file is missing or malformed."""


@dataclass(frozen=True)
class Negation:
    """Cues ("没有") and fillers ("想") that, just before a word, negate it (for `kinds`)."""

    kinds: frozenset[str] = frozenset()
    cues: tuple[str, ...] = ()
    fillers: tuple[str, ...] = ()

    def negates(self, before: str) -> bool:
        """Does the text just before a word end with a cue, optionally followed by a filler?"""
        return any(before.endswith(cue + filler) for cue in self.cues for filler in ("", *self.fillers))


@dataclass(frozen=True)
class CrisisWords:
    kinds: dict[str, tuple[str, ...]]
    ignore: tuple[str, ...] = ()
    negation: Negation = Negation()

    def detect(self, text: str | None) -> "Signal":
        cleaned = text or ""
        for phrase in self.ignore:
            cleaned = cleaned.replace(phrase, " ")
        found = {kind: [word for word in words if self._said(cleaned, word, kind)]
                 for kind, words in self.kinds.items()}
        return Signal({kind: tuple(words) for kind, words in found.items() if words})

    def _said(self, text: str, word: str, kind: str) -> bool:
        """`word` occurs in `text` at least once without a negation before it."""
        if kind not in self.negation.kinds:
            return word in text
        start = text.find(word)
        while start != -1:
            if not self.negation.negates(text[:start]):
                return True
            start = text.find(word, start + 1)
        return False


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
    return rulebook.load_file(path, build_crisis_words, CrisisKeywordsError)


def build_crisis_words(raw: dict, path: str) -> CrisisWords:
    """The lexicon of a parsed document (`path` names it in errors: a file or a table)."""
    kinds = raw.get("kinds")
    if not isinstance(kinds, dict) or not kinds:
        raise CrisisKeywordsError(path, error="crisis_words.no_kinds_table")
    for kind, words in kinds.items():
        if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
            raise CrisisKeywordsError(path, error="crisis_words.not_words", params={"key": f"kinds.{kind}"})
    ignore = raw.get("ignore", {}).get("phrases", [])
    negation = raw.get("negation", {})
    for key in ("kinds", "cues", "fillers"):
        values = negation.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
            raise CrisisKeywordsError(path, error="crisis_words.not_words", params={"key": f"negation.{key}"})
    unknown = set(negation.get("kinds", [])) - set(kinds)
    if unknown:
        raise CrisisKeywordsError(path, error="crisis_words.unknown_negation",
                                  params={"kinds": sorted(unknown)})
    return CrisisWords({kind: tuple(words) for kind, words in kinds.items()}, tuple(ignore),
                       Negation(frozenset(negation.get("kinds", [])), tuple(negation.get("cues", [])),
                                tuple(negation.get("fillers", []))))


def detect(text: str | None) -> Signal:
    """Crisis words in `text`, with this app's word list."""
    return CRISIS_WORDS.current().detect(text)


# The lexicon in force: the file, or what an admin saved (hotline.rulebook).
CRISIS_WORDS = RuleSet("crisis_words", "HOTLINE_CRISIS_KEYWORDS", "hotline.crisis_words", build_crisis_words)
