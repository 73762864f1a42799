"""Counselor authentication: argon2id password hashes and server-side sessions.

The session cookie carries 256 random bits; the database keeps only their SHA-256, so a copy of
the database opens no session. Every login mints a new id, which defeats session fixation.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.cookies import CookieError, SimpleCookie
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from service.clock import iso_minutes_ago
from service.config import Settings
from service.domain.accounts import User
from service.errors import AppError
from service.storage import Store

log = logging.getLogger(__name__)

SESSION_COOKIE = "mg_session"
T = TypeVar("T")

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# argon2 costs tens of milliseconds of CPU and memory by design, and releases the GIL while it
# works: run it on threads of its own, so a burst of logins neither stalls the event loop nor
# takes the default executor's threads from other work. Two: the machine's cores.
_hashing = ThreadPoolExecutor(max_workers=2, thread_name_prefix="argon2")


@functools.cache
def _dummy_hash() -> str:
    """Verified when the username is unknown, so a login takes as long either way. Made on
    first use, on a hashing thread: importing this module costs nothing."""
    return _hasher.hash(secrets.token_urlsafe(16))


async def _off_loop(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(_hashing, fn, *args)


async def hash_password(password: str) -> str:
    return await _off_loop(_hasher.hash, password)


def _matches(stored_hash: str | None, password: str) -> bool:
    try:
        return bool(_hasher.verify(stored_hash or _dummy_hash(), password))
    except (VerificationError, InvalidHashError):
        return False


def new_password() -> str:
    return secrets.token_urlsafe(12)


async def authenticate(store: Store, username: str, password: str) -> User | None:
    creds = await store.get_credentials(username)
    if not await _off_loop(_matches, creds.password_hash if creds else None, password):
        return None
    if creds is None or not creds.user.active:
        return None
    return creds.user


async def verify_password(store: Store, username: str, password: str) -> bool:
    """Whether ``password`` is the active account's current one (to change it)."""
    return await authenticate(store, username, password) is not None


async def open_session(store: Store, user: User) -> str:
    session_id = secrets.token_urlsafe(32)
    await store.insert_session(session_id, user)
    return session_id


async def user_of_session(store: Store, settings: Settings, session_id: str | None) -> User | None:
    if not session_id or len(session_id) > 128:
        return None
    user = await store.get_session_user(session_id, iso_minutes_ago(settings.session_idle_minutes))
    if user is not None:
        try:
            await store.touch_session(session_id)
        except AppError:
            # Only the idle clock misses one tick; the page or socket still answers while
            # writes cannot commit (the health check reports that).
            log.warning("a session's last use could not be recorded")
    return user


def session_id_from_cookie_header(header: str | None) -> str | None:
    if not header:
        return None
    try:
        morsel = SimpleCookie(header).get(SESSION_COOKIE)
    except CookieError:
        return None
    return morsel.value if morsel else None
