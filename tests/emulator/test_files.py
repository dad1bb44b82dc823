"""Uploads, file_id reuse, getFile and downloads, media groups with attach://."""

from __future__ import annotations

import io
import json

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, InputMediaDocument, InputMediaPhoto

from bot.emulator import EmulatorClient, RunningEmulator
from bot.emulator.media import make_png

from .conftest import TOKEN, make_bot

OTHER_TOKEN = "7000000002:AAE-second-bot"


async def _started_user(client: EmulatorClient) -> int:
    user = await client.create_user("Uploader")
    await client.send_command(user["id"], "start")
    return int(user["id"])


async def test_multipart_photo_upload_get_file_and_download(
    bot: Bot, client: EmulatorClient, emulator: RunningEmulator
):
    user_id = await _started_user(client)
    png = make_png(120, 80)
    sent = await bot.send_photo(
        user_id, BufferedInputFile(png, "map.png"), caption="<b>Bản đồ</b> khu phố"
    )
    assert sent.photo is not None
    size = sent.photo[-1]
    assert (size.width, size.height, size.file_size) == (120, 80, len(png))
    assert sent.caption == "Bản đồ khu phố"
    assert sent.caption_entities is not None and sent.caption_entities[0].type == "bold"

    file = await bot.get_file(size.file_id)
    assert file.file_unique_id == size.file_unique_id and file.file_path
    downloaded = io.BytesIO()
    await bot.download_file(file.file_path, downloaded)
    assert downloaded.getvalue() == png

    # Sending the same file_id again reuses the stored file.
    again = await bot.send_photo(user_id, size.file_id)
    assert again.photo is not None and again.photo[-1].file_unique_id == size.file_unique_id

    # The control API shows what the resident saw, with a link to the bytes.
    shown = (await client.messages(user_id))[-2]
    assert shown["photo"]["width"] == 120
    async with (
        aiohttp.ClientSession() as http,
        http.get(emulator.base_url + shown["photo"]["url"]) as resp,
    ):
        assert await resp.read() == png


async def test_document_metadata_and_file_id_rules(
    bot: Bot, client: EmulatorClient, emulator: RunningEmulator
):
    user_id = await _started_user(client)
    sent = await bot.send_document(
        user_id, BufferedInputFile(b"a,b\n1,2\n", "danh-sach.csv"), caption="Danh sách"
    )
    document = sent.document
    assert document is not None
    assert (document.file_name, document.mime_type, document.file_size) == (
        "danh-sach.csv",
        "text/csv",
        8,
    )
    with pytest.raises(TelegramBadRequest, match="can't use file of type Document as Photo"):
        await bot.send_photo(user_id, document.file_id)
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_document(user_id, "AgACnot-a-real-id")
    with pytest.raises(TelegramBadRequest, match="no internet access"):
        await bot.send_photo(user_id, "https://example.com/cat.jpg")
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(user_id, BufferedInputFile(b"not an image", "x.png"))
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_document(user_id, document.file_id, caption="c" * 1025)
    assert (await bot.send_document(user_id, document.file_id, caption="c" * 1024)).caption

    # file_ids are per bot: another bot cannot use this one's id.
    emulator.emulator.add_bot(OTHER_TOKEN)
    other = make_bot(emulator.base_url, OTHER_TOKEN)
    try:
        with pytest.raises(TelegramBadRequest, match="invalid file_id"):
            await other.get_file(document.file_id)
    finally:
        await other.session.close()


async def test_media_group_with_attach_references(bot: Bot, client: EmulatorClient):
    user_id = await _started_user(client)
    messages = await bot.send_media_group(
        user_id,
        [
            InputMediaPhoto(media=BufferedInputFile(make_png(10, 20), "a.png"), caption="Trước"),
            InputMediaPhoto(media=BufferedInputFile(make_png(30, 40), "b.png")),
        ],
    )
    assert len(messages) == 2
    assert messages[0].media_group_id and messages[0].media_group_id == messages[1].media_group_id
    assert [(m.photo[-1].width, m.photo[-1].height) for m in messages if m.photo] == [
        (10, 20),
        (30, 40),
    ]
    assert messages[0].caption == "Trước" and messages[1].caption is None

    with pytest.raises(TelegramBadRequest, match="2-10 items"):
        await bot.send_media_group(
            user_id,
            [InputMediaPhoto(media=messages[0].photo[-1].file_id)],  # type: ignore[index]
        )
    with pytest.raises(TelegramBadRequest, match="documents can't be mixed"):
        await bot.send_media_group(
            user_id,
            [
                InputMediaPhoto(media=messages[0].photo[-1].file_id),  # type: ignore[index]
                InputMediaDocument(media=BufferedInputFile(b"x", "x.txt")),
            ],
        )


async def test_raw_multipart_attach_and_missing_part(emulator: RunningEmulator, client):
    user_id = await _started_user(client)
    media = [
        {"type": "document", "media": "attach://first"},
        {
            "type": "document",
            "media": "attach://second",
            "caption": "<i>hai</i>",
            "parse_mode": "HTML",
        },
    ]
    form = aiohttp.FormData()
    form.add_field("chat_id", str(user_id))
    form.add_field("media", json.dumps(media))
    form.add_field("first", b"1", filename="mot.txt", content_type="text/plain")
    form.add_field("second", b"22", filename="hai.txt", content_type="text/plain")
    async with aiohttp.ClientSession() as http:
        url = f"{emulator.base_url}/bot{TOKEN}/sendMediaGroup"
        async with http.post(url, data=form) as resp:
            body = await resp.json()
        assert resp.status == 200, body
        assert [m["document"]["file_name"] for m in body["result"]] == ["mot.txt", "hai.txt"]
        assert body["result"][1]["caption_entities"] == [
            {"type": "italic", "offset": 0, "length": 3}
        ]
        broken = aiohttp.FormData()
        broken.add_field("chat_id", str(user_id))
        broken.add_field("photo", "attach://nowhere")
        async with http.post(f"{emulator.base_url}/bot{TOKEN}/sendPhoto", data=broken) as resp:
            assert resp.status == 400
            assert "attach://nowhere was not attached" in (await resp.json())["description"]
