"""A full disk under the database is survived: writes fail cleanly (``internal_error``, safe to
retry), nothing acknowledged is lost, ``/healthz`` says why with a 503, the log grows by a few
lines rather than one per failed write, and the service recovers by itself once there is room.

The database lives on a tiny tmpfs of its own (mounting needs root; the test is skipped with
the reason otherwise). The path the server is given is a symlink to it, which SQLite follows,
so that its WAL lands there too while the key, the lock and the server's log stay outside.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.support import Clients, Server, assert_error, client_id, login

pytestmark = pytest.mark.sqlite_only("the SQLite file and its WAL on a full volume")

VOLUME_SIZE = "2m"
FLOOD = 200


@contextlib.contextmanager
def tiny_volume() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="madoguchi-full-") as tmp:
        volume = Path(tmp) / "volume"
        volume.mkdir()
        if os.geteuid() != 0:
            pytest.skip("mounting a tiny tmpfs needs root")
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={VOLUME_SIZE},mode=0700", "tmpfs", str(volume)],
            capture_output=True,
            text=True,
            check=False,
        )
        if mounted.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
        try:
            yield volume
        finally:
            subprocess.run(["umount", "-l", str(volume)], check=False)


def fill(volume: Path) -> None:
    """Take every free byte of the volume, down to its smallest unit."""
    with (volume / f"filler-{time.monotonic_ns()}").open("wb", buffering=0) as filler:
        for chunk in (1 << 16, 1 << 12, 1 << 9, 1):
            with contextlib.suppress(OSError):
                while True:
                    filler.write(b"\0" * chunk)
    with contextlib.suppress(OSError):
        os.sync()
    try:
        (volume / "probe").write_bytes(b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    else:
        raise AssertionError("the volume still has room")


def free(volume: Path) -> None:
    for path in volume.glob("filler-*"):
        path.unlink()
    (volume / "probe").unlink(missing_ok=True)


def health(server: Server) -> httpx.Response:
    return httpx.get(f"{server.url}/healthz", timeout=30)


async def test_a_full_disk_fails_writes_cleanly_and_the_service_recovers() -> None:
    with tiny_volume() as volume:
        db_path = volume.parent / "madoguchi.sqlite3"
        (volume / "madoguchi.sqlite3").touch(mode=0o600)
        db_path.symlink_to(volume / "madoguchi.sqlite3")
        server = Server(
            db_path=db_path,
            env={
                "MADOGUCHI_VISITOR_MESSAGE_RATE": "100000",
                "MADOGUCHI_VISITOR_MESSAGE_BURST": "100000",
            },
        )
        server.start()
        clients = Clients(server)
        try:
            await check_full_disk(server, clients, volume)
        except BaseException:
            print(f"--- server log ---\n{server.logs()}")  # noqa: T201 (diagnostics)
            raise
        finally:
            await clients.close()
            server.stop()


async def check_full_disk(server: Server, clients: Clients, volume: Path) -> None:
    server.add_user("hana", PASSWORD)
    guest = await clients.visitor()
    cid = (await guest.call("start", {}))["conversation"]["id"]
    hana = await clients.counselor(await login(server, "hana", PASSWORD))
    assert (await hana.call("claim", {"conversation_id": cid}))["ok"]
    acked: list[str] = []

    async def send(body: str) -> dict[str, object]:
        ack: dict[str, object] = await guest.call(
            "message", {"client_id": client_id(), "body": body}
        )
        if ack["ok"]:
            acked.append(body)
        return ack

    assert (await send("空きがあるうち"))["ok"]
    wal = volume / "madoguchi.sqlite3-wal"
    assert wal.stat().st_size > 0  # the WAL is on the tiny volume, and holds space there

    # Full: each write fails cleanly. A failed write gives the WAL's space back, which
    # the next fill takes again, as anything else on a shared volume might.
    failures = 0
    for n in range(20):
        fill(volume)
        ack = await send(f"満杯 {n}")
        if not ack["ok"]:
            assert_error(ack, "internal_error")
            failures += 1
            # Answered after the writer checkpointed and truncated the WAL.
            assert wal.stat().st_size == 0
    assert failures >= 10, f"only {failures} of 20 writes failed on a full volume"
    fill(volume)
    unhealthy = health(server)
    assert unhealthy.status_code == 503
    assert unhealthy.json()["reason"] == "the disk is full: writes fail until space is freed"

    lines_before = len(server.logs().splitlines())
    for n in range(FLOOD):
        ack = await send(f"洪水 {n}")
        assert ack["ok"] or ack["error"]["code"] == "internal_error", ack
    for _ in range(20):
        assert health(server).status_code in (200, 503)
    grown = len(server.logs().splitlines()) - lines_before
    assert grown <= 10, f"{FLOOD} failed writes added {grown} log lines"

    free(volume)
    freed_at = time.monotonic()
    deadline = freed_at + 30
    while health(server).status_code != 200:  # the next probe is the writer's retry
        assert time.monotonic() < deadline, "the service did not recover once space was freed"
        time.sleep(0.1)  # polling /healthz with a deadline
    recovered_in = time.monotonic() - freed_at
    assert (await send("空きが戻った"))["ok"]

    history = await hana.call("history", {"conversation_id": cid})
    stored = [m["body"] for m in history["messages"] if m["author"] == "visitor"]
    assert stored == acked  # every acknowledged message, in order, and nothing else
    print(  # noqa: T201 (measured, for the report)
        f"\n{failures}/20 writes failed while full; {FLOOD} more added {grown} log lines; "
        f"{len(acked)} acked and kept; /healthz 200 again {recovered_in:.2f} s after freeing"
    )
