"""Signed, expiring links to stored files (what Zalo fetches a photo from, and how a
notice's PDF reaches a Zalo resident): made and checked, served, refused when wrong."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.config import ConfigError, Settings
from bot.services import files
from bot.services.file_links import FileLinks, derive_key
from bot.web import add_file_routes

LINKS = FileLinks("https://phuong.example.vn", b"0123456789abcdef0123456789abcdef")
PDF = b"%PDF-1.4\n% a notice\n"


def _parts(url: str) -> tuple[int, int, str]:
    file_id, expires, signature = url.rsplit("/", 3)[1:]
    return int(file_id), int(expires), signature


def test_a_link_is_checked_for_its_file_its_expiry_and_its_signature() -> None:
    url = LINKS.url(12)
    assert url.startswith("https://phuong.example.vn/files/12/")
    file_id, expires, signature = _parts(url)
    assert LINKS.check(file_id, expires, signature)
    assert expires - clock.now().timestamp() == pytest.approx(24 * 3600, abs=2)
    assert not LINKS.check(13, expires, signature)
    assert not LINKS.check(file_id, expires + 3600, signature)
    assert not LINKS.check(
        file_id, expires, signature[:-1] + ("A" if signature[-1] != "A" else "B")
    )
    other = FileLinks(LINKS.base_url, b"another key of thirty-two bytes!")
    assert not other.check(file_id, expires, signature)
    # Valid until it expires (Zalo fetches a photo more than once), not after.
    clock.shift(timedelta(hours=23, minutes=59))
    assert LINKS.check(file_id, expires, signature)
    clock.shift(timedelta(minutes=2))
    assert not LINKS.check(file_id, expires, signature)


def test_the_default_key_is_derived_from_the_zalo_token_and_does_not_reveal_it() -> None:
    token = "3141592653589793:zalo-emulated-token-abcdef"
    key = derive_key(token)
    assert key == derive_key(token) and len(key) == 32
    assert token.encode() not in key and key != derive_key(token + "x")
    settings = Settings(zalo_token=token, zalo_webhook_url="https://ward.example.vn/hook/zalo")
    assert settings.file_link_key_bytes() == key
    assert settings.public_base_url() == "https://ward.example.vn"
    assert Settings(zalo_token=token).public_base_url() is None
    assert Settings().file_link_key_bytes() is None
    explicit = Settings(zalo_token=token, file_link_key="k" * 40, public_url="https://x.vn/")
    assert (
        explicit.file_link_key_bytes() == b"k" * 40 and explicit.public_base_url() == "https://x.vn"
    )
    with pytest.raises(ConfigError):
        Settings(zalo_token=token, file_link_key="too short").file_link_key_bytes()


async def test_the_web_server_serves_a_genuine_link_and_refuses_anything_else(
    session: AsyncSession, factory: async_sessionmaker[AsyncSession]
) -> None:
    stored = await files.save(session, data=PDF, filename="Thông báo số 5.pdf")
    await session.commit()
    app = web.Application()
    add_file_routes(app, factory, LINKS)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        url = LINKS.url(stored.id)  # type: ignore[arg-type]
        path = url.removeprefix(LINKS.base_url)
        for _ in range(2):  # Zalo fetches more than once
            reply = await client.get(path)
            assert reply.status == 200 and await reply.read() == PDF
            assert reply.headers["Content-Type"] == "application/pdf"
            assert "Th%C3%B4ng" in reply.headers["Content-Disposition"]
        assert (await client.head(path)).status == 200

        file_id, expires, signature = _parts(url)
        wrong = [
            f"/files/{file_id}/{expires}/{signature[:-2]}xx",
            f"/files/{file_id}/{expires + 60}/{signature}",
            f"/files/{file_id + 1}/{expires}/{signature}",
            f"/files/x/{expires}/{signature}",
            f"/files/{file_id}/{expires}",
        ]
        # A genuine link to a file that is gone.
        wrong.append(LINKS.url(999_999).removeprefix(LINKS.base_url))
        for bad in wrong:
            reply = await client.get(bad)
            assert reply.status == 404 and await reply.text() in ("Not Found", "404: Not Found")
        clock.shift(timedelta(hours=24, seconds=1))
        expired = await client.get(path)
        assert expired.status == 404 and await expired.text() == "Not Found"
    finally:
        await client.close()
