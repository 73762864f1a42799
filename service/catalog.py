"""An in-memory copy of desks and partners, reloaded when the database changes.

Every connection and every ``/chat`` request asks which partner and desk it is for; reading them
from memory keeps those paths free of queries. A background task polls ``PRAGMA data_version``
once a second, so a change made with the CLI reaches a running server within about a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from service.db.store import Store
from service.domain.directory import Desk, Partner

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0


@dataclass
class Catalog:
    store: Store
    desks: dict[str, Desk] = field(default_factory=dict)
    partners: dict[str, Partner] = field(default_factory=dict)
    version: int = -1
    listeners: list[asyncio.Event] = field(default_factory=list)

    async def reload(self) -> None:
        self.version = await self.store.data_version()
        self.desks = {d.key: d for d in await self.store.list_desks()}
        self.partners = {p.key: p for p in await self.store.list_partners()}
        for event in self.listeners:
            event.set()

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            with contextlib.suppress(Exception):
                if await self.store.data_version() != self.version:
                    await self.reload()

    def default_desk(self) -> Desk:
        return next(d for d in self.desks.values() if d.is_default)

    def default_partner(self) -> Partner:
        return next(p for p in self.partners.values() if p.is_default)

    def desk_by_id(self, desk_id: int) -> Desk | None:
        return next((d for d in self.desks.values() if d.id == desk_id), None)

    def partner_by_id(self, partner_id: int | None) -> Partner | None:
        return next((p for p in self.partners.values() if p.id == partner_id), None)

    def all_origins(self) -> set[str]:
        return {o for p in self.partners.values() if p.enabled for o in p.origins}
