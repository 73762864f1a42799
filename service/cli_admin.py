"""``madoguchi desk | partner | campaign``: the admin settings, scriptable for operators.

Input is checked with the same ``domain.checks`` as the admin pages; a refusal prints the reason
and exits non-zero with nothing written. Every change is in the audit log as made by ``cli``.
A running server sees it within about a second.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from service.config import Settings
from service.db import migrate, open_store
from service.domain.audit import CLI_ACTOR
from service.domain.checks import (
    check_campaign_fields,
    check_desk_fields,
    check_key,
    check_partner_fields,
    invalid,
)
from service.domain.hours import WARD_HOURS, hours_text, parse_hours
from service.http.admin_views import campaign_url, qr_image
from service.storage import Store

T = TypeVar("T")


def add_admin_commands(commands: Any) -> list[argparse.ArgumentParser]:
    """Add the ``desk``, ``partner`` and ``campaign`` commands; returns every leaf parser."""
    leaves = []

    desk = commands.add_parser("desk", help="consultation desks and their hours").add_subparsers(
        required=True, metavar="ACTION"
    )
    for action in ("add", "update"):
        sub = desk.add_parser(action, help=f"{action} a desk")
        sub.add_argument("key")
        sub.add_argument("--name", required=action == "add")
        sub.add_argument("--description")
        sub.add_argument(
            "--hours", help="e.g. 'mon-fri 09:00-17:00; sat#2 09:00-17:00' or 24/7 (docs/admin.md)"
        )
        sub.add_argument("--closures", help="extra closed days, e.g. '12/29-01/03'")
        sub.add_argument("--phone", action="append", dest="phones", metavar="P")
        sub.set_defaults(run=_desk_add if action == "add" else _desk_update)
        leaves.append(sub)
    leaves.append(desk.add_parser("list", help="list the desks"))
    leaves[-1].set_defaults(run=_desk_list)

    partner = commands.add_parser("partner", help="sites that embed the widget").add_subparsers(
        required=True, metavar="ACTION"
    )
    sub = partner.add_parser("add", help="add a partner")
    sub.add_argument("key")
    sub.add_argument("--name", required=True)
    sub.add_argument("--origin", action="append", dest="origins", required=True, metavar="ORIGIN")
    sub.add_argument("--exit-url")
    sub.add_argument("--desk")
    sub.add_argument("--lang", default="ja")
    sub.set_defaults(run=_partner_add)
    leaves.append(sub)
    leaves.append(partner.add_parser("list", help="list the partners"))
    leaves[-1].set_defaults(run=_partner_list)
    sub = partner.add_parser("disable", help="stop a partner's widget at once")
    sub.add_argument("key")
    sub.set_defaults(run=_partner_disable)
    leaves.append(sub)

    campaign = commands.add_parser("campaign", help="posters and QR codes").add_subparsers(
        required=True, metavar="ACTION"
    )
    sub = campaign.add_parser("add", help="add a campaign")
    sub.add_argument("code")
    sub.add_argument("--name", required=True)
    sub.add_argument("--desk")
    sub.add_argument("--partner")
    sub.set_defaults(run=_campaign_add)
    leaves.append(sub)
    sub = campaign.add_parser("qr", help="write the campaign's QR code")
    sub.add_argument("code")
    sub.add_argument("--out", type=Path, required=True, help="FILE.svg or FILE.png")
    sub.set_defaults(run=_campaign_qr)
    leaves.append(sub)
    return leaves


def _with_store(settings: Settings, work: Callable[[Store], Awaitable[T]]) -> T:
    migrate(settings.db_path)

    async def run() -> T:
        store = await open_store(settings.db_path)
        try:
            await store.ensure_defaults(settings.default_desk_hours)
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def _desk_add(settings: Settings, args: argparse.Namespace) -> None:
    fields = check_desk_fields(
        name=args.name,
        description=args.description,
        phones=args.phones,
        hours=args.hours or WARD_HOURS,
        closures=args.closures,
    )
    key = check_key(args.key)
    _with_store(settings, lambda s: s.insert_desk(CLI_ACTOR, key, fields))
    _out(f"added desk {key}")


def _desk_update(settings: Settings, args: argparse.Namespace) -> None:
    async def work(store: Store) -> None:
        current = next((d for d in await store.list_desks() if d.key == args.key), None)
        if current is None:
            raise invalid(f"no desk {args.key!r}")
        fields = check_desk_fields(
            name=args.name,
            description=args.description,
            phones=args.phones,
            hours=args.hours,
            closures=args.closures,
            current=current,
        )
        if not fields:
            raise invalid("nothing to change: give --name, --hours, --phone, …")
        await store.update_desk(CLI_ACTOR, args.key, fields)

    _with_store(settings, work)
    _out(f"updated desk {args.key}")


def _desk_list(settings: Settings, _: argparse.Namespace) -> None:
    for desk in _with_store(settings, lambda s: s.list_desks()):
        hours = hours_text(parse_hours(desk.hours, desk.closures), "ja")
        default = " (default)" if desk.is_default else ""
        _out(f"{desk.key}\t{desk.name}{default}\t{desk.hours}\t{hours}\t{' '.join(desk.phones)}")


def _partner_add(settings: Settings, args: argparse.Namespace) -> None:
    fields = check_partner_fields(
        name=args.name,
        origins=args.origins,
        exit_url=args.exit_url,
        desk=args.desk,
        lang=args.lang,
    )
    key = check_key(args.key)
    _with_store(settings, lambda s: s.insert_partner(CLI_ACTOR, key, fields))
    _out(f"added partner {key}")


def _partner_list(settings: Settings, _: argparse.Namespace) -> None:
    for p in _with_store(settings, lambda s: s.list_partners()):
        state = "enabled" if p.enabled else "disabled"
        default = " (default)" if p.is_default else ""
        _out(f"{p.key}\t{p.name}{default}\t{state}\t{' '.join(p.origins)}")


def _partner_disable(settings: Settings, args: argparse.Namespace) -> None:
    _with_store(settings, lambda s: s.update_partner(CLI_ACTOR, args.key, {"enabled": False}))
    _out(f"disabled partner {args.key}")


def _campaign_add(settings: Settings, args: argparse.Namespace) -> None:
    fields = check_campaign_fields(name=args.name, desk=args.desk, partner=args.partner)
    code = check_key(args.code, "code")
    _with_store(settings, lambda s: s.insert_campaign(CLI_ACTOR, code, fields))
    _out(f"added campaign {code}: {campaign_url(settings.origin, code)}")


def _campaign_qr(settings: Settings, args: argparse.Namespace) -> None:
    kind = args.out.suffix.lower().lstrip(".")
    if kind not in ("svg", "png"):
        raise invalid("--out must end in .svg or .png")
    campaigns = _with_store(settings, lambda s: s.list_campaigns())
    if not any(c.code == args.code for c in campaigns):
        raise invalid(f"no campaign {args.code!r}")
    url = campaign_url(settings.origin, args.code)
    args.out.write_bytes(qr_image(url, kind))
    _out(f"wrote {args.out} for {url}")
