"""Encryption at rest: the one place that seals and opens what visitors and staff write.

A sealed value is ``VERSION | key id (4 bytes) | nonce (12 bytes) | AES-256-GCM ciphertext+tag``.
The associated data names the column and the conversation, so a ciphertext moved to another
conversation or another column fails to open. Keys are 32 random bytes written as URL-safe
base64; the first key seals, every key opens (that is how rotation works: ``madoguchi
rotate-key`` puts a new key first, reseals every row, then drops the old one).

Code words must still be found by exact match: beside the ciphertext the database keeps an
HMAC-SHA256 of the word under a key derived from the sealing key (:meth:`Sealer.lookup`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = 1
_HEADER = 1 + 4 + 12


class SealError(Exception):
    """A key is missing, malformed, or does not open this database."""


def new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def parse_keys(text: str) -> list[bytes]:
    """Keys separated by commas, spaces or lines; the first one seals."""
    keys = []
    for word in text.replace(",", " ").split():
        try:
            key = base64.urlsafe_b64decode(word.encode())
        except (binascii.Error, ValueError):
            raise SealError("an encryption key is not valid base64") from None
        if len(key) != 32:
            raise SealError("an encryption key must be 32 bytes (44 base64 characters)")
        keys.append(key)
    if not keys:
        raise SealError("no encryption key given")
    return keys


def key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"madoguchi key id\0" + key).digest()[:4]


class Sealer:
    """Seals text with the first key; opens with whichever key sealed it."""

    def __init__(self, keys: Iterable[bytes]) -> None:
        keys = list(keys)
        if not keys:
            raise SealError("no encryption key given")
        self._keys = tuple(keys)
        self._ciphers = {key_id(k): AESGCM(k) for k in keys}
        self.key_id = key_id(keys[0])
        self._sealing = self._ciphers[self.key_id]
        self._mac_key = hmac.digest(keys[0], b"madoguchi code word lookup", "sha256")

    def __reduce__(self) -> tuple[type[Sealer], tuple[tuple[bytes, ...]]]:
        # Pickled only to reach the writer process over its private socket (db/writer.py).
        return Sealer, (self._keys,)

    @property
    def key_ids(self) -> list[bytes]:
        return list(self._ciphers)

    def seal(self, text: str, aad: str) -> bytes:
        nonce = os.urandom(12)
        ciphertext = self._sealing.encrypt(nonce, text.encode(), aad.encode())
        return bytes((VERSION,)) + self.key_id + nonce + ciphertext

    def open(self, blob: bytes, aad: str) -> str:
        if not isinstance(blob, bytes) or len(blob) < _HEADER + 16 or blob[0] != VERSION:
            raise SealError("not a sealed value")
        cipher = self._ciphers.get(blob[1:5])
        if cipher is None:
            raise SealError("sealed with a key that is not configured")
        try:
            return cipher.decrypt(blob[5:17], blob[17:], aad.encode()).decode()
        except InvalidTag:
            raise SealError("a sealed value failed to open (tampered or moved)") from None

    def is_current(self, blob: bytes) -> bool:
        return blob[1:5] == self.key_id

    def derive(self, label: str) -> bytes:
        """A 32-byte key for another purpose (``label`` names it), derived from the sealing
        key: every process configured with the same keys derives the same one."""
        return hmac.digest(self._keys[0], b"madoguchi derived key\0" + label.encode(), "sha256")

    def lookup(self, text: str) -> str:
        """A keyed hash for exact-match search (the code word)."""
        return hmac.new(self._mac_key, text.encode(), "sha256").hexdigest()


def load_keys(env_keys: str, key_file: Path, create: bool) -> Sealer:
    """The keys of ``MADOGUCHI_ENCRYPTION_KEY`` if set, else those of the key file.

    With ``create``, a missing key file is made with a new key, readable by its owner only.
    """
    if env_keys.strip():
        return Sealer(parse_keys(env_keys))
    if not key_file.exists():
        if not create:
            raise SealError(f"no key file at {key_file} (set MADOGUCHI_ENCRYPTION_KEY?)")
        write_key_file(key_file, [new_key()])
    return Sealer(parse_keys(read_key_file(key_file)))


def read_key_file(key_file: Path) -> str:
    """The key file's text. Refused if any other account may read or change it: the key opens
    every record, and a file others can read has leaked in all but name; starting anyway
    would hide that until it is too late (docs/security.md)."""
    try:
        mode = stat.S_IMODE(key_file.stat().st_mode)
        if mode & 0o077:
            raise SealError(
                f"the key file {key_file} is open to other accounts (mode {mode:04o}); "
                f"make it private with: chmod 600 {key_file}"
            )
        return key_file.read_text("ascii")
    except UnicodeDecodeError:
        raise SealError(f"the key file {key_file} does not hold base64 keys") from None
    except OSError as exc:
        raise SealError(f"the key file {key_file} cannot be read ({exc.strerror})") from None


def rotate_keys(env_keys: str, key_file: Path, finish: bool = False) -> Sealer:
    """The sealer a rotation reseals with.

    With the environment's keys, its first key. With a key file: a new key written in front of
    the old ones (so a crash midway leaves a file that opens everything); with ``finish``,
    after the reseal has committed, the file keeps only the first key.
    """
    if env_keys.strip():
        return Sealer(parse_keys(env_keys))
    if not key_file.exists():
        raise SealError(f"no key file at {key_file}")
    words = read_key_file(key_file).split()
    parse_keys(" ".join(words))
    words = words[:1] if finish else [new_key(), *words]
    write_key_file(key_file, words)
    return Sealer(parse_keys(" ".join(words)))


def write_key_file(key_file: Path, keys: list[str]) -> None:
    """Write (or replace) the key file atomically with mode 0600."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    temp = key_file.with_name(key_file.name + ".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, ("\n".join(keys) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(temp, 0o600)
    os.replace(temp, key_file)
