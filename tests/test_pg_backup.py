"""``madoguchi backup PATH`` with ``MADOGUCHI_DATABASE_URL``: ``pg_dump`` makes a copy that
``pg_restore`` turns into the same rows in a fresh database, content still sealed and readable
with the key only; a database that cannot be reached leaves no file and no password behind."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from service.crypto import Sealer, SealError, new_key, parse_keys
from service.domain.visitors import Survey
from service.pg.backup import libpq_environment
from service.pg.store import PgStore
from tests.backends import Postgres
from tests.support import PROJECT_DIR

SECRETS = ("相談の本文-秘密", "内部メモ-秘密", "要約-秘密", "合言葉-秘密", "感想-秘密")


async def filled(url: str, sealer: Sealer) -> str:
    """A database with every kind of content; the closed conversation's id."""
    store = await PgStore.open(url, sealer)
    try:
        await store.ensure_defaults("24/7")
        hana = await store.insert_user("hana", "花子", "counselor", "hash", None)
        desk = (await store.list_desks())[0].id
        cid = "backup-conversation"
        await store.insert_conversation(cid, "token", desk, None, None, "ja", None)
        await store.claim_conversation(cid, hana)
        await store.append_message(cid, "visitor", None, "c1", SECRETS[0])
        await store.insert_note(cid, hana, SECRETS[1])
        await store.set_summary(cid, hana, SECRETS[2])
        await store.set_code_word(cid, SECRETS[3])
        await store.close_conversation(cid, "resolved", "visitor")
        await store.insert_survey(cid, Survey(5, True, SECRETS[4]))
        return cid
    finally:
        await store.close()


def madoguchi_backup(
    url: str, target: Path, postgres: Postgres
) -> subprocess.CompletedProcess[str]:
    programs = str(Path(postgres.bin("pg_dump")).parent)
    env = {
        **os.environ,
        "MADOGUCHI_DATABASE_URL": url,
        "MADOGUCHI_LOG_LEVEL": "info",
        "PATH": programs + os.pathsep + os.environ.get("PATH", ""),
    }
    return subprocess.run(
        [sys.executable, "-m", "service", "backup", str(target)],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        check=False,
        text=True,
    )


def pg_restore(dump: Path, url: str, postgres: Postgres) -> None:
    """Restore as the docs say: into a fresh database, as the service's role."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    done = subprocess.run(
        [
            postgres.bin("pg_restore"),
            "--no-owner",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={postgres.database_name(url)}",
            str(dump),
        ],
        env={**env, **libpq_environment(url)},
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


async def every_row(admin_url: str) -> dict[str, list[str]]:
    """Each table's rows, as JSON text in a stable order."""
    conn = await asyncpg.connect(admin_url)
    try:
        tables = [
            r[0]
            for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        found = {}
        for table in tables:
            rows = await conn.fetch(
                f'SELECT to_jsonb(t)::text FROM "{table}" AS t ORDER BY 1'  # noqa: S608 (catalog)
            )
            found[table] = [r[0] for r in rows]
        return found
    finally:
        await conn.close()


async def test_a_backup_restores_with_pg_restore_to_the_same_sealed_rows(
    postgres: Postgres, tmp_path: Path
) -> None:
    sealer = Sealer(parse_keys(new_key()))
    url = postgres.new_database()
    cid = await filled(url, sealer)
    target = tmp_path / "copies" / "madoguchi.dump"

    done = madoguchi_backup(url, target, postgres)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert not target.with_name(target.name + ".partial").exists()
    assert urlsplit(url).password not in done.stdout + done.stderr

    restored = postgres.new_database()
    pg_restore(target, restored, postgres)
    original = await every_row(postgres.admin_url(url))
    assert all(original[t] for t in ("message", "note", "survey", "sealing_key", "user"))
    assert await every_row(postgres.admin_url(restored)) == original

    # Still sealed: the raw rows hold no text, which only the key opens.
    conn = await asyncpg.connect(postgres.admin_url(restored))
    try:
        raw = await conn.fetchval(
            "SELECT string_agg(encode(body, 'escape'), ' ') FROM message "
            "WHERE conversation_id = $1",
            cid,
        )
    finally:
        await conn.close()
    assert SECRETS[0] not in raw
    with pytest.raises(SealError):
        await PgStore.open(restored, Sealer(parse_keys(new_key())))
    store = await PgStore.open(restored, sealer)
    try:
        case = await store.get_case(cid)
        assert case is not None
        assert (case.summary, case.code_word, [n.body for n in case.notes]) == (
            SECRETS[2],
            SECRETS[3],
            [SECRETS[1]],
        )
        messages, _ = await store.list_messages(cid, 0, 10)
        assert SECRETS[0] in [m.body for m in messages]
        # The identity sequences came along: new rows get new ids.
        hana = await store.get_user("hana")
        assert hana is not None
        await store.insert_note(cid, hana.id, "復元後")
        case = await store.get_case(cid)
        assert case is not None and len({n.id for n in case.notes}) == 2
    finally:
        await store.close()


async def test_a_failed_backup_leaves_no_file_and_shows_no_password(
    postgres: Postgres, tmp_path: Path
) -> None:
    url = postgres.new_database()
    parts = urlsplit(url)
    wrong = "wrong-password-" + new_key()[:8]
    netloc = f"{parts.username}:{wrong}@{parts.hostname}:{parts.port}"
    target = tmp_path / "madoguchi.dump"

    wrong_url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    done = madoguchi_backup(wrong_url, target, postgres)
    assert done.returncode != 0
    assert "pg_dump failed" in done.stderr and "password authentication failed" in done.stderr
    assert wrong not in done.stdout + done.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_url_becomes_libpq_environment_variables() -> None:
    url = (
        "postgresql://mado%40guchi:p%40ss%3Aw%2Fd@db1.example:5433,[2001:db8::1]/mado%2Fguchi"
        "?sslmode=verify-full&application_name=backup"
    )
    assert libpq_environment(url) == {
        "PGUSER": "mado@guchi",
        "PGPASSWORD": "p@ss:w/d",
        "PGHOST": "db1.example,2001:db8::1",
        "PGPORT": "5433,",
        "PGDATABASE": "mado/guchi",
        "PGSSLMODE": "verify-full",
        "PGAPPNAME": "backup",
    }
    socket = "postgresql:///madoguchi?host=/run/postgresql"
    assert libpq_environment(socket) == {"PGDATABASE": "madoguchi", "PGHOST": "/run/postgresql"}
    with pytest.raises(ValueError, match="'pool_size'") as refusal:
        libpq_environment("postgresql://u:secret@h/db?pool_size=3")
    assert "secret" not in str(refusal.value)
    with pytest.raises(ValueError, match="postgresql://"):
        libpq_environment("mysql://u:secret@h/db")
