"""Passwords: the minimum policy, hashing with argon2id, and upgrading older hashes at sign-in.

argon2id with OWASP's minimum parameters (19 MiB, 2 passes, 1 lane): a current algorithm that
still answers a sign-in in tens of milliseconds on a shared server. Hashes made before
(werkzeug's `pbkdf2:`/`scrypt:`) still verify and are replaced at the next good sign-in.
"""

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from werkzeug.security import check_password_hash

from config import CONFIG_DIR
from hotline.errors import Invalid, Problem

MIN_LENGTH = 10
MAX_LENGTH = 200
COMMON_PASSWORDS_FILE = CONFIG_DIR / "common_passwords.txt"

class WeakPassword(Invalid):
    """A new password the policy refuses (422, `auth.weak_password`)."""

    error_code = "auth.weak_password"


HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# werkzeug's formats, accepted for verification only (then upgraded).
LEGACY_PREFIXES = ("pbkdf2:", "scrypt:")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify(password_hash: str, password: str) -> bool:
    """Does `password` match the stored hash (argon2id, or a legacy werkzeug one)?"""
    if password_hash.startswith(LEGACY_PREFIXES):
        return check_password_hash(password_hash, password)
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_upgrade(password_hash: str) -> bool:
    """A legacy format, or argon2 with other parameters than today's."""
    if password_hash.startswith(LEGACY_PREFIXES):
        return True
    try:
        return HASHER.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@cache
def _dummy_hash() -> str:
    return HASHER.hash("no user has this password")


def burn_time(password: str) -> None:
    """Spend what checking a real user's password costs, for a name that has no user:
    the answer for an unknown name takes as long as a wrong password (no enumeration by timing)."""
    verify(_dummy_hash(), password)


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def check_policy(password: str, username: str, field: str = "password") -> None:
    """Refuse a new password that is short, is (or contains) the username, is one character
    repeated, or is on the list of common passwords (422 naming `password`)."""
    lowered = password.lower()
    problem = None
    if len(password) < MIN_LENGTH:
        problem = Problem("password.too_short", {"min": MIN_LENGTH})
    elif len(password) > MAX_LENGTH:
        problem = Problem("password.too_long", {"max": MAX_LENGTH})
    elif username and username.lower() in lowered:
        problem = Problem("password.contains_username")
    elif len(set(password)) < 4 or lowered in common_passwords():
        problem = Problem("password.too_common")
    if problem:
        raise WeakPassword(errors={field: [problem]}, params={"why": problem})
