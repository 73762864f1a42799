"""What every handler needs, gathered once: settings, the store, the catalog and the server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar.di import NamedDependency

from service.actions.board import BoardTeller
from service.actions.positions import QueuePositions
from service.cluster.shared import Shared, in_memory
from service.config import Settings

if TYPE_CHECKING:
    from service.catalog import Catalog
    from service.storage import Store


class Context:
    """A plain class, not a dataclass: Litestar injects it as an opaque dependency."""

    __slots__ = ("_catalog", "_store", "board", "positions", "settings", "shared", "sio")

    def __init__(self, settings: Settings, sio: Any, shared: Shared | None = None) -> None:
        self.settings = settings
        self.sio = sio
        """The ``socketio.AsyncServer`` (an untyped library)."""
        self.shared = shared if shared is not None else in_memory(settings, sio)
        """What processes share (presence, limits, jobs, …): in memory, or through Redis."""
        self.positions = QueuePositions(told=self.shared.told)
        """Waiting visitors' places in line, told coalesced per desk."""
        self.board = BoardTeller()
        """The supervisors' live board, told coalesced."""
        self._store: Store | None = None
        self._catalog: Catalog | None = None

    def attach(self, store: Store, catalog: Catalog) -> None:
        self._store, self._catalog = store, catalog

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the store opens in the application's lifespan")
        return self._store

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            raise RuntimeError("the catalog loads in the application's lifespan")
        return self._catalog


# How Litestar handlers ask for the context: injected by name (litestar.di.NamedDependency).
Ctx = NamedDependency[Context]
