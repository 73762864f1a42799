"""The bare relay: the in-stack limit that `make bench` measures Madoguchi against.

A python-socketio server on the same ASGI server and settings as ``madoguchi serve``
(service/cli.py ``_serve``, service/app.py ``create_socketio``), shaped like our namespaces: a
visitor side and a counselor side, a room per pair. It acks each message and forwards it to the
other side, with no validation, no storage, no rate limit and no session lookups, so whatever
Madoguchi spends beyond it is the cost of the service's own code.

Run: ``python -m bench.relay --port 8101``.
"""

from __future__ import annotations

import argparse
import itertools
from typing import Any

import socketio
import uvicorn

# The service's msgspec shim, so that both servers pay the same for JSON.
from service.realtime import jsonshim

VISITOR = "/visitor"
COUNSELOR = "/counselor"
OK: dict[str, Any] = {"ok": True}


def pair_room(pair_id: str) -> str:
    return f"conversation:{pair_id}"


class VisitorSide(socketio.AsyncNamespace):  # type: ignore[misc]
    """``start`` opens a pair; ``message`` goes to the counselor side of that pair."""

    def __init__(self) -> None:
        super().__init__(VISITOR)
        self._ids = itertools.count(1)
        self._pair_of: dict[str, str] = {}  # sid → pair id: the least state a relay can keep

    async def on_start(self, sid: str, data: Any = None) -> dict[str, Any]:
        pair_id = self._pair_of.get(sid)
        if pair_id is None:
            pair_id = self._pair_of[sid] = f"p{next(self._ids)}"
            await self.enter_room(sid, pair_room(pair_id))
        return {"ok": True, "conversation": {"id": pair_id, "status": "waiting"}}

    async def on_message(self, sid: str, data: Any) -> dict[str, Any]:
        pair_id = self._pair_of[sid]
        payload = {"conversation_id": pair_id, "author": "visitor", "body": data["body"]}
        await self.emit("message", payload, room=pair_room(pair_id), namespace=COUNSELOR)
        return OK

    def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self._pair_of.pop(sid, None)


class CounselorSide(socketio.AsyncNamespace):  # type: ignore[misc]
    """``claim`` joins a pair's room; ``message`` goes to the visitor side of that pair."""

    def __init__(self) -> None:
        super().__init__(COUNSELOR)

    async def on_claim(self, sid: str, data: Any) -> dict[str, Any]:
        await self.enter_room(sid, pair_room(data["conversation_id"]))
        return OK

    async def on_message(self, sid: str, data: Any) -> dict[str, Any]:
        pair_id = data["conversation_id"]
        payload = {"conversation_id": pair_id, "author": "counselor", "body": data["body"]}
        await self.emit("message", payload, room=pair_room(pair_id), namespace=VISITOR)
        return OK


def create_relay() -> socketio.ASGIApp:
    # The transport settings of service/app.py create_socketio: the same JSON module, no HTTP
    # compression, the same packet size limit. Its handlers run in line (async_handlers=False):
    # with nothing to wait for, that is the stack's cheapest way to answer. The service cannot
    # do that (a message waits for its commit), so each of its events is a task of its own.
    sio = socketio.AsyncServer(
        async_mode="asgi",
        cors_allowed_origins=lambda origin, environ: True,
        cors_credentials=False,
        async_handlers=False,
        max_http_buffer_size=65536,
        http_compression=False,
        json=jsonshim,
        logger=False,
        engineio_logger=False,
    )
    sio.register_namespace(VisitorSide())
    sio.register_namespace(CounselorSide())
    return socketio.ASGIApp(sio)


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.relay", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    # The uvicorn settings of service/cli.py _serve, one for one.
    uvicorn.run(
        create_relay(),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        ws_per_message_deflate=False,
        lifespan="on",
        loop="auto",
        http="auto",
        ws="websockets-sansio",
        server_header=False,
        timeout_graceful_shutdown=3,
    )


if __name__ == "__main__":
    main()
