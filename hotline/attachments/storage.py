"""Where attachment bytes live: a small interface, a folder on the local disk by default.

`ATTACHMENT_STORAGE_PATH` (default: `attachments/` under the instance folder) is the root.
Keys are made here, never from a file's name: `<ticket id>/<random hex>` and the thumbnail
`<key>.thumb.jpg`. Writes go to a temporary file in the same folder and are renamed into
place, so a reader never sees half a file and a crash leaves no truncated one behind.

With several web and worker nodes the root must be one shared volume mounted at the same
path on every node (NFS, CephFS, a cloud file share): docs/operations.md. Another backend
(an object store) implements `Storage` and is returned by `storage()`.
"""

import logging
import os
import secrets
import tempfile
from pathlib import Path
from typing import Protocol

from flask import current_app

from hotline.errors import HotlineError

log = logging.getLogger(__name__)


class StorageMissing(HotlineError):
    """The row exists but its bytes are gone (a volume not mounted, a file removed by hand)."""

    code = 410
    error_code = "attachment.missing"


class Storage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


class LocalStorage:
    """Files under one root folder (a local disk, or a shared volume mounted on every node)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"storage key outside the root: {key!r}")
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            log.warning("the stored file %s is missing", key)
            raise StorageMissing() from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def storage() -> Storage:
    root = current_app.config.get("ATTACHMENT_STORAGE_PATH") or \
        os.path.join(current_app.instance_path, "attachments")
    return LocalStorage(root)


def new_key(ticket_id: int, extension: str) -> str:
    return f"{ticket_id}/{secrets.token_hex(16)}.{extension}"


def thumbnail_key(key: str) -> str:
    return f"{key}.thumb.jpg"
