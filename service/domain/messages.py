"""What a message body may be."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from service.domain.conversations import Message
from service.errors import AppError, ErrorCode

MAX_BODY_CHARS = 2000

# What one history page may carry, in UTF-8 bytes of its bodies. 500 messages of 2,000
# characters would make one answer of some 3 MB; a client that asks for pages and never reads
# them would have the server hold every one (realtime/send_bound.py drops such a connection
# once its unsent answers pass a bound, which must be well above one page).
MAX_PAGE_BYTES = 256 * 1024

# Characters that draw nothing but are not white space to str.strip: a body made only of them
# would reach the other side as an empty bubble (or one that flips the text around it), so it
# counts as empty. Format characters (category Cf: zero-width spaces and joiners, the BOM, the
# bidi controls, tag characters) and controls (Cc) are found by category; these draw nothing
# although their category says they are letters, symbols or marks.
BLANK_LOOKING = frozenset(
    "\u034f"  # combining grapheme joiner
    "\u115f\u1160\u3164\uffa0"  # Hangul fillers
    "\u2800"  # braille pattern blank
    "\ufe00\ufe01\ufe02\ufe03\ufe04\ufe05\ufe06\ufe07"  # variation selectors
    "\ufe08\ufe09\ufe0a\ufe0b\ufe0c\ufe0d\ufe0e\ufe0f"
)
INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Zs", "Zl", "Zp"})


def draws_nothing(char: str) -> bool:
    return (
        char in BLANK_LOOKING
        or 0xE0100 <= ord(char) <= 0xE01EF  # the supplementary variation selectors
        or unicodedata.category(char) in INVISIBLE_CATEGORIES
    )


def normalise_body(raw: str) -> str:
    """Trim white space; the trimmed text is what is stored and delivered.

    A body of invisible characters only is empty too; inside a body they are kept (a joiner
    belongs to an emoji, a bidi mark to mixed-direction text). Length counts Unicode code
    points, which is what ``len`` of a Python ``str`` is.
    """
    body = raw.strip()
    if all(draws_nothing(char) for char in body):
        raise AppError(ErrorCode.EMPTY_BODY, "a message needs some text")
    if len(body) > MAX_BODY_CHARS:
        raise AppError(ErrorCode.TOO_LARGE, f"at most {MAX_BODY_CHARS} characters")
    return body


def history_page(messages: Sequence[Message], more: bool) -> tuple[list[Message], bool]:
    """The first messages whose bodies fit in ``MAX_PAGE_BYTES`` (always at least one), and
    whether more follow: the client asks again after the last ``seq``, as for ``limit``."""
    size = 0
    for kept, message in enumerate(messages):
        size += len(message.body.encode())
        if size > MAX_PAGE_BYTES and kept > 0:
            return list(messages[:kept]), True
    return list(messages), more
