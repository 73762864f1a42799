"""One dispatcher for every client event: it validates the call's shape, runs the handler and
turns the outcome into the acknowledgement of the contract.

The ack is ``{"ok": true, ...}`` or ``{"ok": false, "error": {"code", "message"}}``. An
unexpected exception is logged with its traceback only (never the payload, which may hold a
visitor's words) and answered ``internal_error``, so no internals reach the client.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from functools import cached_property
from typing import Any

import socketio

from service.domain.ratelimit import TokenBucket
from service.errors import AppError, ErrorCode
from service.realtime.packets import BINARY_REFUSED, SERVER_EVENTS
from service.realtime.sockets import engine_id

log = logging.getLogger(__name__)

Ack = dict[str, Any]

# Handled as they arrive, each event in its own task, overlapping, rather than one at a time
# per connection: typing notices change nothing, and a message's handler queues its write before
# its first real await. python-socketio starts one connection's event tasks in the order the
# events arrived and asyncio runs new tasks first come, first served, so one connection's
# messages queue, commit and are delivered in the order sent (tests/test_ordering.py) while the
# next ones need not wait for the previous commit.
PIPELINED = frozenset({"message", "typing"})
Handler = Callable[[str, Any], Awaitable[Mapping[str, Any]]]


def ok(**fields: Any) -> Ack:
    return {"ok": True, **fields}


def error(code: ErrorCode, message: str = "") -> Ack:
    return {"ok": False, "error": {"code": code.value, "message": message or code.value}}


def answer_of(exc: Exception, event: str) -> Ack:
    """The acknowledgement of a failed event; an unexpected failure is logged (traceback only)."""
    if isinstance(exc, AppError):
        return error(exc.code, exc.message)
    log.error("%s failed", event, exc_info=exc)
    return error(ErrorCode.INTERNAL_ERROR, "something went wrong; please retry")


def refuse(code: ErrorCode, message: str = "") -> socketio.exceptions.ConnectionRefusedError:
    """A connect refusal whose ``data`` carries the stable code."""
    return socketio.exceptions.ConnectionRefusedError(message or code.value, {"code": code.value})


class DispatchingNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """A namespace whose events are listed in ``handlers()`` and answered through ``dispatch``.

    Subclasses keep no per-client state on ``self``: it is one object for all clients.
    """

    #: (tokens a second, burst) per event; events not listed cost nothing.
    limits: Mapping[str, tuple[float, int]] = {}

    def handlers(self) -> Mapping[str, Handler]:
        raise NotImplementedError

    @cached_property
    def _handler_table(self) -> Mapping[str, Handler]:
        # Built once: building this dict of bound methods for every event was a noticeable
        # share of an event's cost.
        return self.handlers()

    async def trigger_event(self, event: Any, *args: Any) -> Any:
        sid, payload = args[0], args[1:]
        if event is BINARY_REFUSED:
            # A protocol violation, not a call to answer: close the whole connection.
            eio_sid = engine_id(self.server.manager, self.namespace, sid)
            if eio_sid is not None:  # None (gone already) would close every connection
                await self.server.eio.disconnect(eio_sid)
            return None
        if isinstance(event, str) and event in SERVER_EVENTS:
            # Always the server's own: a client's events of those names are renamed as they
            # are decoded (packets.py), so they are unknown events, never a second run of the
            # connect handler with an "environ" of the client's choosing.
            return await super().trigger_event(event, *args)
        handler = self._handler_table.get(event) if isinstance(event, str) else None
        if handler is None:
            return error(ErrorCode.UNKNOWN_EVENT, "no such event")
        refusal = await self._refusal(sid, event, payload)
        if refusal is not None:
            return refusal
        if event in PIPELINED:
            return await self._answer(event, handler, sid, payload)
        async with await self._turn_of(sid):
            return await self._answer(event, handler, sid, payload)

    async def _refusal(self, sid: str, event: str, payload: tuple[Any, ...]) -> Ack | None:
        """The answer to a call refused before its handler runs, or None."""
        if len(payload) > 1:
            return error(ErrorCode.INVALID_PAYLOAD, "one payload object expected")
        if not await self._within_limit(sid, event):
            return error(ErrorCode.RATE_LIMITED, "too many requests; slow down")
        return None

    async def _turn_of(self, sid: str) -> asyncio.Lock:
        """One connection's events other than the pipelined ones run one at a time, in the
        order they arrived (asyncio's locks are first come, first served)."""
        session = await self.get_session(sid)
        lock: asyncio.Lock = session.setdefault("turn", asyncio.Lock())
        return lock

    async def _answer(
        self, event: str, handler: Handler, sid: str, payload: tuple[Any, ...]
    ) -> Any:
        try:
            return ok(**await handler(sid, payload[0] if payload else None))
        except Exception as exc:
            return answer_of(exc, f"{self.namespace} {event}")

    async def _within_limit(self, sid: str, event: str) -> bool:
        limit = self.limits.get(event)
        if limit is None:
            return True
        session = await self.get_session(sid)
        buckets: dict[str, TokenBucket] = session.setdefault("buckets", {})
        bucket = buckets.get(event)
        if bucket is None:
            bucket = buckets[event] = TokenBucket(rate=limit[0], burst=limit[1])
        return bucket.take(time.monotonic())
