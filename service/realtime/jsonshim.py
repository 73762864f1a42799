"""msgspec as the JSON module of our Socket.IO packets (packets.py): several times faster than
the standard library on the message path. Decoding errors surface as ValueError, as they do from
``json``."""

from __future__ import annotations

import json
from typing import Any

import msgspec

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


def dumps(obj: Any, **_: Any) -> str:
    try:
        return _encoder.encode(obj).decode()
    except UnicodeEncodeError:
        # A lone surrogate cannot be UTF-8; the standard library escapes it ("\ud83d").
        # Validation refuses them in what clients send, so the server should never emit one;
        # should one slip through, the event still goes out instead of the emit failing.
        return json.dumps(obj, separators=(",", ":"))


def loads(data: str | bytes, **_: Any) -> Any:
    try:
        return _decoder.decode(data)
    except msgspec.DecodeError as exc:
        error = exc
    # msgspec refuses an escaped lone surrogate ("\ud83d"), which JavaScript's JSON.stringify
    # writes for a string cut inside an emoji. The standard library reads it, so the event is
    # answered invalid_payload by validation instead of being dropped without an ack.
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise ValueError(str(error)) from None
