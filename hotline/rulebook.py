"""The rules a centre owns and edits without a terminal: time limits, the routing catalogue and
the crisis lexicon, each one document stored in `centre_rules`.

Each rule set is the parsed form of its TOML file (config/time_limits.toml, routing.toml,
crisis_keywords.toml, or the files the settings name). With no row in the database the file is
the rule set (the built-in values are the seed); the first save writes the whole document, and
from then on the database wins. A document is built (checked) by the owning module's builder
before it is stored, so a bad value is refused with its key named and never reaches a clock.

Caching: the built rule set is kept per process with the row's `stamp` (new at each save). Each
request or job takes the stamps from the process's cache of them (hotline.shared_cache: a save
anywhere makes every process read them again at its next request) and rebuilds only a rule set
whose stamp moved, so a save in one process is in force in every other from their next request:
no restart.

Every save is an audited change (hotline.admin.changes, subject `rules`, key the rule set's
name, with the keys that changed before and after). Depends on hotline.admin.changes only;
the owning modules (hotline.clocks.service, hotline.routing, hotline.crisis) declare their
`RuleSet` here, so this module imports none of them.
"""

import secrets
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app, g
from sqlalchemy import JSON, String, select
from sqlalchemy.orm import Mapped, mapped_column

from hotline import changelog as changes
from hotline import shared_cache
from hotline.changelog import Subject
from hotline.errors import RuleDocumentError
from hotline.extensions import db
from hotline.types import UTCDateTime, utcnow
from hotline.users import User


class StoredRules(db.Model):
    """One rule set as the centre edited it; `version` counts the saves."""

    __tablename__ = "centre_rules"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    document: Mapped[dict] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(default=1)
    # A fresh random value per save: what the per-process caches compare (a version number
    # could repeat after a restore from a backup).
    stamp: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(80))


@dataclass(frozen=True)
class RuleSet:
    """One editable rule set: its name, the setting naming its file, the app extension holding
    the file's built form (loaded at start-up), and the builder `(document, where) -> rules`
    that raises a RuleDocumentError naming the bad key."""

    name: str
    setting: str
    extension: str
    build: Callable[[dict, str], Any]

    def current(self) -> Any:
        """The rule set in force: the database's if saved and it still builds, else the file's."""
        return self._saved()[0]

    def refused(self) -> RuleDocumentError | None:
        """Why the saved document is not in force (it no longer builds, e.g. a release made a
        key required), or None. The file's rules are in force meanwhile, so tickets keep being
        taken; the editors show this and start from the file's document."""
        return self._saved()[1]

    def _saved(self) -> tuple[Any, RuleDocumentError | None]:
        stamp = _stamps().get(self.name)
        if stamp is None:
            return current_app.extensions[self.extension], None
        cache = current_app.extensions.setdefault("hotline.rulebook", {})
        cached = cache.get(self.name)
        if cached is None or cached[0] != stamp:
            row = db.session.get(StoredRules, self.name)
            try:
                cached = (row.stamp, self.build(row.document, f"centre_rules.{self.name}"), None)
            except RuleDocumentError as error:
                current_app.logger.error("%s; the file's %s are in force until an admin saves them again",
                                         error, self.name)
                cached = (row.stamp, current_app.extensions[self.extension], error)
            cache[self.name] = cached
        return cached[1], cached[2]

    def document(self) -> dict:
        """The document in force, to edit: the saved one, else (none saved, or it no longer
        builds) the file parsed."""
        row = db.session.get(StoredRules, self.name)
        if row is not None and self.refused() is None:
            return row.document
        return tomllib.loads(Path(current_app.config[self.setting]).read_text(encoding="utf-8"))

    def source(self) -> StoredRules | None:
        """Who saved the rule set in force and when (None: the built-in file is in force)."""
        return db.session.get(StoredRules, self.name)

    def save(self, actor: User, document: dict, note: str = "") -> Any:
        """Check `document` with the builder, store it, record the change; returns the built
        rules. A RuleDocumentError from the builder propagates (the caller names the field)."""
        built = self.build(document, f"centre_rules.{self.name}")
        before = self.document()
        row = db.session.get(StoredRules, self.name, with_for_update=True)
        if row is None:
            row = StoredRules(name=self.name, version=0)
            db.session.add(row)
        row.document, row.version, row.stamp = document, row.version + 1, secrets.token_hex(16)
        row.updated_at, row.updated_by = utcnow(), actor.username
        db.session.flush()
        detail = changes.diff(_flatten(before), _flatten(document))
        detail.update({key: [value, None] for key, value in _flatten(before).items()
                       if key not in _flatten(document)})
        if note:
            detail["note"] = note
        changes.record(actor, Subject.RULES, self.name, "update", detail)
        g.rulebook_stamps = {**_stamps(), self.name: row.stamp}   # in force for this request
        current_app.extensions.setdefault("hotline.rulebook", {})[self.name] = (row.stamp, built, None)
        return built


def load_file(path: str | Path, build: Callable[[dict, str], Any], error: type[RuleDocumentError]) -> Any:
    """The rules of a shipped TOML file as `build` makes them; a file missing or not TOML
    stops start-up with `error` naming it."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(error="rules.file_missing", params={"file": path}) from None
    except OSError as exc:
        raise error(error="rules.file_unreadable",
                    params={"file": path, "why": exc.strerror or exc}) from None
    except tomllib.TOMLDecodeError as exc:
        raise error(error="rules.file_not_toml", params={"file": path, "why": exc}) from None
    return build(raw, str(path))


def _stamps() -> dict[str, str]:
    """The saved rule sets' stamps: this process's copy while no rule set was saved anywhere
    (hotline.shared_cache, name `rules`), read from the database once per request otherwise."""
    if "rulebook_stamps" not in g:
        g.rulebook_stamps = shared_cache.cached("rules", "stamps", _read_stamps)
    return g.rulebook_stamps


def _read_stamps() -> dict[str, str]:
    return dict(db.session.execute(select(StoredRules.name, StoredRules.stamp)).all())


def _flatten(document: Any, prefix: str = "") -> dict[str, Any]:
    """{"rule[0].dispatch": "2h", ...}: the leaves of a document, for the change log."""
    if isinstance(document, dict):
        flat: dict[str, Any] = {}
        for key, value in document.items():
            flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(document, list) and any(isinstance(item, dict) for item in document):
        flat = {}
        for index, item in enumerate(document):
            flat.update(_flatten(item, f"{prefix}[{index}]"))
        return flat
    return {prefix: document}
