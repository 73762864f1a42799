"""Counselor authentication: argon2id password hashes and server-side sessions.

The session cookie carries 256 random bits; the database keeps only their SHA-256, so a copy of
the database opens no session. Every login mints a new id, which defeats session fixation.
"""

from __future__ import annotations

import secrets
from http.cookies import CookieError, SimpleCookie

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from service.clock import iso_minutes_ago
from service.config import Settings
from service.domain.accounts import User
from service.storage import Store

SESSION_COOKIE = "mg_session"

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified when the username is unknown, so a login takes as long either way.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def new_password() -> str:
    return secrets.token_urlsafe(12)


async def authenticate(store: Store, username: str, password: str) -> User | None:
    creds = await store.get_credentials(username)
    try:
        _hasher.verify(creds.password_hash if creds else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
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
        await store.touch_session(session_id)
    return user


def session_id_from_cookie_header(header: str | None) -> str | None:
    if not header:
        return None
    try:
        morsel = SimpleCookie(header).get(SESSION_COOKIE)
    except CookieError:
        return None
    return morsel.value if morsel else None
