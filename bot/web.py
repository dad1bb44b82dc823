"""wardbot's own web endpoints besides the webhooks: signed file links (and /healthz,
added by bot.app).

A file link that is wrong in any way (unknown file, altered or expired signature,
malformed path) gets the same bare 404, so a probe learns nothing, not even whether a
file exists.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from aiohttp import web
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.models import StoredFile
from bot.services.file_links import PATH_PREFIX, FileLinks

log = logging.getLogger(__name__)


def _not_found() -> web.Response:
    return web.Response(status=404, text="Not Found", headers={"Cache-Control": "no-store"})


def add_file_routes(
    app: web.Application, factory: async_sessionmaker[AsyncSession], links: FileLinks
) -> None:
    async def serve(request: web.Request) -> web.Response:
        try:
            file_id = int(request.match_info["id"])
            expires = int(request.match_info["expires"])
        except ValueError:
            return _not_found()
        if not links.check(file_id, expires, request.match_info["signature"]):
            return _not_found()
        async with factory() as session:
            stored = await session.get(StoredFile, file_id)
        if stored is None:
            return _not_found()
        left = max(0, int(expires - clock.now().timestamp()))
        return web.Response(
            body=stored.data,
            content_type=stored.mime_type,
            headers={
                "Content-Disposition": f"inline; filename*=UTF-8''{quote(stored.filename)}",
                "Cache-Control": f"private, max-age={left}",
                "X-Content-Type-Options": "nosniff",
            },
        )

    # GET also answers HEAD (aiohttp), which some fetchers send first.
    app.router.add_get(PATH_PREFIX + "/{id}/{expires}/{signature}", serve)
