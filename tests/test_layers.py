"""The storage seam holds: the code above ``service/db/`` knows only ``service.storage.Store``.

Access rules, auth, the catalog, actions, realtime and http import nothing from ``service.db``,
nor ``sqlite3`` or ``aiosqlite``, so a second database backend needs no change there. Only the
entry points may open the concrete store.
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
    *sorted((SERVICE / "domain").rglob("*.py")),
]
FORBIDDEN = ("service.db", "sqlite3", "aiosqlite")


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
        "import aiosqlite.core\n"
    )
    assert forbidden_in(sample) == [
        "aiosqlite.core",
        "service.db",
        "service.db.store",
        "service.db.store.SqliteStore",
        "sqlite3",
    ]


def test_nothing_in_the_service_uses_aiosqlite() -> None:
    users = [p for p in sorted(SERVICE.rglob("*.py")) if "aiosqlite" in imported_modules(p)]
    assert users == []
