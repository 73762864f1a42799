"""``madoguchi desk | partner | campaign | contact``: the directory settings, scriptable for
operators (``cli_staff.py``: accounts, canned responses, topic tags), and ``audit``, the log of
every change.

Every command calls the same admin operation (``service/actions/admin``) as the admin pages and
the admin API, with the API's field names and meanings; a refusal prints the reason and exits
non-zero with nothing written. Every change is in the audit log as made by ``cli``. A running
server sees it within about a second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from service.actions.admin import Admin, read_input
from service.actions.admin.directory import (
    CampaignCreate,
    CampaignUpdate,
    ContactsReplace,
    DeskCreate,
    DeskUpdate,
    PartnerCreate,
    PartnerUpdate,
    do_add_campaign,
    do_add_desk,
    do_add_partner,
    do_replace_contacts,
    do_update_campaign,
    do_update_desk,
    do_update_partner,
)
from service.config import Settings
from service.domain.audit import CLI_ACTOR
from service.domain.hours import hours_text, parse_hours
from service.errors import AppError, ErrorCode
from service.http.admin_views import campaign_url, qr_image
from service.stores import migrate_configured, open_configured_store

T = TypeVar("T")
Args = argparse.Namespace


def with_admin(settings: Settings, work: Callable[[Admin], Awaitable[T]]) -> T:
    """Run one admin operation on the database as the operator ``cli``."""

    async def run() -> T:
        await migrate_configured(settings)
        store = await open_configured_store(settings)
        try:
            await store.ensure_defaults(settings.default_desk_hours)
            return await work(Admin(store, CLI_ACTOR))
        finally:
            await store.close()

    return asyncio.run(run())


def out(line: str) -> None:
    sys.stdout.write(line + "\n")


def switch(args: Args, name: str = "enabled") -> bool | None:
    """``--enable`` / ``--disable`` (or ``--active`` / ``--inactive``): True, False or unchanged."""
    value: bool | None = getattr(args, name)
    return value


def leaf(
    actions: Any, name: str, run: Callable[[Settings, Args], None], help_text: str
) -> argparse.ArgumentParser:
    sub: argparse.ArgumentParser = actions.add_parser(name, help=help_text)
    sub.set_defaults(run=run)
    return sub


def add_switch(sub: argparse.ArgumentParser, on: str, off: str, dest: str = "enabled") -> None:
    group = sub.add_mutually_exclusive_group()
    group.add_argument(f"--{on}", dest=dest, action="store_const", const=True)
    group.add_argument(f"--{off}", dest=dest, action="store_const", const=False)


def add_directory_commands(commands: Any) -> list[argparse.ArgumentParser]:
    """Add ``desk``, ``partner``, ``campaign``, ``contact`` and ``audit``; returns every leaf
    parser."""
    return [
        *_desk(commands),
        *_partner(commands),
        *_campaign(commands),
        *_contact(commands),
        _audit(commands),
    ]


# -- desks -------------------------------------------------------------------------------------


def _desk(commands: Any) -> list[argparse.ArgumentParser]:
    desk = commands.add_parser("desk", help="consultation desks and their hours")
    actions = desk.add_subparsers(required=True, metavar="ACTION")
    add = leaf(actions, "add", _desk_add, "add a desk")
    update = leaf(actions, "update", _desk_update, "change a desk")
    for sub in (add, update):
        sub.add_argument("key")
        sub.add_argument("--name", required=sub is add)
        sub.add_argument("--name-en", help="the name on English pages")
        sub.add_argument("--name-kana", help="the name's reading in kana, for furigana")
        sub.add_argument("--description")
        sub.add_argument(
            "--hours", help="e.g. 'mon-fri 09:00-17:00; sat#2 09:00-17:00' or 24/7 (docs/admin.md)"
        )
        sub.add_argument("--closures", help="extra closed days, e.g. '12/29-01/03'; '': none")
        sub.add_argument("--phone", action="append", dest="phones", metavar="P")
    add.add_argument(
        "--practice",
        action="store_true",
        help="a practice desk for counselor training: hidden from the public, never in reports",
    )
    return [add, update, leaf(actions, "list", _desk_list, "list the desks")]


def _desk_given(args: Args) -> dict[str, Any]:
    names = ("name", "name_en", "name_kana", "description", "phones", "hours", "closures")
    return {name: getattr(args, name) for name in names}


def _desk_add(settings: Settings, args: Args) -> None:
    data = read_input(DeskCreate, {"key": args.key, "practice": args.practice, **_desk_given(args)})
    desk = with_admin(settings, lambda a: do_add_desk(a, data))
    out(f"added desk {desk.key}")


def _desk_update(settings: Settings, args: Args) -> None:
    data = read_input(DeskUpdate, _desk_given(args))
    desk = with_admin(settings, lambda a: do_update_desk(a, args.key, data))
    out(f"updated desk {desk.key}")


def _desk_list(settings: Settings, _: Args) -> None:
    for desk in with_admin(settings, lambda a: a.store.list_desks()):
        hours = hours_text(parse_hours(desk.hours, desk.closures), "ja")
        default = " (default)" if desk.is_default else " (practice)" if desk.practice else ""
        out(f"{desk.key}\t{desk.name}{default}\t{desk.hours}\t{hours}\t{' '.join(desk.phones)}")


# -- partners ----------------------------------------------------------------------------------


def _partner(commands: Any) -> list[argparse.ArgumentParser]:
    partner = commands.add_parser("partner", help="sites that embed the widget")
    actions = partner.add_subparsers(required=True, metavar="ACTION")
    add = leaf(actions, "add", _partner_add, "add a partner")
    update = leaf(actions, "update", _partner_update, "change a partner")
    for sub in (add, update):
        sub.add_argument("key")
        sub.add_argument("--name", required=sub is add)
        sub.add_argument("--origin", action="append", dest="origins", metavar="ORIGIN")
        sub.add_argument("--exit-url", help="where quick exit goes; '': the neutral default")
        sub.add_argument("--desk", help="the desk its visitors reach; '': the default desk")
        sub.add_argument("--lang", help="ja or en")
    add_switch(update, "enable", "disable")
    leaves = [add, update, leaf(actions, "list", _partner_list, "list the partners")]
    for name, text in (("disable", "stop a partner's widget at once"), ("enable", "restart it")):
        sub = leaf(actions, name, _partner_update, text)
        sub.add_argument("key")
        sub.set_defaults(enabled=name == "enable")
        leaves.append(sub)
    return leaves


def _partner_given(args: Args) -> dict[str, Any]:
    names = ("name", "origins", "exit_url", "desk", "lang")
    return {name: getattr(args, name, None) for name in names}


def _partner_add(settings: Settings, args: Args) -> None:
    data = read_input(PartnerCreate, {"key": args.key, **_partner_given(args)})
    partner = with_admin(settings, lambda a: do_add_partner(a, data))
    out(f"added partner {partner.key}")


def _partner_update(settings: Settings, args: Args) -> None:
    data = read_input(PartnerUpdate, {**_partner_given(args), "enabled": switch(args)})
    partner = with_admin(settings, lambda a: do_update_partner(a, args.key, data))
    out(f"updated partner {partner.key} ({'enabled' if partner.enabled else 'disabled'})")


def _partner_list(settings: Settings, _: Args) -> None:
    for p in with_admin(settings, lambda a: a.store.list_partners()):
        state = "enabled" if p.enabled else "disabled"
        default = " (default)" if p.is_default else ""
        out(f"{p.key}\t{p.name}{default}\t{state}\t{' '.join(p.origins)}")


# -- campaigns ---------------------------------------------------------------------------------


def _campaign(commands: Any) -> list[argparse.ArgumentParser]:
    campaign = commands.add_parser("campaign", help="posters and QR codes")
    actions = campaign.add_subparsers(required=True, metavar="ACTION")
    add = leaf(actions, "add", _campaign_add, "add a campaign")
    update = leaf(actions, "update", _campaign_update, "change a campaign")
    for sub in (add, update):
        sub.add_argument("code")
        sub.add_argument("--name", required=sub is add)
        sub.add_argument("--desk", help="'': none")
        sub.add_argument("--partner", help="'': none")
    add_switch(update, "enable", "end")
    end = leaf(actions, "end", _campaign_update, "end a campaign: its QR code leads nowhere")
    end.add_argument("code")
    end.set_defaults(enabled=False)
    qr = leaf(actions, "qr", _campaign_qr, "write the campaign's QR code")
    qr.add_argument("code")
    qr.add_argument("--out", type=Path, required=True, help="FILE.svg or FILE.png")
    return [add, update, end, leaf(actions, "list", _campaign_list, "list the campaigns"), qr]


def _campaign_given(args: Args) -> dict[str, Any]:
    return {name: getattr(args, name, None) for name in ("name", "desk", "partner")}


def _campaign_add(settings: Settings, args: Args) -> None:
    data = read_input(CampaignCreate, {"code": args.code, **_campaign_given(args)})
    campaign = with_admin(settings, lambda a: do_add_campaign(a, data))
    out(f"added campaign {campaign.code}: {campaign_url(settings.origin, campaign.code)}")


def _campaign_update(settings: Settings, args: Args) -> None:
    data = read_input(CampaignUpdate, {**_campaign_given(args), "enabled": switch(args)})
    campaign = with_admin(settings, lambda a: do_update_campaign(a, args.code, data))
    out(f"updated campaign {campaign.code} ({'live' if campaign.enabled else 'ended'})")


def _campaign_list(settings: Settings, _: Args) -> None:
    for c in with_admin(settings, lambda a: a.store.list_campaigns()):
        state = "live" if c.enabled else "ended"
        out(f"{c.code}\t{c.name}\t{state}\t{campaign_url(settings.origin, c.code)}")


def _campaign_qr(settings: Settings, args: Args) -> None:
    kind = args.out.suffix.lower().lstrip(".")
    if kind not in ("svg", "png"):
        raise AppError(ErrorCode.INVALID_PAYLOAD, "--out must end in .svg or .png")
    campaigns = with_admin(settings, lambda a: a.store.list_campaigns())
    if not any(c.code == args.code for c in campaigns):
        raise AppError(ErrorCode.NOT_FOUND, f"no campaign {args.code!r}")
    url = campaign_url(settings.origin, args.code)
    args.out.write_bytes(qr_image(url, kind))
    out(f"wrote {args.out} for {url}")


# -- emergency contacts ------------------------------------------------------------------------


def _contact(commands: Any) -> list[argparse.ArgumentParser]:
    contact = commands.add_parser("contact", help="the emergency lines the widget always shows")
    actions = contact.add_subparsers(required=True, metavar="ACTION")
    put = leaf(actions, "set", _contact_set, "replace the whole list, in this order")
    put.add_argument(
        "--contact",
        action="append",
        nargs="+",
        dest="contacts",
        required=True,
        metavar="NAME NUMBER [NOTE_JA [NOTE_EN [NAME_EN [NAME_KANA [NOTE_EASY]]]]]",
    )
    return [put, leaf(actions, "list", _contact_list, "list the emergency contacts")]


def _contact_set(settings: Settings, args: Args) -> None:
    fields = ("name", "number", "note_ja", "note_en", "name_en", "name_kana", "note_easy")
    given = []
    for parts in args.contacts:
        if not 2 <= len(parts) <= len(fields):
            raise AppError(
                ErrorCode.INVALID_PAYLOAD,
                f"--contact {' '.join(parts)!r}: "
                "NAME NUMBER [NOTE_JA [NOTE_EN [NAME_EN [NAME_KANA [NOTE_EASY]]]]]",
            )
        padded = [*parts, *[""] * len(fields)][: len(fields)]
        given.append(dict(zip(fields, padded, strict=True)))
    data = read_input(ContactsReplace, {"contacts": given})
    contacts = with_admin(settings, lambda a: do_replace_contacts(a, data))
    out(f"set {len(contacts)} emergency contacts")


def _contact_list(settings: Settings, _: Args) -> None:
    for c in with_admin(settings, lambda a: a.store.list_emergency_contacts()):
        fields = (c.name, c.number, c.note_ja, c.note_en, c.name_en, c.name_kana, c.note_easy)
        out("\t".join(fields))


# -- the audit log -----------------------------------------------------------------------------


def _audit(commands: Any) -> argparse.ArgumentParser:
    sub = leaf(commands, "audit", _audit_list, "the latest changes, newest first")
    sub.add_argument("--limit", type=int, default=50, help="how many (1-1000; default 50)")
    return sub


def _audit_list(settings: Settings, args: Args) -> None:
    limit = max(1, min(args.limit, 1000))
    for e in with_admin(settings, lambda a: a.store.list_audit(limit)):
        detail = json.dumps(e.detail, ensure_ascii=False)
        out(f"{e.at}\t{e.actor}\t{e.action}\t{e.target}\t{detail}")
