"""Assembly only: the Litestar app, the Socket.IO server beside it, and their shared context."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import socketio
from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.logging.config import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from service.actions.accounts import DROP, ROOM, drop_here, drop_outdated_sockets, room_here
from service.actions.autoclose import watch_gone_visitors
from service.actions.queue import QUEUE, queue_order_heard
from service.actions.retention import purge_daily, purge_logged
from service.catalog import Catalog
from service.cluster.shared import Shared, shared_state
from service.config import PACKAGE_DIR, PROJECT_DIR, Settings
from service.context import Context
from service.crypto import Sealer, load_keys
from service.http.admin_api import ADMIN_API
from service.http.admin_api_staff import ADMIN_API_STAFF
from service.http.admin_pages_staff import ADMIN_PAGES
from service.http.api import list_desks
from service.http.assets import asset_routes, load_assets
from service.http.campaigns import open_campaign
from service.http.client_address import with_client_address
from service.http.display import Display
from service.http.headers import with_security_headers
from service.http.health import healthz
from service.http.inbox import INBOX_PAGES
from service.http.reports import REPORT_PAGES
from service.http.request_limits import with_request_limits
from service.http.training import TRAINING_PAGES
from service.http.widget import WidgetController
from service.login_throttling import Unlocks
from service.realtime.counselor import CounselorNamespace
from service.realtime.manager import InlineManager, RedisManager
from service.realtime.packets import ContractPacket
from service.realtime.polling_limit import with_polling_body_limit
from service.realtime.send_bound import with_bounded_websocket_sends
from service.realtime.visitor import VisitorNamespace
from service.storage import WriteLimits
from service.stores import open_configured_store

log = logging.getLogger(__name__)

# Every path but the staff's: /inbox, /admin and /api/v1/admin get CSRF checks (and its cookie).
CSRF_EXEMPT = r"^/(?!(inbox|admin|api/v1/admin)(/|$)).+"
SOCKETIO_CHANNEL = "madoguchi:socketio"
CSRF_LABEL = "csrf secret"


async def log_unexpected(exc: Exception, scope: Any) -> None:
    """Refusals (4xx) are answers, not faults; anything else is logged without request data."""
    if not isinstance(exc, HTTPException):
        # %r: a path is the client's text; escaped, it can never write a line of its own.
        log.error("%s %r failed", scope.get("method", ""), scope.get("path", ""), exc_info=exc)


def client_manager(settings: Settings) -> InlineManager:
    """Sends to a room in line, without a task per recipient (realtime/manager.py); through
    Redis when several processes serve as one."""
    if settings.redis_url:
        return RedisManager(settings.redis_url, channel=SOCKETIO_CHANNEL)
    return InlineManager()


def create_socketio(settings: Settings, manager: InlineManager) -> socketio.AsyncServer:
    return socketio.AsyncServer(
        client_manager=manager,
        # msgspec for JSON, and binary packets refused before anything is kept
        # (realtime/packets.py). Not json=: that would change Engine.IO's JSON process-wide.
        serializer=ContractPacket,
        async_mode="asgi",
        # Origins are checked per namespace (each knows which origins it accepts and answers
        # with a stable code); the transport lets the handshake through so that the refusal
        # can carry that code. Never "*": that would also echo CORS headers with credentials.
        cors_allowed_origins=lambda origin, environ: True,
        cors_credentials=False,
        # Each event runs as its own task, so one connection can have several messages in one
        # group commit; realtime/acks.py keeps each connection's order (messages queue their
        # write before their first real await; most other events wait their turn, _turn_of).
        async_handlers=True,
        max_http_buffer_size=settings.max_payload_bytes,
        http_compression=False,
        logger=False,
        engineio_logger=False,
    )


def write_limits(settings: Settings) -> WriteLimits:
    # A quarter of the deadline for another program's lock: a locked database is answered
    # with its own error, well before the batch's deadline.
    return WriteLimits(
        deadline=settings.write_deadline,
        queue_limit=settings.write_queue_limit,
        lock_wait=settings.write_deadline / 4,
    )


def csrf_secret(sealer: Sealer) -> str:
    """The same on every process with the same keys, so a form fetched from one process posts
    to another; never from anything a process may set differently (its public URL)."""
    return sealer.derive(CSRF_LABEL).hex()


async def stop_shared(shared: Shared, sio: socketio.AsyncServer, manager: InlineManager) -> None:
    await shared.close()
    if isinstance(manager, RedisManager):
        await manager.close()
    await sio.shutdown()  # python-socketio's documented end of its background work


def create_app(settings: Settings) -> Any:
    manager = client_manager(settings)  # kept: python-socketio documents no way back to it
    sio = create_socketio(settings, manager)
    # The keys are read here, not only in the lifespan: the CSRF secret and the keyed hashes
    # of addresses in Redis derive from them.
    keys = load_keys(settings.encryption_key, settings.key_path, create=True)
    shared = shared_state(settings, sio, keys)
    ctx = Context(settings=settings, sio=sio, shared=shared)
    throttle = shared.throttle
    # What this process does for its own sockets when any process of the service asks.
    shared.orders.carriers.update(
        {
            DROP: partial(drop_here, ctx),
            ROOM: partial(room_here, ctx),
            QUEUE: partial(queue_order_heard, ctx),
        }
    )
    sio.register_namespace(VisitorNamespace(ctx))
    sio.register_namespace(CounselorNamespace(ctx))

    @contextlib.asynccontextmanager
    async def open_store(_: Litestar) -> AsyncIterator[None]:
        sealer = load_keys(settings.encryption_key, settings.key_path, create=True)
        store = await open_configured_store(
            settings, sealer, writer_process=True, limits=write_limits(settings)
        )
        await store.ensure_defaults(settings.default_desk_hours)
        catalog = Catalog(store)
        await catalog.reload()
        ctx.attach(store, catalog)
        catalog.on_reload.append(partial(drop_outdated_sockets, ctx))
        unlocks = Unlocks(store, throttle)
        await unlocks.start()
        catalog.on_reload.append(unlocks.apply)
        watcher = asyncio.create_task(catalog.watch(), name="madoguchi-catalog")
        await shared.start()
        # Background jobs run once in the service: here, or on one process of several.
        autoclose = asyncio.create_task(
            shared.jobs.run("autoclose", partial(watch_gone_visitors, ctx)),
            name="madoguchi-autoclose",
        )
        # Once before serving (so a restart never postpones it), then daily.
        await purge_logged(ctx)
        retention = asyncio.create_task(
            shared.jobs.run("retention", partial(purge_daily, ctx)), name="madoguchi-retention"
        )
        try:
            yield
        finally:
            for task in (watcher, autoclose, retention):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await ctx.positions.close()
            await ctx.board.close()
            await stop_shared(shared, sio, manager)
            await store.close()

    # Read once, now: a missing or partial build stops the start here (http/assets.py).
    assets = load_assets(settings.static_dir, PACKAGE_DIR / "static", PROJECT_DIR / "templates")
    environment = Environment(
        loader=FileSystemLoader(PROJECT_DIR / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    environment.globals["asset"] = assets.url
    Display(ctx).install(environment)  # names and Japan times on staff pages
    litestar_app = Litestar(
        route_handlers=[
            healthz,
            WidgetController,
            *INBOX_PAGES,
            list_desks,
            open_campaign,
            *ADMIN_API,
            *ADMIN_API_STAFF,
            *ADMIN_PAGES,
            *REPORT_PAGES,
            *TRAINING_PAGES,
            *asset_routes(assets),
        ],
        dependencies={"ctx": Provide(lambda: ctx, sync_to_thread=False)},
        # For guards, which run before dependencies are resolved; the login throttle keeps a
        # staff member's address in memory only, or as a keyed hash in Redis.
        state=State({"ctx": ctx, "throttle": throttle}),
        # A second line behind http/request_limits.py, which refuses larger bodies unread.
        request_max_body_size=settings.max_request_bytes,
        lifespan=[open_store],
        logging_config=LoggingConfig(log_exceptions="never", configure_root_logger=False),
        after_exception=[log_unexpected],
        template_config=TemplateConfig(engine=JinjaTemplateEngine.from_environment(environment)),
        csrf_config=CSRFConfig(
            secret=csrf_secret(keys),
            cookie_name="mg_csrf",
            cookie_secure=settings.secure_cookies,
            cookie_httponly=True,
            cookie_samesite="strict",
            # Staff pages and the admin API are protected; visitors' pages and the public API
            # (/chat, /c/…, /api/v1/desks, /widget.js, /demo, …) must set no cookie at all.
            exclude=[CSRF_EXEMPT],
        ),
        openapi_config=OpenAPIConfig(
            title="Madoguchi",
            version="0.1.0",
            path="/schema",
            render_plugins=[JsonRenderPlugin(path=["/", "/openapi.json"])],
        ),
    )
    # No on_startup/on_shutdown here: with either set, ASGIApp stops forwarding the lifespan
    # to Litestar (python-engineio async_drivers/asgi.py).
    # A WebSocket whose client reads nothing is dropped once its unsent answers pass a bound
    # (send_bound.py): python-engineio's own queue has none.
    combined = with_bounded_websocket_sends(socketio.ASGIApp(sio, other_asgi_app=litestar_app))
    # python-engineio would hold an oversized long-polling POST unanswered (polling_limit.py).
    # A long-polling session that sends but never fetches would likewise pile up its answers.
    bounded = with_polling_body_limit(
        combined,
        limit=settings.max_payload_bytes,
        quiet_seconds=settings.polling_quiet_seconds,
        end_session=sio.eio.disconnect,
    )
    # Odd paths, large bodies and forms of too many fields are refused before any parsing.
    limited = with_request_limits(
        bounded, max_bytes=settings.max_request_bytes, max_fields=settings.max_form_fields
    )
    # The one place that decides a request's client address (uvicorn's is off, cli.py).
    addressed = with_client_address(limited, trusted=settings.trusted_networks)
    return with_security_headers(addressed, secure=settings.secure_cookies)
