"""The web chat's server side: the page and its assets at ``/``, and the endpoints it uses."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import unquote

import httpx
import pytest

from bot.emulator import EmulatorClient, EmulatorError, RunningEmulator
from bot.emulator.media import make_png
from bot.emulator.static import WEBCHAT_DIR

from .conftest import BOT_ID, BOT_USERNAME

SECOND_TOKEN = "7000000002:AAE-second-bot"


@pytest.fixture
async def http(emulator: RunningEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=emulator.base_url) as client:
        yield client


async def test_the_page_is_served_at_the_root_and_loads_only_local_assets(
    http: httpx.AsyncClient,
):
    page = await http.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-cache"
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert '<html lang="vi">' in page.text

    references = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert "/webchat/app.js" in references and "/webchat/style.css" in references
    for reference in references:
        assert reference.startswith("/webchat/"), f"{reference} is not served by the emulator"
        asset = await http.get(reference)
        assert asset.status_code == 200, reference
        assert asset.headers["cache-control"] == "no-cache"
        assert asset.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("app.js", "text/javascript; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("icon.svg", "image/svg+xml; charset=utf-8"),
        ("index.html", "text/html; charset=utf-8"),
    ],
)
async def test_assets_have_their_content_types(
    http: httpx.AsyncClient, name: str, content_type: str
):
    response = await http.get(f"/webchat/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.content == (WEBCHAT_DIR / name).read_bytes()


async def test_an_unchanged_asset_is_revalidated_with_its_etag(http: httpx.AsyncClient):
    first = await http.get("/webchat/app.js")
    etag = first.headers["etag"]
    again = await http.get("/webchat/app.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    other = await http.get("/webchat/app.js", headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200 and other.content == first.content


@pytest.mark.parametrize(
    "path",
    [
        "/webchat/missing.js",
        "/webchat/..%2Fserver.py",
        "/webchat/%2e%2e%2fstatic.py",
        "/webchat/.hidden.js",
        "/webchat/app.py",
        "/webchat/",
    ],
)
async def test_nothing_else_is_served_from_the_package(http: httpx.AsyncClient, path: str):
    response = await http.get(path)
    assert response.status_code == 404
    assert b"import" not in response.content


def test_the_script_never_parses_text_as_html():
    """Everything people and the bot write must reach the page as text nodes."""
    script = (WEBCHAT_DIR / "app.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script
    # Nothing is fetched from anywhere but the emulator itself.
    assert not re.search(r"fetch\(\s*[\"'`]https?:", script)
    for name in ("index.html", "style.css"):
        assert not re.search(
            r"(?:src|href|url)\(?=?[\"']?https?:", (WEBCHAT_DIR / name).read_text()
        )


async def test_the_former_json_index_moved_to_control_info(http: httpx.AsyncClient):
    info = (await http.get("/_control/info")).json()
    assert info["service"] == "wardbot Telegram Bot API emulator"
    assert info["webchat"] == "/"
    assert info["control"] == "/_control/health"


async def test_a_person_lists_their_private_chats_and_present_groups(
    client: EmulatorClient,
):
    an = await client.create_user("An", label="Người mới — An", persona=["newcomer"])
    binh = await client.create_user("Bình")
    await client.create_bot(SECOND_TOKEN, username="second_ward_bot", first_name="Bot Hai")
    office = await client.create_group("Bộ phận Địa chính", members=[an["id"], binh["id"]])
    other = await client.create_group("Khu phố 2", members=[binh["id"]])
    left = await client.create_group("Đã rời", members=[an["id"], binh["id"]])
    await client.set_member(left["id"], an["id"], "left")

    await client.send_text(an["id"], "xin chào")
    chats = await client.user_chats(an["id"])
    assert [(c["type"], c.get("bot_id"), c["title"]) for c in chats] == [
        ("private", BOT_ID, "Phường Bot"),
        ("private", int(SECOND_TOKEN.split(":")[0]), "Bot Hai"),
        ("supergroup", None, "Bộ phận Địa chính"),
    ]
    assert chats[0]["id"] == an["id"] and chats[0]["bot_username"] == BOT_USERNAME
    assert chats[0]["started"] is True and chats[1]["started"] is False
    assert chats[2]["id"] == office["id"]
    assert other["id"] not in {c["id"] for c in chats}

    with pytest.raises(EmulatorError, match="no user"):
        await client.user_chats(999_999_999)


async def test_photos_are_shown_inline_and_documents_are_downloads(
    http: httpx.AsyncClient, client: EmulatorClient
):
    an = await client.create_user("An")
    png = make_png(3, 2)
    photo = (await client.send_photo(an["id"], png, multipart=True))["photo"]
    shown = await http.get(photo["url"])
    assert shown.content == png
    assert shown.headers["content-type"] == "image/png"
    assert "content-disposition" not in shown.headers
    assert "immutable" in shown.headers["cache-control"]

    page = b"<script>alert(1)</script>"
    document = (
        await client.send_document(an["id"], page, "Đơn đề nghị.html", mime_type="text/html")
    )["document"]
    downloaded = await http.get(document["url"])
    assert downloaded.content == page
    disposition = downloaded.headers["content-disposition"]
    assert disposition.startswith("attachment; filename*=UTF-8''")
    assert unquote(disposition.split("''", 1)[1]) == "Đơn đề nghị.html"
    # An uploaded page opened directly still cannot run script against the control API.
    assert downloaded.headers["content-security-policy"].startswith("sandbox")
    assert downloaded.headers["x-content-type-options"] == "nosniff"
