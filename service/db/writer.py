"""The server's writer: a child process, ``python -m service.db.writer_child``, that owns the
writing connection and commits the batches ``batching.GroupCommit`` hands it.

Run on a thread of the server instead, the batch's SQL needed the GIL back after every statement
while the busy event loop held it, and under load the writes, not the sockets, set the pace
(docs/performance.md). In its own process it has the machine's second core; the event loop only
pickles a batch and reads the answer.

Requests and answers are length-prefixed pickles (``HEADER``) on a socket pair private to the
two processes; only one request is in flight (the batcher's lock), so answers come back in
order. The child's side is ``writer_child.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import socket
import struct
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from service.crypto import Sealer
from service.db.batching import Op, WriterGone
from service.db.transaction import Outcome

HEADER = struct.Struct("!I")
# How long close() waits for the child to finish its last commit before it is killed.
_EXIT_TIMEOUT = 10.0


class ProcessRunner:
    """Runs batches in a child process; ``restart()`` kills it and starts a new one."""

    def __init__(self, path: Path, sealer: Sealer | None, lock_wait: float) -> None:
        self._path, self._sealer, self._lock_wait = path, sealer, lock_wait
        self._child: asyncio.subprocess.Process | None = None
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    @property
    def pid(self) -> int | None:
        """The writer process's id, for diagnostics."""
        return None if self._child is None else self._child.pid

    @property
    def returncode(self) -> int | None:
        return None if self._child is None else self._child.returncode

    async def run_batch(self, ops: list[Op]) -> list[Outcome]:
        # One pickle for the batch: a pickle per operation cost the event loop several times
        # as much (bench profile).
        try:
            data, refused = pickle.dumps(ops, 5), {}
        except Exception:  # a lambda or a handle among them: refuse it to its caller alone
            refused = _unpicklable(ops)
            data = pickle.dumps([op for i, op in enumerate(ops) if i not in refused], 5)
        ok, value = await self._call(("batch", data))
        if not ok:
            raise value
        outcomes: list[Outcome] = pickle.loads(value)  # noqa: S301 (see _call)
        for index in sorted(refused):
            outcomes.insert(index, refused[index])
        return outcomes

    async def maintain(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        ok, value = await self._call(("maintain", fn, args))
        if not ok:
            raise value
        return value

    async def restart(self) -> None:
        await self._kill()
        ours, theirs = socket.socketpair()
        try:
            self._child = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "service.db.writer_child",
                str(theirs.fileno()),
                str(os.getpid()),
                pass_fds=(theirs.fileno(),),
                stdin=asyncio.subprocess.DEVNULL,
            )
        finally:
            theirs.close()
        self._streams = await asyncio.open_unix_connection(sock=ours)
        # The key travels on the private socket: never in argv or the environment.
        ok, value = await self._call(("open", str(self._path), self._sealer, self._lock_wait))
        if not ok:
            raise value

    async def close(self, *, hung: bool = False) -> None:
        if hung:  # it missed its deadline: nothing to wait for
            await self._kill()
            return
        if self._streams is not None:
            self._streams[1].close()  # the child sees the end of its input and exits
            self._streams = None
        if self._child is not None and self._child.returncode is None:
            try:
                await asyncio.wait_for(self._child.wait(), _EXIT_TIMEOUT)
            except TimeoutError:
                await self._kill()

    async def _kill(self) -> None:
        """End a child that hung (even a stopped one: SIGKILL needs no cooperation) or died."""
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None
        if self._child is not None:
            with contextlib.suppress(ProcessLookupError):
                self._child.kill()
            await self._child.wait()

    async def _call(self, request: tuple[Any, ...]) -> Outcome:
        if self._streams is None:
            raise WriterGone("no writer process")
        reader, writer = self._streams
        data = pickle.dumps(request, 5)
        try:
            writer.write(HEADER.pack(len(data)) + data)
            await writer.drain()
            (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
            # Our own child on an unnamed socket pair nobody else holds: pickle is trusted here.
            answer: Outcome = pickle.loads(await reader.readexactly(size))  # noqa: S301
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            self._streams = None
            writer.close()
            raise WriterGone("the writer process ended") from exc
        return answer


def _unpicklable(ops: list[Op]) -> dict[int, Outcome]:
    refused: dict[int, Outcome] = {}
    for index, (fn, args) in enumerate(ops):
        try:
            pickle.dumps((fn, args), 5)
        except Exception as exc:
            error = TypeError(f"a write operation cannot be pickled: {fn!r}")
            error.__cause__ = exc
            refused[index] = (False, error)
    return refused
