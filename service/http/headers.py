"""Security headers on every HTTP response (Litestar has no built-in middleware for them).
A handler that needs another policy sets its own header; this fills the rest."""

from __future__ import annotations

from service.asgi import ASGIApp, Message, Receive, Scope, Send

DEFAULT_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def csp(frame_ancestors: str = "'none'", frame_src: str | None = None) -> str:
    policy = DEFAULT_CSP.replace("frame-ancestors 'none'", f"frame-ancestors {frame_ancestors}")
    if frame_src:
        policy += f"; frame-src {frame_src}"
    return policy


def security_headers(secure: bool) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-security-policy", DEFAULT_CSP.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"x-frame-options", b"DENY"),
    ]
    if secure:
        headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
    return headers


def with_security_headers(app: ASGIApp, *, secure: bool) -> ASGIApp:
    defaults = security_headers(secure)

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                # A handler that sets frame-ancestors (the chat page) must not get DENY too.
                framing_set = b"content-security-policy" in present
                for name, value in defaults:
                    if name in present or (name == b"x-frame-options" and framing_set):
                        continue
                    headers.append((name, value))
                message["headers"] = headers
            await send(message)

        await app(scope, receive, send_with_headers)

    return wrapped
