"""Conformance with the machine-readable Bot API specification.

Two promises are checked: the emulator accepts only parameters the specification defines, and
every object it returns during a realistic session (driven through real aiogram calls and the
control API) has exactly the shape the specification gives, recursively.
"""

from __future__ import annotations

import json
import os
import re
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import TelegramMethod
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BufferedInputFile,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
)

from bot.emulator import EmulatorClient, RunningEmulator
from bot.emulator.botapi import METHODS
from bot.emulator.media import make_png

from .conftest import BOT_ID, TOKEN, _QuickCloseSession, eventually

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_FILE = "telegram-bot-api-10.1.json"
# CI checks the repository out next to shared/, so the spec sits beside the repo root.
SPEC_PATH = REPO_ROOT / "../shared/data" / SPEC_FILE

# Fields newer than the pinned spec that aiogram 3.31 refuses to parse objects without.
# test_newer_field_allowance_is_still_needed keeps this list honest.
NEWER_FIELDS: dict[str, frozenset[str]] = {
    "ChatMemberAdministrator": frozenset({"can_send_welcome_messages"}),
}

Json = dict[str, Any]


def _spec_location() -> Path:
    override = os.environ.get("WARDBOT_BOT_API_SPEC")
    if override:
        return Path(override)
    # A clone made elsewhere than beside shared/ still finds the machine's copy.
    for candidate in (SPEC_PATH, Path("/work/shared/data") / SPEC_FILE):
        if candidate.is_file():
            return candidate
    return SPEC_PATH


@pytest.fixture(scope="module")
def spec() -> Json:
    path = _spec_location()
    if not path.is_file():
        message = (
            f"Bot API specification not found at {path.resolve()} "
            "(set WARDBOT_BOT_API_SPEC to its path to run the conformance tests)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return json.loads(path.read_text(encoding="utf-8"))


# --------------------------------------------------------------------- validator

_STRING_CONSTANT = re.compile(r'always "([^"]+)"')
_TYPE_CONSTANT = re.compile(r", must be ([a-z_]+)$")
_INT_CONSTANT = re.compile(r"^Always (\d+)\b")


def _constant(description: str) -> object | None:
    """A field's fixed value, when the spec's prose fixes one (discriminators, mostly)."""
    for pattern in (_STRING_CONSTANT, _TYPE_CONSTANT):
        match = pattern.search(description)
        if match:
            return match.group(1)
    match = _INT_CONSTANT.search(description)
    return int(match.group(1)) if match else None


class SpecValidator:
    """Checks JSON values against the spec's type names, recursively."""

    def __init__(self, spec: Json) -> None:
        self.types: dict[str, Json] = spec["types"]
        self.seen: set[str] = set()

    def check(self, value: Any, types: list[str], path: str) -> list[str]:
        best: list[str] | None = None
        for candidate in types:
            errors = self._one(value, candidate, path)
            if not errors:
                return []
            if best is None or len(errors) < len(best):
                best = errors
        return best or [f"{path}: no type given"]

    def _one(self, value: Any, kind: str, path: str) -> list[str]:
        if kind.startswith("Array of "):
            if not isinstance(value, list):
                return [f"{path}: expected {kind}, got {type(value).__name__}"]
            inner = kind[len("Array of ") :]
            errors: list[str] = []
            for index, item in enumerate(value):
                errors += self._one(item, inner, f"{path}[{index}]")
            return errors
        primitive = {
            "Integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "Float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
            "String": lambda v: isinstance(v, str),
            "Boolean": lambda v: isinstance(v, bool),
            "True": lambda v: v is True,
        }.get(kind)
        if primitive is not None:
            return [] if primitive(value) else [f"{path}: expected {kind}, got {value!r}"]
        definition = self.types.get(kind)
        if definition is None:
            return [f"{path}: the spec has no type {kind}"]
        if "subtypes" in definition:
            return self.check(value, definition["subtypes"], path)
        if not isinstance(value, dict):
            return [f"{path}: expected {kind} object, got {type(value).__name__}"]
        fields = {field["name"]: field for field in definition.get("fields", [])}
        errors = [
            f"{path}: {kind} lacks required field {name!r}"
            for name, field in fields.items()
            if field["required"] and name not in value
        ]
        for name, item in value.items():
            field = fields.get(name)
            if field is None:
                if name not in NEWER_FIELDS.get(kind, ()):
                    errors.append(f"{path}: {kind} has field {name!r} the spec does not define")
                continue
            if not field["required"] and item in ([], None):
                errors.append(f"{path}.{name}: empty optional field should be omitted")
                continue
            errors += self.check(item, field["types"], f"{path}.{name}")
            constant = _constant(field["description"])
            if constant is not None and item != constant:
                errors.append(f"{path}.{name}: must be {constant!r}, got {item!r}")
            if "always a positive number" in field["description"] and not (
                isinstance(item, int) and item > 0
            ):
                errors.append(f"{path}.{name}: must be positive, got {item!r}")
        if not errors:
            self.seen.add(kind)
        return errors


def test_validator_rejects_wrong_shapes(spec: Json):
    validator = SpecValidator(spec)
    user = {"id": 1, "is_bot": False, "first_name": "A"}
    assert validator.check(user, ["User"], "u") == []
    assert validator.check({**user, "invented": 1}, ["User"], "u")
    assert validator.check({"id": 1, "is_bot": False}, ["User"], "u")
    assert validator.check({**user, "id": "1"}, ["User"], "u")
    assert validator.check({**user, "last_name": None}, ["User"], "u")
    left = {"status": "left", "user": user}
    assert validator.check(left, ["ChatMember"], "m") == []
    assert validator.check({"status": "gone", "user": user}, ["ChatMember"], "m")
    assert validator.check({"status": "kicked", "user": user}, ["ChatMember"], "m")


# -------------------------------------------------------------- parameter tables


def test_method_tables_are_subsets_of_the_spec(spec: Json):
    for method in METHODS.values():
        assert method.name in spec["methods"], f"{method.name} is not a Bot API method"
        fields = spec["methods"][method.name].get("fields", [])
        defined = {field["name"] for field in fields}
        extra = method.params - defined
        assert not extra, f"{method.name} accepts parameters the spec lacks: {sorted(extra)}"
        required = {field["name"] for field in fields if field["required"]}
        assert required <= method.params, (
            f"{method.name} ignores required {required - method.params}"
        )


async def test_unknown_parameters_are_refused(emulator: RunningEmulator, spec: Json):
    async with aiohttp.ClientSession() as http:
        for method in METHODS.values():
            url = f"{emulator.base_url}/bot{TOKEN}/{method.name}"
            async with http.post(url, json={"surely_not_a_parameter": 1}) as resp:
                body = await resp.json()
            assert resp.status == 400, (method.name, body)
            assert body["description"].startswith(
                "Bad Request: unknown parameter surely_not_a_parameter"
            )


def test_newer_field_allowance_is_still_needed(spec: Json):
    """Each allowance names a field the spec lacks and that aiogram's model requires."""
    import aiogram.types

    for type_name, names in NEWER_FIELDS.items():
        defined = {field["name"] for field in spec["types"][type_name]["fields"]}
        model = getattr(aiogram.types, type_name)
        for name in names:
            assert name not in defined, f"{type_name}.{name} is in the spec now; drop it here"
            assert model.model_fields[name].is_required()


# ------------------------------------------------------------- realistic session


class RecordingSession(_QuickCloseSession):
    """Keeps every raw Bot API response aiogram receives."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.responses: list[tuple[str, int, Json]] = []

    def check_response(
        self, bot: Bot, method: TelegramMethod[Any], status_code: int, content: str
    ) -> Any:
        self.responses.append((method.__api_method__, status_code, json.loads(content)))
        return super().check_response(bot, method, status_code, content)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _drain(bot: Bot, offset: int) -> int:
    updates = await bot.get_updates(offset=offset, timeout=0)
    return updates[-1].update_id + 1 if updates else offset


async def test_every_returned_object_matches_the_spec(
    emulator: RunningEmulator, client: EmulatorClient, spec: Json
):
    session = RecordingSession(api=TelegramAPIServer.from_base(emulator.base_url))
    bot = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode="HTML"))
    try:
        await _session(bot, client, emulator)
    finally:
        await bot.session.close()

    validator = SpecValidator(spec)
    problems: list[str] = []
    update_kinds: set[str] = set()
    for index, (method, status, body) in enumerate(session.responses):
        where = f"#{index} {method}"
        if body.get("ok"):
            returns = spec["methods"][method]["returns"]
            problems += validator.check(body["result"], returns, where)
            if method == "getUpdates":
                for update in body["result"]:
                    update_kinds.update(key for key in update if key != "update_id")
        else:
            assert status == body["error_code"]
            assert set(body) <= {"ok", "error_code", "description", "parameters"}
            if "parameters" in body:
                problems += validator.check(body["parameters"], ["ResponseParameters"], where)
    assert not problems, "\n".join(problems[:40])

    called = {method for method, _, _ in session.responses}
    assert {m.name for m in METHODS.values()} <= called, "the session must drive every method"
    assert {"message", "callback_query", "my_chat_member", "chat_member"} <= update_kinds
    for kind in (
        "Message",
        "InaccessibleMessage",
        "ChatMemberOwner",
        "ChatMemberAdministrator",
        "ChatMemberMember",
        "ChatMemberLeft",
        "ChatMemberBanned",
        "ChatMemberUpdated",
        "PhotoSize",
        "Document",
        "Location",
        "Contact",
        "File",
        "MessageEntity",
        "WebhookInfo",
        "BotCommand",
        "InlineKeyboardMarkup",
        "ChatFullInfo",
        "CallbackQuery",
        "MessageId",
    ):
        assert kind in validator.seen, f"the session never returned a {kind}"


async def _session(bot: Bot, client: EmulatorClient, emulator: RunningEmulator) -> None:
    """Drive every implemented method the way a ward bot and its residents would."""
    resident = await client.create_user(
        "An", last_name="Nguyễn Văn", username="an_nguyen", language_code="vi"
    )
    neighbour = await client.create_user("Bình", language_code=None)
    a, b = resident["id"], neighbour["id"]
    await bot.get_me()
    # allowed_updates applies to updates created after the call, as on Telegram.
    kinds = ["message", "callback_query", "my_chat_member", "chat_member"]
    assert await bot.get_updates(timeout=0, allowed_updates=kinds) == []

    await client.send_command(a, "start", payload="ref_1")
    await client.send_text(a, "Xem https://ward.example/tin?id=1 @an_nguyen #họp /help")
    await client.share_contact(a)
    await client.share_contact(a, contact={"phone_number": "+84900000000", "first_name": "X"})
    await client.send_location(a, 10.7769, 106.7009, horizontal_accuracy=25)
    await client.send_photo(a, make_png(64, 48), caption="Ảnh <hiện trường>")
    await client.send_document(a, b"%PDF-1.4", "don.pdf", caption="Đơn")
    await client.send_command(b, "start")

    group = await client.create_group(
        "Tổ dân phố 7", members=[(a, "creator"), b], username="tdp7_test"
    )
    basic = await client.create_group("Chi bộ", members=[(a, "creator")], type="group")
    await client.add_bot_to_group(group["id"])
    await client.set_member(group["id"], BOT_ID, "administrator", by_user_id=a)
    await client.add_bot_to_group(basic["id"], by_user_id=a)
    await client.send_command(b, "start", chat_id=group["id"])
    newcomer = await client.create_user("Cường")
    await client.set_member(group["id"], newcomer["id"], "member")
    await client.send_text(b, "Chào cả tổ", chat_id=group["id"])

    updates = await bot.get_updates()
    offset = updates[-1].update_id + 1
    first_message = updates[0].message
    assert first_message is not None

    await bot.set_my_commands([BotCommand(command="start", description="Bắt đầu")])
    await bot.set_my_commands(
        [BotCommand(command="gopy", description="Góp ý")],
        scope=BotCommandScopeAllPrivateChats(),
        language_code="vi",
    )
    await bot.get_my_commands()
    await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="vi")
    await bot.delete_my_commands()

    rich = (
        f"<b>Đậm</b> <i>nghiêng</i> <u>gạch</u> <s>xoá</s> <tg-spoiler>ẩn</tg-spoiler> "
        f'<a href="https://ward.example">trang</a> <a href="tg://user?id={a}">An</a> '
        f'<code>x</code> <pre><code class="language-python">print(1)</code></pre> '
        f'<blockquote>trích</blockquote> <tg-emoji emoji-id="5368324170671202286">👍</tg-emoji> '
        "😀 /help"
    )
    menu = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="Tin", callback_data="news")],
            [InlineKeyboardButton(text="Web", url="https://ward.example/")],
        ]
    )
    sent = await bot.send_message(
        a,
        rich,
        reply_markup=menu,
        reply_parameters=ReplyParameters(message_id=first_message.message_id),
        protect_content=True,
    )
    keyboard = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="Chia sẻ", request_contact=True)]], one_time_keyboard=True
    )
    await bot.send_message(b, "Bàn phím", reply_markup=keyboard)
    await bot.send_message(b, "Bỏ bàn phím", reply_markup=ReplyKeyboardRemove())
    await bot.send_message(b, "Trả lời tôi", reply_markup=ForceReply(input_field_placeholder="…"))

    query = await client.press(a, sent.message_id, "news")
    await client.press(a, 99_999, "ghost", forge=True)
    await bot.get_updates(offset=offset)
    await bot.answer_callback_query(query, text="Đã nhận", show_alert=True)
    offset = await _drain(bot, offset)

    await bot.edit_message_text(
        "<b>Sửa</b>", chat_id=a, message_id=sent.message_id, reply_markup=menu
    )
    await bot.edit_message_reply_markup(chat_id=a, message_id=sent.message_id)
    photo = await bot.send_photo(a, BufferedInputFile(make_png(32, 32), "p.png"), caption="Ảnh")
    await bot.edit_message_caption(chat_id=a, message_id=photo.message_id, caption="<i>Mới</i>")
    document = await bot.send_document(a, BufferedInputFile(b"x;y\n", "bang.csv"))
    await bot.send_media_group(
        a,
        [
            InputMediaPhoto(media=BufferedInputFile(make_png(8, 8), "1.png"), caption="Một"),
            InputMediaPhoto(media=BufferedInputFile(make_png(9, 9), "2.png")),
        ],
    )
    await bot.send_location(a, 21.0285, 105.8542, horizontal_accuracy=10.5)
    await bot.send_chat_action(a, "upload_photo")
    await bot.copy_message(b, a, photo.message_id)
    assert photo.photo is not None and document.document is not None
    await bot.get_file(photo.photo[-1].file_id)
    await bot.get_file(document.document.file_id)

    await bot.get_chat(a)
    await bot.get_chat(group["id"])
    await bot.get_chat("@tdp7_test")
    await bot.get_chat(basic["id"])
    for user_id in (a, b, newcomer["id"], BOT_ID):
        await bot.get_chat_member(group["id"], user_id)
    await bot.get_chat_member(a, a)
    await bot.get_chat_administrators(group["id"], return_bots=True)
    await bot.delete_message(a, sent.message_id)

    await client.remove_bot_from_group(basic["id"], by_user_id=a, ban=True)
    await client.block(b)
    await bot.get_chat_member(b, BOT_ID)
    await bot.leave_chat(group["id"])
    offset = await _drain(bot, offset)

    # A webhook that cannot be reached, so getWebhookInfo reports an error.
    url = f"http://127.0.0.1:{_free_port()}/hook"
    await bot.set_webhook(url, secret_token="t", max_connections=5, allowed_updates=["message"])
    await client.send_text(a, "ai nghe không?")
    counters = emulator.emulator.counters
    await eventually(lambda: counters.webhook_failures, "the failed delivery")
    assert (await bot.get_webhook_info()).last_error_date
    await bot.delete_webhook(drop_pending_updates=True)
    await bot.get_webhook_info()

    # Error responses are recorded too; their shape is checked like the rest.
    for call in (
        bot.send_message(a, "<b>unclosed"),
        bot.send_message(b, "blocked"),
        bot.send_message(123, "nobody"),
    ):
        with pytest.raises(Exception):  # noqa: B017 - only the recorded body matters here
            await call
