"""Client addresses (and account names) as keyed hashes: how they appear in Redis.

A plain hash of an address could be reversed by hashing every IPv4 address; an HMAC under a key
derived from the service's encryption key cannot without that key. Every process with the same
keys derives the same hash, so all of them count one address together.
"""

from __future__ import annotations

import hashlib
import hmac

from service.crypto import Sealer

LABEL = "client address in shared limits"


class KeyedHash:
    def __init__(self, key: bytes) -> None:
        self.key = key

    @classmethod
    def of(cls, sealer: Sealer) -> KeyedHash:
        return cls(sealer.derive(LABEL))

    def __call__(self, text: str) -> str:
        return hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()
