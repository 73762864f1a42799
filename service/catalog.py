"""An in-memory copy of desks, partners, campaigns, emergency contacts and every account's
rights, reloaded when they change.

Every connection and every ``/chat`` request asks which partner and desk it is for; reading them
from memory keeps those paths free of queries. A background task reads the settings' change
counter (``db/changes.py``) once a second, so a change made with the CLI reaches a running
server within about a second; the admin pages reload at once after their own changes. Messages
do not advance that counter, so a busy server does not reload. ``watch`` is the one place that
learns of changes: a database that can notify would replace its polling, nothing else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from service.domain.accounts import User
from service.domain.directory import Campaign, Desk, EmergencyContact, Partner
from service.domain.hours import CLOSED, Hours, HoursError, open_now, parse_hours
from service.errors import AppError, ErrorCode
from service.storage import Store

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0


@dataclass
class Catalog:
    store: Store
    desks: dict[str, Desk] = field(default_factory=dict)
    partners: dict[str, Partner] = field(default_factory=dict)
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    emergency_contacts: list[EmergencyContact] = field(default_factory=list)
    hours: dict[str, Hours] = field(default_factory=dict)
    """Parsed opening hours per desk key."""
    accounts: dict[int, User] = field(default_factory=dict)
    """Every account as last read, by id: what open staff sockets are checked against."""
    version: int = -1
    on_reload: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    """Run after each reload (dropping staff sockets whose account changed)."""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def reload(self) -> None:
        # One at a time: the admin pages' reloads and the watcher's must not interleave.
        async with self.lock:
            # The counter first: a change committed while the rest is read is read again at
            # the next poll. Kept only once all went well, so that a failure is retried.
            version = await self.store.settings_version()
            desks = await self.store.list_desks()
            self.hours = {d.key: _hours_of(d) for d in desks}
            self.desks = {d.key: d for d in desks}
            self.partners = {p.key: p for p in await self.store.list_partners()}
            self.campaigns = {c.code: c for c in await self.store.list_campaigns()}
            self.emergency_contacts = await self.store.list_emergency_contacts()
            self.accounts = {u.id: u for u in await self.store.list_users()}
            for hook in self.on_reload:
                await hook()
            self.version = version

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                if await self.store.settings_version() != self.version:
                    await self.reload()
            except Exception:  # the next poll tries again; the server keeps what it has
                log.warning("reloading the settings failed", exc_info=True)

    def default_desk(self) -> Desk:
        return next(d for d in self.desks.values() if d.is_default)

    def default_partner(self) -> Partner:
        return next(p for p in self.partners.values() if p.is_default)

    def desk_by_id(self, desk_id: int | None) -> Desk | None:
        return next((d for d in self.desks.values() if d.id == desk_id), None)

    def is_practice(self, desk_id: int | None) -> bool:
        """Whether ``desk_id`` is a practice desk (and so its chats are practice: the flag
        never changes once a desk is made)."""
        desk = self.desk_by_id(desk_id)
        return desk is not None and desk.practice

    def partner_by_id(self, partner_id: int | None) -> Partner | None:
        return next((p for p in self.partners.values() if p.id == partner_id), None)

    def desk_of_partner(self, partner: Partner) -> Desk:
        """The desk a partner's visitors reach when they name none."""
        return self.public_desk_by_id(partner.desk_id) or self.default_desk()

    def public_desk_by_id(self, desk_id: int | None) -> Desk | None:
        """A desk a partner or a campaign may send the public to: a practice desk given as
        theirs (by hand in the database, say) counts as none, so they reach the default desk."""
        desk = self.desk_by_id(desk_id)
        return None if desk is None or desk.practice else desk

    def offered(self, key: str | None, practice_allowed: bool) -> Desk | None:
        """The desk named ``key`` if the caller may see it: a practice desk only to staff,
        so to anyone else it is as unknown as a key that names no desk."""
        desk = self.desks.get(key) if key else None
        if desk is None or (desk.practice and not practice_allowed):
            return None
        return desk

    def live_campaign(self, code: str | None) -> Campaign | None:
        """A known, enabled campaign, or None."""
        campaign = self.campaigns.get(code) if code else None
        return campaign if campaign is not None and campaign.enabled else None

    def desk_to_start(
        self,
        key: str | None,
        partner: Partner,
        campaign: str | None,
        *,
        practice_allowed: bool = False,
    ) -> Desk:
        """The desk a visitor named, else the campaign's, else the partner's, else the default.
        A practice desk only for staff (:meth:`offered`), and only when named."""
        if key is not None:
            desk = self.offered(key, practice_allowed)
            if desk is None:
                raise AppError(ErrorCode.UNKNOWN_DESK, "no such desk")
            return desk
        found = self.live_campaign(campaign)
        return self.public_desk_by_id(found.desk_id if found else None) or self.desk_of_partner(
            partner
        )

    def open_now(self, desk: Desk, at: datetime) -> bool:
        return open_now(self.hours[desk.key], at)


def _hours_of(desk: Desk) -> Hours:
    try:
        return parse_hours(desk.hours, desk.closures)
    except HoursError:
        # Only a hand edit of the database gets here (every writer checks): a desk whose hours
        # nobody can read takes no chats rather than chats nobody staffs.
        log.warning("desk %s has unreadable hours; treating it as closed", desk.key)
        return parse_hours(CLOSED, "")
