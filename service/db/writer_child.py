"""The writer process's side (``python -m service.db.writer_child``): it owns the writing
connection and answers the server's requests (``writer.py``) until the server closes its end.

It dies with its parent (``PR_SET_PDEATHSIG``, and the end of its socket), so a restarted
server never waits on an orphan that holds the write lock.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import signal
import socket
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from service.db.connections import open_writing_connection
from service.db.transaction import Outcome, commit_batch
from service.db.writer import HEADER

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _read_frame(sock: socket.socket) -> bytes | None:
    header = _read_exactly(sock, HEADER.size)
    if header is None:
        return None
    (size,) = HEADER.unpack(header)
    return _read_exactly(sock, size)


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _answer(sock: socket.socket, outcome: Outcome) -> None:
    data = pickle.dumps(_picklable(outcome), 5)
    sock.sendall(HEADER.pack(len(data)) + data)


def _picklable(outcome: Outcome) -> Outcome:
    """An outcome that can cross to the server: an error that cannot be pickled becomes a
    plain one naming its type (never its text, which might hold what someone wrote)."""
    try:
        pickle.dumps(outcome, 5)
    except Exception:
        ok, value = outcome
        if ok:
            return False, RuntimeError("the writer's result could not be sent")
        return False, RuntimeError(f"writer error: {type(value).__name__}")
    return outcome


def _bound(fn: Callable[..., Any], args: tuple[Any, ...]) -> Callable[[sqlite3.Connection], Any]:
    return lambda conn: fn(conn, *args)


def _apply(conn: sqlite3.Connection, request: tuple[Any, ...]) -> Outcome:
    kind = request[0]
    if kind == "batch":
        ops = pickle.loads(request[1])  # noqa: S301 (from our server)
        outcomes = commit_batch(conn, [_bound(fn, args) for fn, args in ops])
        try:
            return True, pickle.dumps(outcomes, 5)
        except Exception:
            return True, pickle.dumps([_picklable(o) for o in outcomes], 5)
    if kind == "maintain":
        return True, request[1](conn, *request[2])
    raise ValueError(f"unknown request {kind!r}")


def serve(sock: socket.socket) -> None:
    """Answer the server's requests until it closes its end."""
    conn: sqlite3.Connection | None = None
    while (frame := _read_frame(sock)) is not None:
        request = pickle.loads(frame)  # noqa: S301 (our server, on our private socket pair)
        try:
            if request[0] == "open":
                conn = open_writing_connection(Path(request[1]), request[2], request[3])
                outcome: Outcome = (True, None)
            else:
                assert conn is not None  # noqa: S101 ("open" comes first)
                outcome = _apply(conn, request)
        except Exception as exc:
            outcome = (False, exc)
        _answer(sock, outcome)
    if conn is not None:
        conn.close()


def _die_with(parent: int) -> None:
    """Be killed when the server ends, however it ends: an orphan would keep the write lock.
    The end of the socket alone is not enough: a stopped or stuck child never reads it."""
    if sys.platform.startswith("linux"):
        # Sent when the thread that started us ends: the server's event loop thread, which
        # lives as long as the server.
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the server ended before the line above
        os._exit(1)


def main() -> None:
    fd, parent = int(sys.argv[1]), int(sys.argv[2])
    _die_with(parent)
    with socket.socket(fileno=fd) as sock:
        # A Ctrl-C (`make run`) or a service manager's SIGTERM reaches the whole process group:
        # the child finishes the batch it has and leaves when the server closes the socket.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        serve(sock)
    os._exit(0)


if __name__ == "__main__":
    main()
