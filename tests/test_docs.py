"""The documentation keeps up with the code: every event and every setting is documented."""

from __future__ import annotations

import re
from dataclasses import fields

import pytest

from service.config import Settings, env_name
from service.errors import ErrorCode
from service.realtime.counselor import CounselorNamespace
from service.realtime.visitor import VisitorNamespace
from tests.support import PROJECT_DIR

PROTOCOL = (PROJECT_DIR / "docs" / "protocol.md").read_text()
README = (PROJECT_DIR / "README.md").read_text()


def namespace_section(namespace: str) -> str:
    start = PROTOCOL.index(f"## Namespace `{namespace}`")
    end = PROTOCOL.find("\n## ", start + 1)
    return PROTOCOL[start:end]


@pytest.mark.parametrize(
    ("namespace", "cls"), [("/visitor", VisitorNamespace), ("/counselor", CounselorNamespace)]
)
def test_every_event_has_a_section_in_the_protocol(namespace: str, cls: type) -> None:
    section = namespace_section(namespace)
    events = cls.handlers(cls.__new__(cls)).keys()  # type: ignore[attr-defined]
    documented = set(re.findall(r"^### `(\w+)`", section, re.MULTILINE))
    assert set(events) == documented


@pytest.mark.parametrize("code", [c.value for c in ErrorCode])
def test_every_error_code_is_documented(code: str) -> None:
    assert f"`{code}`" in PROTOCOL


@pytest.mark.parametrize("name", [env_name(f.name) for f in fields(Settings)])
def test_every_setting_is_in_the_readme(name: str) -> None:
    assert f"`{name}`" in README
