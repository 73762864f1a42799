"""What may reach the service's log, and how often.

- Libraries that print packets, frames or request lines (Engine.IO, Socket.IO, websockets,
  uvicorn) stay at WARNING whatever ``MADOGUCHI_LOG_LEVEL`` says: at debug they would print
  what people wrote, tokens in handshakes and query strings.
- A request line never keeps its query string (filters and searches such as the casebook's
  code word travel there) nor the client's address.
- A warning or error repeated with the same wording (a full disk fails every write, and a
  health check probes every few seconds) is written once a minute, then with the count of
  those held back, so that the log cannot fill the disk that is already full.
"""

from __future__ import annotations

import logging
from typing import Any

QUIET_LOGGERS = {
    "websockets": logging.WARNING,
    "uvicorn": logging.WARNING,
    "uvicorn.error": logging.WARNING,
    "uvicorn.access": logging.WARNING,
    # What python-socketio and python-engineio give their loggers when told not to log
    # (logger=False); set here, their own level stays whatever ours is.
    "engineio": logging.ERROR,
    "engineio.server": logging.ERROR,
    "socketio": logging.ERROR,
    "socketio.server": logging.ERROR,
}
REPEAT_WINDOW = 60.0
"""Seconds during which a repeated warning or error is counted rather than written."""
_MAX_KINDS = 1000  # bounds the memory of a flood of distinct messages


class PrivateRepeats(logging.Filter):
    """A handler's filter: strips query strings and addresses from request lines, and holds
    back repeats of a warning or error within :data:`REPEAT_WINDOW`."""

    def __init__(self, name: str = "") -> None:
        super().__init__(name)
        self._seen: dict[tuple[Any, ...], list[float]] = {}
        """kind → [when it was last written, how many were held back since]."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access":
            _strip_request_line(record)
        if record.levelno < logging.WARNING:
            return True
        kind = (record.name, record.levelno, str(record.msg), _exception_name(record))
        state = self._seen.get(kind)
        if state is not None and 0 <= record.created - state[0] < REPEAT_WINDOW:
            state[1] += 1
            return False
        if state is not None and state[1]:
            # Appended to the format, which is never the values: no "%" to escape.
            record.msg = f"{record.msg} ({int(state[1])} more like this held back)"
        if len(self._seen) >= _MAX_KINDS:
            self._seen.clear()
        self._seen[kind] = [record.created, 0]
        return True


def _exception_name(record: logging.LogRecord) -> str:
    exc = record.exc_info[1] if record.exc_info else None
    return type(exc).__name__ if exc is not None else ""


def _strip_request_line(record: logging.LogRecord) -> None:
    """uvicorn's access line is (address, method, path with query, HTTP version, status)."""
    args = record.args
    if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
        record.args = ("-", args[1], args[2].split("?", 1)[0], *args[3:])


SHARED = PrivateRepeats()
"""One filter for the root's handler and uvicorn's, so that a kind is counted once."""


def shared() -> PrivateRepeats:
    """The factory uvicorn's logging configuration names (``cli._uvicorn_logging``)."""
    return SHARED


def configure(level: str) -> None:
    """The root logger at ``level`` with its handler filtered; the chatty libraries above it."""
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(SHARED)
    for name, floor in QUIET_LOGGERS.items():
        logger = logging.getLogger(name)
        logger.setLevel(max(floor, logger.getEffectiveLevel()))
