"""Staff accounts: add, change (display name, role, desks, active), reset passwords and
unlock throttled logins.

An account's desks are ``"all"`` (every desk, now and future) or a non-empty list of desk keys,
in every interface (``domain.checks.check_desks``). A password left out is generated, and the
caller shows it once; it is never logged nor audited.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from service.actions.admin import Admin, changes
from service.auth import hash_password, new_password
from service.domain.accounts import User
from service.domain.checks import (
    ALL_DESKS,
    check_password,
    check_user_fields,
    check_username,
)
from service.errors import AppError, ErrorCode


class UserCreate(msgspec.Struct, forbid_unknown_fields=True):
    username: str
    role: str
    display_name: str | None = None
    """Left out: the username."""
    password: str | None = None
    """Left out: the server makes one and returns it once."""
    desks: str | list[str] = ALL_DESKS
    """``"all"`` or a list of desk keys."""


class UserUpdate(msgspec.Struct, forbid_unknown_fields=True):
    display_name: str | None = None
    role: str | None = None
    active: bool | None = None
    desks: str | list[str] | None = None
    """``"all"`` or a list of desk keys."""


class PasswordReset(msgspec.Struct, forbid_unknown_fields=True):
    password: str | None = None
    """Left out: the server makes one and returns it once."""


@dataclass(frozen=True, slots=True)
class WithPassword:
    user: User
    password: str | None
    """The generated password, to show once; None when the admin gave it."""


async def find_user(admin: Admin, username: str) -> User:
    found = next((u for u in await admin.store.list_users() if u.username == username), None)
    if found is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no user {username!r}")
    return found


def _password(given: str | None) -> tuple[str, str | None]:
    """The password to set, and the one to show (only a generated one)."""
    if given:
        return check_password(given), None
    made = new_password()
    return made, made


async def do_add_user(admin: Admin, data: UserCreate) -> WithPassword:
    username = check_username(data.username)
    fields = check_user_fields(
        display_name=data.display_name or username, role=data.role, desks=data.desks
    )
    password, shown = _password(data.password)
    await admin.store.create_user(
        admin.actor,
        username,
        fields["display_name"],
        fields["role"],
        await hash_password(password),
        fields["desks"],
    )
    return WithPassword(await find_user(admin, username), shown)


async def do_update_user(admin: Admin, username: str, data: UserUpdate) -> User:
    """A deactivated account's sessions end with the change, and its sockets right after; the
    catalog's reload drops the sockets of an account whose role or desks changed."""
    fields = check_user_fields(
        display_name=data.display_name, role=data.role, active=data.active, desks=data.desks
    )
    user = await admin.store.update_user(admin.actor, username, changes(fields))
    await admin.reload_catalog()
    if not user.active:
        await admin.drop_sockets(user.id)
    return user


async def do_reset_password(admin: Admin, username: str, data: PasswordReset) -> WithPassword:
    """A new password ends every session of the account, and its sockets."""
    password, shown = _password(data.password)
    user = await find_user(admin, username)
    await admin.store.set_password(admin.actor, username, await hash_password(password))
    await admin.drop_sockets(user.id)
    return WithPassword(user, shown)


async def do_unlock_logins(admin: Admin, username: str) -> User:
    """The account may try to log in again at once: the serving process's login throttle
    forgets its failures when its catalog next reloads (within about a second)."""
    user = await find_user(admin, username)
    await admin.store.unlock_logins(admin.actor, username)
    return user
