"""Pure rules, tested without a server."""

from __future__ import annotations

import pytest

from service.config import Settings
from service.domain.conversations import (
    Conversation,
    Message,
    queue_order,
    queue_positions,
    source_of,
)
from service.domain.directory import Partner, normalise_origin, origin_allowed
from service.domain.messages import MAX_BODY_CHARS, MAX_PAGE_BYTES, history_page, normalise_body
from service.domain.ratelimit import TokenBucket
from service.errors import AppError


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("こんにちは", "こんにちは"),
        ("  \n 話を聞いて \t", "話を聞いて"),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),  # text, never markup
        ("😀" * MAX_BODY_CHARS, "😀" * MAX_BODY_CHARS),  # code points, not UTF-16 units
        (" " + "a" * MAX_BODY_CHARS + " ", "a" * MAX_BODY_CHARS),  # limit applies after trim
        ("👩\u200d💻", "👩\u200d💻"),  # a joiner inside a body is kept
        ("\u200bはい", "\u200bはい"),  # invisible characters count as empty only when alone
    ],
)
def test_bodies_are_trimmed_and_kept_as_text(raw: str, stored: str) -> None:
    assert normalise_body(raw) == stored


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "empty_body"),
        ("  \n\t ", "empty_body"),
        ("\u200b\ufeff\u202e\u2066\u2069", "empty_body"),  # invisible, not white space
        ("a" * (MAX_BODY_CHARS + 1), "too_large"),
    ],
)
def test_empty_and_oversize_bodies_are_refused(raw: str, code: str) -> None:
    with pytest.raises(AppError) as refused:
        normalise_body(raw)
    assert refused.value.code == code


def test_a_history_page_stops_at_its_byte_bound_and_says_more() -> None:
    big = [Message("c", seq, "visitor", "話" * MAX_BODY_CHARS, "t", None) for seq in range(1, 61)]
    page, more = history_page(big, False)
    assert more is True and 0 < len(page) < len(big)
    assert sum(len(m.body.encode()) for m in page) <= MAX_PAGE_BYTES
    assert [m.seq for m in page] == list(range(1, len(page) + 1))
    small = big[:3]
    assert history_page(small, False) == (small, False)
    assert history_page(small, True) == (small, True)


def conversation(
    cid: str, created_at: str, urgent: bool = False, status: str = "waiting"
) -> Conversation:
    return Conversation(cid, 1, None, None, "ja", status, None, urgent, created_at, 0)  # type: ignore[arg-type]


def test_the_queue_puts_urgent_first_then_longest_waiting() -> None:
    queue = [
        conversation("late", "2026-01-01T10:05:00.000Z"),
        conversation("urgent", "2026-01-01T10:09:00.000Z", urgent=True),
        conversation("early", "2026-01-01T10:00:00.000Z"),
    ]
    assert [c.id for c in queue_order(queue)] == ["urgent", "early", "late"]
    queue.append(conversation("taken", "2026-01-01T09:00:00.000Z", status="active"))
    assert queue_positions(queue) == {"urgent": 1, "early": 2, "late": 3}


@pytest.mark.parametrize(
    ("partner", "campaign", "source"),
    [
        (None, None, "direct"),
        ("library", None, "partner:library"),
        ("x", "poster1", "campaign:poster1"),
    ],
)
def test_the_source_names_a_campaign_before_a_partner(
    partner: str | None, campaign: str | None, source: str
) -> None:
    assert source_of(partner, campaign) == source


@pytest.mark.parametrize(
    ("raw", "origin"),
    [
        ("https://Example.JP", "https://example.jp"),
        ("https://example.jp:443/", "https://example.jp"),
        ("https://example.jp:8443", "https://example.jp:8443"),
        ("http://LOCALHOST:8000/", "http://localhost:8000"),
        ("http://127.0.0.1:80", "http://127.0.0.1"),
        ("https://[2001:DB8::1]:443", "https://[2001:db8::1]"),
    ],
)
def test_origins_are_normalised(raw: str, origin: str) -> None:
    assert normalise_origin(raw) == origin


@pytest.mark.parametrize(
    "bad",
    [
        "javascript:alert(1)",
        "example.jp",
        "ftp://example.jp",
        "",
        "http://example.jp",  # plain http only for the developer's own machine
        "https://example.jp/page",
        "https://example.jp?x=1",
        "https://example.jp#top",
        "https://user@example.jp",
        "https://example.jp; script-src *",
        "https://example.jp,https://evil.example",
        "https://example.jp\nscript-src *",
        "https://exa mple.jp",
        "https://'self'",
        'https://"example.jp"',
        "https://example.jp:99999",
        "https://[not:an:ip]",
        "https://例え.jp",  # browsers send the punycode form: the admin writes that
    ],
)
def test_only_http_origins_are_accepted(bad: str) -> None:
    with pytest.raises(ValueError, match="origin"):
        normalise_origin(bad)


def test_a_browser_must_come_from_our_origin_or_the_partners() -> None:
    partner = Partner(1, "lib", "Library", ("https://lib.example.jp",), False, True)
    own = "https://chat.example.jp"
    assert origin_allowed(None, partner, own)  # not a browser
    assert origin_allowed(own, partner, own)  # our chat iframe
    assert origin_allowed("https://lib.example.jp", partner, own)
    assert not origin_allowed("https://evil.example", partner, own)
    assert not origin_allowed("https://lib.example.jp.evil.example", partner, own)


def test_a_token_bucket_allows_a_burst_then_the_steady_rate() -> None:
    bucket = TokenBucket(rate=5, burst=20)
    assert all(bucket.take(now=0.0) for _ in range(20))
    assert not bucket.take(now=0.0)
    assert bucket.take(now=0.2)  # one token back after 1/5 s
    assert not bucket.take(now=0.2)


def test_settings_come_from_the_environment_with_safe_defaults() -> None:
    defaults = Settings.from_env({})
    assert str(defaults.db_path) == "var/madoguchi.sqlite3"
    assert defaults.public_url == "http://127.0.0.1:8000"
    custom = Settings.from_env(
        {"MADOGUCHI_PORT": "9000", "MADOGUCHI_PUBLIC_URL": "https://chat.example.jp/"}
    )
    assert custom.port == 9000 and custom.origin == "https://chat.example.jp"
    assert custom.secure_cookies


def test_settings_refuse_a_public_url_that_is_not_an_origin() -> None:
    with pytest.raises(ValueError, match="PUBLIC_URL"):
        Settings.from_env({"MADOGUCHI_PUBLIC_URL": "chat.example.jp"})


def test_the_json_shim_writes_a_lone_surrogate_escaped_as_the_standard_library_does() -> None:
    from service.realtime import jsonshim

    assert jsonshim.dumps(["\ud83d"]) == '["\\ud83d"]'
    assert jsonshim.loads(jsonshim.dumps({"body": "窓口"})) == {"body": "窓口"}
