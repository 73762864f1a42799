"""The storage seam holds: the code above ``service/db/`` and ``service/pg/`` knows only
``service.storage.Store``.

Access rules, auth, the catalog, actions, realtime, cluster and http import nothing from
``service.db`` or ``service.pg``, nor ``sqlite3``, ``aiosqlite`` or ``asyncpg``, nor the factory
``service.stores``: both backends serve them unchanged. Only the entry points (``app.py``,
``cli*.py``, ``backup.py``) open a concrete store, through ``service/stores.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support import PROJECT_DIR

SERVICE = PROJECT_DIR / "service"
ABOVE_STORAGE = [
    SERVICE / "access.py",
    SERVICE / "auth.py",
    SERVICE / "catalog.py",
    SERVICE / "context.py",
    SERVICE / "storage.py",
    *sorted((SERVICE / "actions").rglob("*.py")),
    *sorted((SERVICE / "realtime").rglob("*.py")),
    *sorted((SERVICE / "http").rglob("*.py")),
    *sorted((SERVICE / "cluster").rglob("*.py")),
    *sorted((SERVICE / "domain").rglob("*.py")),
]
FORBIDDEN = ("service.db", "service.pg", "service.stores", "sqlite3", "aiosqlite", "asyncpg")
# The storage packages, and the modules that may open a concrete store.
STORAGE = [SERVICE / "db", SERVICE / "pg"]
OPENERS = [SERVICE / name for name in ("stores.py", "app.py", "cli.py", "cli_admin.py")]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def forbidden_in(path: Path) -> list[str]:
    return sorted(
        name
        for name in imported_modules(path)
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN)
    )


@pytest.mark.parametrize("path", ABOVE_STORAGE, ids=lambda p: str(p.relative_to(SERVICE)))
def test_code_above_storage_imports_no_database_module(path: Path) -> None:
    assert forbidden_in(path) == []


def test_the_scan_sees_every_form_of_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import sqlite3\nfrom service.db.store import SqliteStore\nfrom service import db\n"
        "import aiosqlite.core\nimport asyncpg\nfrom service.pg.store import PgStore\n"
        "from service.stores import open_configured_store\n"
    )
    assert forbidden_in(sample) == [
        "aiosqlite.core",
        "asyncpg",
        "service.db",
        "service.db.store",
        "service.db.store.SqliteStore",
        "service.pg.store",
        "service.pg.store.PgStore",
        "service.stores",
        "service.stores.open_configured_store",
        "sqlite3",
    ]


def test_nothing_in_the_service_uses_aiosqlite() -> None:
    users = [p for p in sorted(SERVICE.rglob("*.py")) if "aiosqlite" in imported_modules(p)]
    assert users == []


def test_only_the_storage_and_its_openers_name_a_backend() -> None:
    """asyncpg and ``service.pg`` are PostgreSQL's: outside ``service/pg/`` only the factory and
    the entry points (and ``backup.py``, which copies either database) may import them."""
    allowed = [*OPENERS, SERVICE / "backup.py"]
    users = [
        str(p.relative_to(SERVICE))
        for p in sorted(SERVICE.rglob("*.py"))
        if not any(p.is_relative_to(d) for d in STORAGE)
        and p not in allowed
        and any(
            name == bad or name.startswith(bad + ".")
            for name in imported_modules(p)
            for bad in ("asyncpg", "service.pg")
        )
    ]
    assert users == []
