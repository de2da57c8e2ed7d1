"""Who may reach the viewer, and who may write through it.

- It listens on loopback unless told otherwise; another address needs `public=True` and a
  token of at least 16 characters, and then every request must carry the token (the
  `?token=` of the first visit becomes an HttpOnly, SameSite=Strict cookie).
- Host headers are checked, so a web page cannot reach a loopback viewer by DNS rebinding.
- It is read-only unless started writable (steering notes, review answers). A write must be a
  JSON POST carrying the per-process write key, which only a page served by this viewer can
  read (/api/run), so another site cannot forge one from the person's browser.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass, field

from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

TOKEN_MIN = 16
COOKIE = "adrs_token"
WRITE_HEADER = "x-adrs-write"
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; "
                               "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


class ViewerError(ValueError):
    """A viewer that must not start as asked; the message is one line."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Access:
    host: str = "127.0.0.1"
    public: bool = False
    token: str | None = None
    writable: bool = False
    write_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    def __post_init__(self) -> None:
        if self.token is not None and len(self.token) < TOKEN_MIN:
            raise ViewerError(f"the token must be at least {TOKEN_MIN} characters long")
        if not is_loopback(self.host) and not (self.public and self.token):
            raise ViewerError(f"listening on {self.host} (not loopback) needs --public and a "
                              f"--token (or ADRS_VIEWER_TOKEN)")

    def allowed_hosts(self) -> list[str]:
        return ["*"] if self.public else ["127.0.0.1", "localhost", "::1", "[::1]", self.host]

    def token_ok(self, request: Request) -> bool:
        if self.token is None:
            return True
        given = request.cookies.get(COOKIE) or request.headers.get("authorization", "")
        given = given.removeprefix("Bearer ").strip()
        return secrets.compare_digest(given.encode(), self.token.encode())

    def write_refusal(self, request: Request) -> Response | None:
        """Why this write is refused, as a response; None if it may go ahead."""
        if not self.writable:
            return JSONResponse({"error": "this viewer is read-only; start it with --writable"},
                                status_code=403)
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return JSONResponse({"error": "send JSON"}, status_code=415)
        given = request.headers.get(WRITE_HEADER, "")
        if not secrets.compare_digest(given.encode(), self.write_key.encode()):
            return JSONResponse({"error": "missing or wrong write key"}, status_code=403)
        return None


class TokenMiddleware:
    """Refuse every request without the token (when one is set); trade ?token= for a cookie."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.access.token is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        offered = request.query_params.get("token")
        if offered is not None and secrets.compare_digest(offered.encode(), self.access.token.encode()):
            clean = URL(scope=scope).remove_query_params("token")
            response: Response = RedirectResponse(clean.path or "/", status_code=303)
            response.set_cookie(COOKIE, self.access.token, httponly=True, samesite="strict")
        elif self.access.token_ok(request):
            await self.app(scope, receive, send)
            return
        else:
            response = JSONResponse({"error": "this viewer needs its token"}, status_code=401)
        await response(scope, receive, send)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers if scope["type"] == "http" else send)
