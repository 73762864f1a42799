"""What a visitor may add to a conversation besides messages: a code word and a survey.

The code word lets the centre's phone and face-to-face counselors recognise a visitor later
without any personal data; the survey is optional and short, so that it never stands between
a visitor and leaving.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from service.errors import AppError, ErrorCode

MAX_CODE_WORD_CHARS = 32
MAX_COMMENT_CHARS = 1000


@dataclass(frozen=True, slots=True)
class Survey:
    rating: int | None
    helpful: bool | None
    comment: str | None


def _has_control_characters(text: str) -> bool:
    # Tabs, newlines and invisible format characters would make a code word hard to read back
    # over the phone; a comment may have line breaks.
    return any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text)


def normalise_code_word(raw: str) -> str:
    """Trim white space and normalise width (ＡＢＣ and ABC are the same word said aloud)."""
    word = unicodedata.normalize("NFKC", raw).strip()
    if not 1 <= len(word) <= MAX_CODE_WORD_CHARS or _has_control_characters(word):
        raise AppError(
            ErrorCode.INVALID_PAYLOAD,
            f"a code word is 1–{MAX_CODE_WORD_CHARS} characters on one line",
        )
    return word


def check_survey(rating: int | None, helpful: bool | None, comment: str | None) -> Survey:
    """A survey with at least one answer; an empty comment counts as none."""
    text = comment.strip() if comment is not None else ""
    if len(text) > MAX_COMMENT_CHARS:
        raise AppError(ErrorCode.TOO_LARGE, f"a comment is at most {MAX_COMMENT_CHARS} characters")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\r\n\t" for ch in text):
        raise AppError(ErrorCode.INVALID_PAYLOAD, "a comment is plain text")
    if rating is None and helpful is None and not text:
        raise AppError(ErrorCode.INVALID_PAYLOAD, "a survey needs at least one answer")
    return Survey(rating=rating, helpful=helpful, comment=text or None)
