"""``madoguchi user | canned | tag`` (and ``add-user``, the same as ``user add``): staff
accounts, canned responses and topic tags, through the same admin operations as the admin pages
and the admin API (see ``cli_admin.py``).

A password is read as one line from standard input when that is not a terminal, else prompted
for twice; with ``--generate`` the service makes one and prints it once.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from service.actions.admin import Admin, read_input
from service.actions.admin.replies import (
    CannedCreate,
    CannedUpdate,
    TagCreate,
    TagUpdate,
    do_add_canned,
    do_add_tag,
    do_delete_canned,
    do_update_canned,
    do_update_tag,
)
from service.actions.admin.staff import (
    PasswordReset,
    UserCreate,
    UserUpdate,
    do_add_user,
    do_reset_password,
    do_unlock_logins,
    do_update_user,
)
from service.cli_admin import Args, add_switch, leaf, out, switch, with_admin
from service.config import Settings
from service.domain.accounts import ROLES
from service.domain.checks import ALL_DESKS, check_password
from service.errors import AppError, ErrorCode

T = TypeVar("T")


def add_staff_commands(commands: Any) -> list[argparse.ArgumentParser]:
    """Add ``add-user``, ``user``, ``canned`` and ``tag``; returns every leaf parser."""
    return [*_user(commands), *_canned(commands), *_tag(commands)]


# -- accounts ----------------------------------------------------------------------------------


def _user_options(sub: argparse.ArgumentParser, *, adding: bool) -> None:
    sub.add_argument("username")
    sub.add_argument("--role", required=adding, choices=ROLES)
    sub.add_argument("--display-name", help="shown to visitors; a pseudonym is fine")
    desks = sub.add_mutually_exclusive_group()
    desks.add_argument(
        "--desk", action="append", dest="desks", metavar="KEY", help="repeatable: these desks only"
    )
    desks.add_argument(
        "--all-desks",
        dest="desks",
        action="store_const",
        const=ALL_DESKS,
        help="every desk, now and future" + (" (the default)" if adding else ""),
    )


def _user(commands: Any) -> list[argparse.ArgumentParser]:
    shortcut = leaf(commands, "add-user", _user_add, "create a staff account (as 'user add')")
    user = commands.add_parser("user", help="staff accounts")
    actions = user.add_subparsers(required=True, metavar="ACTION")
    add = leaf(actions, "add", _user_add, "create a staff account")
    for sub in (shortcut, add):
        _user_options(sub, adding=True)
        sub.add_argument("--generate", action="store_true", help="make the password and print it")
    update = leaf(actions, "update", _user_update, "change an account")
    _user_options(update, adding=False)
    add_switch(update, "active", "inactive", dest="active")
    leaves = [shortcut, add, update, leaf(actions, "list", _user_list, "list the accounts")]
    for name, text in (
        ("deactivate", "end the account's logins and sockets at once"),
        ("activate", "let the account log in again"),
    ):
        sub = leaf(actions, name, _user_update, text)
        sub.add_argument("username")
        sub.set_defaults(active=name == "activate")
        leaves.append(sub)
    password = leaf(actions, "password", _user_password, "set a new password; its logins end")
    password.add_argument("username")
    password.add_argument("--generate", action="store_true", help="make one and print it")
    unlock = leaf(actions, "unlock", _user_unlock, "let a throttled account log in again now")
    unlock.add_argument("username")
    return [*leaves, password, unlock]


def read_password() -> str:
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise AppError(ErrorCode.INVALID_PAYLOAD, "the passwords differ")
    return check_password(password)


def _user_add(settings: Settings, args: Args) -> None:
    given = {
        "username": args.username,
        "role": args.role,
        "display_name": args.display_name,
        "desks": args.desks,
        "password": None if args.generate else read_password(),
    }
    data = read_input(UserCreate, given)
    made = with_admin(settings, lambda a: do_add_user(a, data))
    out(f"added {made.user.role} {made.user.username}")
    if made.password:
        out(f"password: {made.password}")


def _user_update(settings: Settings, args: Args) -> None:
    given = {name: getattr(args, name, None) for name in ("display_name", "role", "desks")}
    data = read_input(UserUpdate, {**given, "active": switch(args, "active")})
    user = with_admin(settings, lambda a: do_update_user(a, args.username, data))
    out(f"updated {user.username} ({'active' if user.active else 'inactive'})")


async def _with_desk_keys(
    admin: Admin, rows: Callable[[], Awaitable[list[T]]]
) -> tuple[dict[int, str], list[T]]:
    """Rows that name desks by id, and the desks' keys to print them with: one store opening."""
    return {d.id: d.key for d in await admin.store.list_desks()}, await rows()


def _user_list(settings: Settings, _: Args) -> None:
    desks, users = with_admin(settings, lambda a: _with_desk_keys(a, a.store.list_users))
    for u in users:
        works = ALL_DESKS if u.desk_ids is None else ",".join(sorted(desks[i] for i in u.desk_ids))
        state = "active" if u.active else "inactive"
        out(f"{u.username}\t{u.display_name}\t{u.role}\t{works}\t{state}")


def _user_password(settings: Settings, args: Args) -> None:
    data = read_input(PasswordReset, {"password": None if args.generate else read_password()})
    made = with_admin(settings, lambda a: do_reset_password(a, args.username, data))
    out(f"set a new password for {made.user.username}; its logins have ended")
    if made.password:
        out(f"password: {made.password}")


def _user_unlock(settings: Settings, args: Args) -> None:
    user = with_admin(settings, lambda a: do_unlock_logins(a, args.username))
    out(f"unlocked the logins of {user.username}")


# -- canned responses --------------------------------------------------------------------------


def _canned(commands: Any) -> list[argparse.ArgumentParser]:
    canned = commands.add_parser("canned", help="canned responses for counselors")
    actions = canned.add_subparsers(required=True, metavar="ACTION")
    add = leaf(actions, "add", _canned_add, "add a canned response")
    update = leaf(actions, "update", _canned_update, "change a canned response")
    update.add_argument("id", type=int)
    for sub in (add, update):
        sub.add_argument("--title", required=sub is add)
        sub.add_argument("--body", required=sub is add)
        sub.add_argument("--desk", help="offered on this desk only; '' or left out: every desk")
    delete = leaf(actions, "delete", _canned_delete, "delete a canned response")
    delete.add_argument("id", type=int)
    return [add, update, delete, leaf(actions, "list", _canned_list, "list them")]


def _canned_given(args: Args) -> dict[str, Any]:
    return {name: getattr(args, name) for name in ("title", "body", "desk")}


def _canned_add(settings: Settings, args: Args) -> None:
    data = read_input(CannedCreate, _canned_given(args))
    canned = with_admin(settings, lambda a: do_add_canned(a, data))
    out(f"added canned response {canned.id}")


def _canned_update(settings: Settings, args: Args) -> None:
    data = read_input(CannedUpdate, _canned_given(args))
    canned = with_admin(settings, lambda a: do_update_canned(a, args.id, data))
    out(f"updated canned response {canned.id}")


def _canned_delete(settings: Settings, args: Args) -> None:
    with_admin(settings, lambda a: do_delete_canned(a, args.id))
    out(f"deleted canned response {args.id}")


def _canned_list(settings: Settings, _: Args) -> None:
    desks, items = with_admin(settings, lambda a: _with_desk_keys(a, a.store.list_canned_responses))
    for c in items:
        desk = ALL_DESKS if c.desk_id is None else desks.get(c.desk_id, "?")
        out(f"{c.id}\t{desk}\t{c.title}")


# -- topic tags --------------------------------------------------------------------------------


def _tag(commands: Any) -> list[argparse.ArgumentParser]:
    tag = commands.add_parser("tag", help="topic tags counselors put on conversations")
    actions = tag.add_subparsers(required=True, metavar="ACTION")
    add = leaf(actions, "add", _tag_add, "add a topic tag")
    update = leaf(actions, "update", _tag_update, "change a topic tag")
    for sub in (add, update):
        sub.add_argument("key")
        sub.add_argument("--label-ja", required=sub is add)
        sub.add_argument("--label-en")
    add_switch(update, "enable", "disable")
    return [add, update, leaf(actions, "list", _tag_list, "list the topic tags")]


def _tag_add(settings: Settings, args: Args) -> None:
    given = {"key": args.key, "label_ja": args.label_ja, "label_en": args.label_en}
    data = read_input(TagCreate, given)
    tag = with_admin(settings, lambda a: do_add_tag(a, data))
    out(f"added topic tag {tag.key}")


def _tag_update(settings: Settings, args: Args) -> None:
    given = {"label_ja": args.label_ja, "label_en": args.label_en, "enabled": switch(args)}
    data = read_input(TagUpdate, given)
    tag = with_admin(settings, lambda a: do_update_tag(a, args.key, data))
    out(f"updated topic tag {tag.key} ({'in use' if tag.enabled else 'disabled'})")


def _tag_list(settings: Settings, _: Args) -> None:
    for t in with_admin(settings, lambda a: a.store.list_topic_tags()):
        state = "in use" if t.enabled else "disabled"
        out(f"{t.key}\t{t.label_ja}\t{t.label_en}\t{state}")
