"""What a message body may be."""

from __future__ import annotations

from service.errors import AppError, ErrorCode

MAX_BODY_CHARS = 2000


def normalise_body(raw: str) -> str:
    """Trim white space; the trimmed text is what is stored and delivered.

    Length counts Unicode code points, which is what ``len`` of a Python ``str`` is.
    """
    body = raw.strip()
    if not body:
        raise AppError(ErrorCode.EMPTY_BODY, "a message needs some text")
    if len(body) > MAX_BODY_CHARS:
        raise AppError(ErrorCode.TOO_LARGE, f"at most {MAX_BODY_CHARS} characters")
    return body
