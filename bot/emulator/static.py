"""Serving the web chat (``webchat/``): the page at ``/``, its assets under ``/webchat/``.

Files are read on each request (they are small), so an edited file shows on reload; the
ETag lets the browser revalidate cheaply, and ``no-cache`` means it always does.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from aiohttp import web

WEBCHAT_DIR = Path(__file__).resolve().parent / "webchat"

_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*\.(html|js|css|svg)$")

# The page talks only to this server and loads nothing from anywhere else.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def _serve(name: str, request: web.Request) -> web.Response:
    path = WEBCHAT_DIR / name
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise web.HTTPNotFound(text="not found") from None
    etag = '"' + hashlib.sha256(content).hexdigest()[:32] + '"'
    headers = {
        "Cache-Control": "no-cache",
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
    }
    if path.suffix == ".html":
        headers["Content-Security-Policy"] = PAGE_POLICY
        headers["Referrer-Policy"] = "no-referrer"
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(
        body=content, content_type=_TYPES[path.suffix], charset="utf-8", headers=headers
    )


async def index(request: web.Request) -> web.Response:
    return _serve("index.html", request)


async def asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if not _NAME.match(name):
        raise web.HTTPNotFound(text="not found")
    return _serve(name, request)


def routes() -> list[web.RouteDef]:
    return [web.get("/", index), web.get("/webchat/{name}", asset)]
