"""The dashboard's front door, before any route runs: what a browser on another page, or a client
sending junk, must not get through.

- State changes only from this page: a request whose Origin is another origin (another port of the
  same host counts: SameSite cookies do not stop it) is refused, and so is a telemetry WebSocket
  opened from one.
- Request bodies are JSON, at most MAX_BODY_BYTES, strict: no NaN or Infinity, no lone surrogates,
  no nesting past the parser's stack. A text/plain form post is refused before it is read.
- Every answer forbids framing and loading anything from elsewhere.
Refusals never echo what was sent.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from controller.wire import TooDeep, strict_json

MAX_BODY_BYTES = 64 * 1024
CHANGES_STATE = {"POST", "PUT", "PATCH", "DELETE"}
SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'self'; frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def foreign_origin(scope: Scope) -> str | None:
    """The Origin a browser sent, when it is not this server's own (None: same origin, or none sent:
    a non-browser client, which carries no victim's cookie by accident). Host and port decide, not
    the scheme: behind a TLS proxy the page is https and this server hears http."""
    origin = _header(scope, b"origin")
    if origin is None:
        return None
    host = _header(scope, b"host")
    _, _, netloc = origin.partition("://")
    return None if host is not None and netloc == host else origin


def check_json(body: bytes) -> None:
    try:
        parsed = strict_json(body)
        json.dumps(parsed, ensure_ascii=False).encode("utf-8")  # a lone surrogate cannot encode
    except (ValueError, RecursionError) as exc:
        reason = (
            "nested too deeply" if isinstance(exc, TooDeep | RecursionError) else "not strict JSON in UTF-8"
        )
        raise Refused(422, f"request body: {reason} (no NaN, Infinity or lone surrogates)") from None


class Guard:
    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            if foreign_origin(scope) is not None:
                await receive()  # the handshake's connect, then the refusal
                await send({"type": "websocket.close", "code": 4403, "reason": "another origin"})
                return
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            receive = await self._checked(scope, receive)
        except Refused as refused:
            await _refuse(send, refused)
            return
        await self.app(scope, receive, _with_headers(send))

    async def _checked(self, scope: Scope, receive: Receive) -> Receive:
        """The request's body, read and checked, replayed to the route (or Refused)."""
        if scope["method"] not in CHANGES_STATE:
            return receive
        if foreign_origin(scope) is not None:
            raise Refused(403, "this request came from another site's page")
        length = _header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            raise Refused(413, f"request body: at most {MAX_BODY_BYTES} bytes")
        body = await _read_body(receive)
        if body:
            kind = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
            if kind != "application/json":
                raise Refused(415, "request body: application/json only")
            check_json(body)
        return _replay(body)


async def _read_body(receive: Receive) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Refused(400, "the client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise Refused(413, f"request body: at most {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _with_headers(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
        await send(message)

    return sending


async def _refuse(send: Send, refused: Refused) -> None:
    """The connection closes with the refusal: otherwise the server goes on reading and parsing the
    rest of a 9 MB body it already refused (60 % of a core under 20 such clients, which delayed
    an e-stop by 100 ms; bench/estop_under_attack.py)."""
    body = json.dumps({"detail": refused.detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send(
        {"type": "http.response.start", "status": refused.status, "headers": headers + SECURITY_HEADERS}
    )
    await send({"type": "http.response.body", "body": body})
