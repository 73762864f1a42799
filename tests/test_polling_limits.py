"""An oversized long-polling POST is answered at once, with or without Content-Length, and the
service keeps serving. Raw HTTP over real sockets: a Socket.IO client would never send one."""

from __future__ import annotations

import asyncio
import json

import httpx

from tests.support import Clients, Server, client_id

LIMIT = 65536  # MADOGUCHI_MAX_PAYLOAD_BYTES, the default
ANSWER_WITHIN = 5.0  # generous: "answered, not held" (measured: a few milliseconds)


def handshake(server: Server) -> str:
    """A new Engine.IO session over long-polling; its sid."""
    opened = httpx.get(f"{server.url}/socket.io/?EIO=4&transport=polling", timeout=10)
    assert opened.status_code == 200 and opened.text.startswith("0"), opened.text
    return str(json.loads(opened.text[1:])["sid"])


async def post(
    server: Server, sid: str, headers: list[str]
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    lines = [
        f"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1",
        f"Host: 127.0.0.1:{server.port}",
        "Content-Type: text/plain;charset=UTF-8",
        *headers,
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    return reader, writer


async def status_of(reader: asyncio.StreamReader) -> int:
    line = await asyncio.wait_for(reader.readline(), ANSWER_WITHIN)
    assert line.startswith(b"HTTP/1.1 "), line
    return int(line.split()[1])


async def answer_to(writer: asyncio.StreamWriter, reader: asyncio.StreamReader, body: bytes) -> int:
    """Sends ``body`` (all of it or the start of a longer one), then awaits the status. Never
    more than the server reads: it closes the connection after answering, and unread bytes
    would make that close a reset that loses the answer."""
    try:
        writer.write(body)
        await writer.drain()
        return await status_of(reader)
    finally:
        writer.close()


async def oversized_with_length(server: Server, sid: str, declared: int, sent: int) -> int:
    reader, writer = await post(server, sid, [f"Content-Length: {declared}"])
    return await answer_to(writer, reader, b"4" * sent)


async def oversized_chunked(server: Server, sid: str) -> int:
    """A chunked body that passes the limit and does not end: nothing waits for its end."""
    reader, writer = await post(server, sid, ["Transfer-Encoding: chunked"])
    chunk = f"{4096:x}\r\n".encode() + b"4" * 4096 + b"\r\n"
    return await answer_to(writer, reader, chunk * (LIMIT // 4096 + 4))


async def test_an_oversized_polling_post_is_answered_at_once(server: Server) -> None:
    sid = handshake(server)
    assert await oversized_with_length(server, sid, LIMIT + 1, LIMIT + 1) == 413
    assert await oversized_with_length(server, sid, 100_000_000, LIMIT) == 413
    assert await oversized_chunked(server, sid) == 413


async def test_a_hundred_oversized_posts_hold_nothing(server: Server, clients: Clients) -> None:
    sids = [handshake(server) for _ in range(10)]
    statuses = await asyncio.gather(
        *[oversized_with_length(server, sids[i % 10], 10_000_000, 4096) for i in range(100)]
    )
    assert statuses == [413] * 100  # each within ANSWER_WITHIN
    # The service keeps serving, long-polling included.
    assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
    visitor = await clients.visitor(transport="polling")
    assert (await visitor.call("start", {}))["ok"]
    ack = await visitor.call("message", {"client_id": client_id(), "body": "届いていますか"})
    assert ack["ok"], ack


async def test_a_chunked_post_within_the_limit_is_read_as_usual(server: Server) -> None:
    sid = handshake(server)
    reader, writer = await post(server, sid, ["Transfer-Encoding: chunked"])
    body = b"40/visitor,"  # Socket.IO: connect to /visitor
    writer.write(f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n")
    await writer.drain()
    assert await status_of(reader) == 200
    writer.close()
    polled = httpx.get(f"{server.url}/socket.io/?EIO=4&transport=polling&sid={sid}", timeout=10)
    assert polled.status_code == 200 and polled.text.startswith("40/visitor,"), polled.text
