"""The lock ``madoguchi serve`` holds on its database for as long as it runs.

Some commands must not run beside a server: ``rotate-key`` reseals every value and then drops
the old key, so a message the server committed meanwhile, sealed with the old key, could never
be opened again. A second server on the same file would run a second writer. Both test this
lock, without waiting, and refuse with a clear message while a server holds it.

It is an exclusive ``flock`` on ``DB.lock`` beside the database: the kernel releases it when the
holder ends, however it ends (a crash, SIGKILL), so a stale lock never outlives its server.
Descriptors are not inherited, so the writer child never holds it on its own.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

# The server's descriptor, kept open (and so locked) until the process ends.
_held: list[int] = []


class DatabaseInUse(Exception):
    """A running ``madoguchi serve`` holds the database."""


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


def _take(db_path: Path) -> int:
    path = lock_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise DatabaseInUse(
            f"the database {db_path} is in use by a running `madoguchi serve` (or `rotate-key`)"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    return fd


def hold_for_life(db_path: Path) -> None:
    """Take the lock for the rest of this process (``serve``); DatabaseInUse if taken."""
    _held.append(_take(db_path))


@contextlib.contextmanager
def held(db_path: Path) -> Iterator[None]:
    """Hold the lock while the block runs (``rotate-key``); DatabaseInUse if taken."""
    fd = _take(db_path)
    try:
        yield
    finally:
        os.close(fd)
