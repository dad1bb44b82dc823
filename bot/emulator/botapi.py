"""The Bot API side: ``/bot<token>/<method>`` as aiogram (or curl) calls it.

Each method declares the parameter names it accepts; all of them exist in the Bot API
specification (the conformance test checks this) and anything else is refused, so a typo or a
parameter removed from the Bot API shows up in tests instead of being silently ignored.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from ipaddress import ip_address
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.emulator.entities import (
    EntityParseError,
    UnsupportedParseMode,
    format_text,
    normalize_url,
)
from bot.emulator.media import ImageError, StoredFile, image_size
from bot.emulator.models import (
    DEFAULT_UPDATE_TYPES,
    ApiError,
    BotRec,
    ChatRec,
    Json,
    MemberRec,
    MsgRec,
    PollWaiter,
    WebhookConfig,
    bad_request,
    chat_member_api,
    forbidden,
)

if TYPE_CHECKING:
    from bot.emulator.state import Emulator
    from bot.emulator.webhook import WebhookDispatcher


@dataclass(frozen=True, slots=True)
class Upload:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str | None
    content: bytes


class Params:
    """A method call's parameters, from a query string, form, multipart or JSON body.

    Form values are strings while JSON values are native; the accessors accept both.
    """

    __slots__ = ("files", "values")

    def __init__(self, values: dict[str, Any], files: dict[str, Upload] | None = None) -> None:
        self.values = values
        self.files = files or {}

    def has(self, name: str) -> bool:
        value = self.values.get(name)
        return value is not None and value != ""

    def raw(self, name: str, required: bool = False) -> Any:
        if not self.has(name):
            if required:
                raise bad_request(f"{name} is empty")
            return None
        return self.values[name]

    def str(self, name: str, required: bool = False) -> str | None:
        value = self.raw(name, required)
        if value is None:
            return None
        if isinstance(value, dict | list):
            raise bad_request(f"{name} must be a String")
        return value if isinstance(value, str) else json.dumps(value)

    def int(self, name: str, required: bool = False) -> int | None:
        value = self.raw(name, required)
        if value is None:
            return None
        if isinstance(value, bool):
            raise bad_request(f"{name} must be an Integer")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and re.fullmatch(r"-?\d{1,19}", value.strip()):
            return int(value)
        raise bad_request(f"{name} must be an Integer")

    def float(self, name: str, required: bool = False) -> float | None:
        value = self.raw(name, required)
        if value is None:
            return None
        if isinstance(value, bool):
            raise bad_request(f"{name} must be a Float")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"{name} must be a Float") from None

    def bool(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in {"true", "1", "yes", "on"}
        return bool(value)

    def json(self, name: str, what: str, required: bool = False) -> Any:
        """A JSON-serialized parameter; Telegram's "can't parse ... JSON object" on garbage."""
        value = self.raw(name, required)
        if value is None or not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {what} JSON object") from None


Handler = Callable[["BotApi", BotRec, Params], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class MethodSpec:
    name: str
    params: frozenset[str]
    handler: Handler


METHODS: dict[str, MethodSpec] = {}


def api_method(name: str, *params: str) -> Callable[[Handler], Handler]:
    """Register a Bot API method and the (spec) parameter names it accepts."""

    def register(handler: Handler) -> Handler:
        METHODS[name.lower()] = MethodSpec(name, frozenset(params), handler)
        return handler

    return register


_SEND_COMMON = (
    "business_connection_id",
    "chat_id",
    "message_thread_id",
    "direct_messages_topic_id",
    "disable_notification",
    "protect_content",
    "allow_paid_broadcast",
    "message_effect_id",
    "suggested_post_parameters",
    "reply_parameters",
    "reply_markup",
)
_LEGACY_HINTS = {
    "reply_to_message_id": "use reply_parameters",
    "allow_sending_without_reply": "use reply_parameters",
    "disable_web_page_preview": "use link_preview_options",
}


class BotApi:
    """Executes Bot API calls against an :class:`Emulator`."""

    def __init__(self, emu: Emulator, webhooks: WebhookDispatcher) -> None:
        self.emu = emu
        self.webhooks = webhooks

    async def call(self, bot: BotRec, name: str, params: Params) -> Any:
        counters = self.emu.counters
        counters.requests += 1
        try:
            spec = METHODS.get(name.lower())
            if spec is None:
                raise ApiError(404, "Not Found: method not found")
            for key in params.values:
                if key not in spec.params:
                    hint = _LEGACY_HINTS.get(key)
                    suffix = f" ({hint})" if hint else ""
                    raise bad_request(f"unknown parameter {key} for {spec.name}{suffix}")
            counters.method_calls[spec.name] = counters.method_calls.get(spec.name, 0) + 1
            return await spec.handler(self, bot, params)
        except ApiError as exc:
            if exc.code == 429:
                counters.http_429 += 1
            elif exc.code == 403:
                counters.http_403 += 1
            elif exc.code == 400:
                counters.http_400 += 1
            raise

    async def handle(self, request: web.Request) -> web.Response:
        bot = self.emu.bots_by_token.get(request.match_info["token"])
        if bot is None:
            return _error_response(ApiError(401, "Unauthorized"))
        try:
            params = await read_request_params(request)
            result = await self.call(bot, request.match_info["method"], params)
        except ApiError as exc:
            return _error_response(exc)
        return _json_response({"ok": True, "result": result})

    async def handle_file(self, request: web.Request) -> web.StreamResponse:
        bot = self.emu.bots_by_token.get(request.match_info["token"])
        stored = self.emu.files.by_path.get(request.match_info["path"])
        if bot is None or stored is None or (bot.id, stored.key) not in self.emu.files.issued:
            return _error_response(ApiError(404, "Not Found"))
        content_type = stored.mime_type or (
            "image/png" if stored.file_path.endswith(".png") else "application/octet-stream"
        )
        if stored.kind == "photo" and stored.file_path.endswith(".jpg"):
            content_type = "image/jpeg"
        return web.Response(body=stored.content, content_type=content_type)


def _json_response(payload: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
    )


def _error_response(exc: ApiError) -> web.Response:
    return _json_response(exc.payload(), status=exc.code)


async def read_request_params(request: web.Request) -> Params:
    values: dict[str, Any] = dict(request.query)
    files: dict[str, Upload] = {}
    if request.method == "POST" and request.can_read_body:
        content_type = request.content_type
        try:
            if content_type == "application/json":
                try:
                    body = json.loads(await request.read())
                except ValueError:
                    raise bad_request("can't parse JSON object") from None
                if not isinstance(body, dict):
                    raise bad_request("can't parse JSON object")
                values.update(body)
            elif content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        files[key] = Upload(value.filename, value.content_type, value.file.read())
                    else:
                        values[key] = value
        except web.HTTPRequestEntityTooLarge:
            raise ApiError(413, "Request Entity Too Large") from None
    return Params(values, files)


def _now() -> int:
    return int(time.time())


# ----------------------------------------------------------------- shared pieces


def _target_chat(api: BotApi, bot: BotRec, p: Params) -> ChatRec:
    chat = api.emu.chat_for_bot(bot, p.raw("chat_id", required=True))
    api.emu.ensure_can_write(bot, chat)
    if p.has("business_connection_id"):
        raise bad_request("BUSINESS_CONNECTION_INVALID")
    if p.has("message_thread_id"):
        raise bad_request("message thread not found")
    if p.has("direct_messages_topic_id"):
        raise bad_request("direct messages topic not found")
    if p.has("suggested_post_parameters"):
        raise bad_request("suggested posts can be sent only to channel direct messages chats")
    return chat


def _formatted(
    api: BotApi,
    p: Params,
    text_name: str,
    entities_name: str,
    *,
    parse_mode_name: str = "parse_mode",
    raw_text: str | None = None,
    raw_parse_mode: str | None = None,
    raw_entities: Any = None,
) -> tuple[str, list[Json]]:
    """Apply parse_mode/entities to a text or caption, with Telegram's errors."""
    text = raw_text if raw_text is not None else (p.str(text_name) or "")
    parse_mode = raw_parse_mode if raw_parse_mode is not None else p.str(parse_mode_name)
    entities = raw_entities if raw_entities is not None else p.json(entities_name, "entities")
    try:
        return format_text(text, parse_mode, entities, api.emu.user_for_entity)
    except EntityParseError as exc:
        raise bad_request(f"can't parse entities: {exc}") from None
    except UnsupportedParseMode as exc:
        if exc.mode.lower() in {"markdownv2", "markdown"}:
            raise bad_request(
                f"parse_mode {exc.mode} is not supported by the emulator; use HTML"
            ) from None
        raise bad_request("unsupported parse_mode") from None


def _message_text(api: BotApi, p: Params) -> tuple[str, list[Json]]:
    if not p.has("text"):
        raise bad_request("message text is empty")
    text, entities = _formatted(api, p, "text", "entities")
    if not text:
        raise bad_request("message text is empty")
    limit = api.emu.limits.max_text_length
    if limit is not None and len(text) > limit:
        raise bad_request("message is too long")
    return text, entities


def _caption(
    api: BotApi,
    p: Params,
    *,
    raw: Json | None = None,
) -> tuple[str | None, list[Json]]:
    """A media caption: from the call's params or from one InputMedia item (``raw``)."""
    if raw is not None:
        caption = raw.get("caption")
        if not caption:
            return None, []
        if not isinstance(caption, str):
            raise bad_request("caption must be a String")
        text, entities = _formatted(
            api,
            p,
            "caption",
            "caption_entities",
            raw_text=caption,
            raw_parse_mode=raw.get("parse_mode") or "",
            raw_entities=raw.get("caption_entities"),
        )
    else:
        if not p.has("caption"):
            return None, []
        text, entities = _formatted(api, p, "caption", "caption_entities")
    if not text:
        return None, []
    limit = api.emu.limits.max_caption_length
    if limit is not None and len(text) > limit:
        raise bad_request("message caption is too long")
    return text, entities


_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_INLINE_EXTRA = ("style", "icon_custom_emoji_id")
_REPLY_BUTTON_FIELDS = (
    "request_users",
    "request_chat",
    "request_managed_bot",
    "request_contact",
    "request_location",
    "request_poll",
    "web_app",
    "style",
    "icon_custom_emoji_id",
)
_REPLY_KEYBOARD_FLAGS = (
    "is_persistent",
    "resize_keyboard",
    "one_time_keyboard",
    "input_field_placeholder",
    "selective",
)


def _inline_keyboard(api: BotApi, raw: Json) -> Json:
    rows = raw.get("inline_keyboard")
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
        )
    limit = api.emu.limits.max_callback_data_bytes
    clean_rows = []
    for row in rows:
        clean_row = []
        for button in row:
            if not isinstance(button, dict):
                raise bad_request("can't parse inline keyboard button: Object expected")
            text = button.get("text")
            if not isinstance(text, str) or not text:
                raise bad_request(
                    'can\'t parse inline keyboard button: Field "text" must be of type String'
                )
            actions = [name for name in _INLINE_ACTIONS if name in button]
            if not actions:
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the "
                    "inline keyboard"
                )
            clean: Json = {"text": text}
            for name in _INLINE_EXTRA:
                if name in button:
                    clean[name] = button[name]
            action = actions[0]
            value = button[action]
            if action == "callback_data":
                if not isinstance(value, str) or not value:
                    raise bad_request("BUTTON_DATA_INVALID")
                if limit is not None and len(value.encode("utf-8")) > limit:
                    raise bad_request("BUTTON_DATA_INVALID")
            elif action == "url":
                url = normalize_url(value) if isinstance(value, str) else None
                if url is None:
                    raise bad_request(
                        f"inline keyboard button URL '{value}' is invalid: Wrong HTTP URL"
                    )
            clean[action] = value
            clean_row.append(clean)
        clean_rows.append(clean_row)
    return {"inline_keyboard": clean_rows}


def _reply_markup(api: BotApi, p: Params, inline_only: bool = False) -> Json | None:
    raw = p.json("reply_markup", "reply keyboard markup")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in raw:
        return _inline_keyboard(api, raw)
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in raw:
        rows = raw["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(
                'field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
            )
        clean_rows = []
        for row in rows:
            clean_row = []
            for button in row:
                if isinstance(button, str):
                    button = {"text": button}
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise bad_request('can\'t parse keyboard button: Field "text" must be a String')
                clean = {"text": button["text"]}
                clean.update({k: button[k] for k in _REPLY_BUTTON_FIELDS if k in button})
                clean_row.append(clean)
            clean_rows.append(clean_row)
        markup: Json = {"keyboard": clean_rows}
        markup.update({k: raw[k] for k in _REPLY_KEYBOARD_FLAGS if k in raw})
        return markup
    if "remove_keyboard" in raw:
        if raw["remove_keyboard"] is not True:
            raise bad_request("can't parse reply keyboard markup JSON object")
        return {
            "remove_keyboard": True,
            **({"selective": raw["selective"]} if "selective" in raw else {}),
        }
    if "force_reply" in raw:
        if raw["force_reply"] is not True:
            raise bad_request("can't parse reply keyboard markup JSON object")
        keep = ("input_field_placeholder", "selective")
        return {"force_reply": True, **{k: raw[k] for k in keep if k in raw}}
    raise bad_request("can't parse reply keyboard markup JSON object")


def _reply_target(p: Params, chat: ChatRec) -> MsgRec | None:
    raw = p.json("reply_parameters", "reply parameters")
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("message_id"), int):
        raise bad_request("can't parse reply parameters JSON object")
    other_chat = raw.get("chat_id")
    if other_chat is not None and str(other_chat) != str(chat.id):
        raise bad_request("message to be replied not found")
    target = chat.messages.get(raw["message_id"])
    if target is None or target.deleted:
        if raw.get("allow_sending_without_reply"):
            return None
        raise bad_request("message to be replied not found")
    return target


def _send(
    api: BotApi,
    bot: BotRec,
    chat: ChatRec,
    p: Params,
    markup: Json | None,
    **fields: Any,
) -> MsgRec:
    """Rate-limit, store and account one bot message (content already validated)."""
    api.emu.check_rate(bot, chat)
    return _store(api, bot, chat, p, markup, **fields)


def _store(
    api: BotApi, bot: BotRec, chat: ChatRec, p: Params, markup: Json | None, **fields: Any
) -> MsgRec:
    if p.bool("protect_content"):
        fields["has_protected_content"] = True
    inline = markup if markup is not None and "inline_keyboard" in markup else None
    msg = api.emu.new_message(
        chat, bot.user, inline_markup=inline or None, sent_markup=markup, **fields
    )
    api.emu.record_bot_message(bot, msg, markup)
    return msg


_URL_REF = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _file_ref(api: BotApi, bot: BotRec, p: Params, ref: Any, name: str, kind: str) -> StoredFile:
    """Resolve an InputFile-or-String: an upload, ``attach://x``, a file_id or a URL."""
    upload: Upload | None
    if isinstance(ref, Upload):
        upload = ref
    elif not isinstance(ref, str) or not ref:
        raise bad_request(f"there is no {name} in the request")
    elif ref.startswith("attach://"):
        upload = p.files.get(ref[len("attach://") :])
        if upload is None:
            raise bad_request(f"file {ref} was not attached to the request")
    elif _URL_REF.match(ref):
        raise bad_request(
            "failed to get HTTP URL content: the emulator has no internet access, "
            "upload the file instead"
        )
    else:
        stored = api.emu.files.resolve(bot.id, ref)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise bad_request(f"can't use file of type {stored.kind.title()} as {kind.title()}")
        return stored
    if not upload.content:
        raise bad_request("file must be non-empty")
    if kind == "photo":
        try:
            width, height = image_size(upload.content)
        except ImageError:
            raise bad_request("IMAGE_PROCESS_FAILED") from None
        if width <= 0 or height <= 0 or width + height > 10_000:
            raise bad_request("PHOTO_INVALID_DIMENSIONS")
        if max(width, height) > 20 * min(width, height):
            raise bad_request("PHOTO_INVALID_DIMENSIONS")
    return api.emu.store_upload(upload.content, kind, upload.filename, upload.content_type)


def _input_file(api: BotApi, bot: BotRec, p: Params, name: str, kind: str) -> StoredFile:
    ref: Any = p.files.get(name)
    if ref is None:
        ref = p.values.get(name)
    return _file_ref(api, bot, p, ref, name, kind)


# -------------------------------------------------------------------- methods


@api_method("getMe")
async def get_me(api: BotApi, bot: BotRec, p: Params) -> Json:
    return bot.me()


@api_method("getUpdates", "offset", "limit", "timeout", "allowed_updates")
async def get_updates(api: BotApi, bot: BotRec, p: Params) -> list[Json]:
    if bot.webhook is not None:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )
    bot.connected.set()
    offset = p.int("offset") or 0
    limit = min(max(p.int("limit") or 100, 1), 100)
    timeout = max(p.int("timeout") or 0, 0)
    allowed = p.json("allowed_updates", "allowed updates")
    if allowed is not None:
        bot.allowed_updates = _allowed_updates(allowed)
        bot.explicit_allowed_updates = sorted(bot.allowed_updates) if allowed else None
    if offset > 0:
        bot.confirm_below(offset)
    elif offset < 0:
        bot.keep_last(-offset)
    if bot.poller is not None:
        bot.poller.conflict = (
            "Conflict: terminated by other getUpdates request; "
            "make sure that only one bot instance is running"
        )
        bot.poller.event.set()
    if not bot.updates and timeout > 0 and not api.emu.closing:
        waiter = PollWaiter()
        bot.poller = waiter
        try:
            await asyncio.wait_for(waiter.event.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            if bot.poller is waiter:
                bot.poller = None
        if waiter.conflict:
            raise ApiError(409, waiter.conflict)
        if bot.webhook is not None:
            raise ApiError(409, "Conflict: terminated by setWebhook request")
    result = []
    for update in bot.updates.values():
        result.append(update)
        if len(result) >= limit:
            break
    return result


def _allowed_updates(raw: Any) -> frozenset[str]:
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise bad_request("can't parse allowed updates JSON object")
    return frozenset(raw) if raw else DEFAULT_UPDATE_TYPES


_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@api_method(
    "setWebhook",
    "url",
    "certificate",
    "ip_address",
    "max_connections",
    "allowed_updates",
    "drop_pending_updates",
    "secret_token",
)
async def set_webhook(api: BotApi, bot: BotRec, p: Params) -> bool:
    if "url" not in p.values:
        raise bad_request("url is empty")
    url = p.str("url") or ""
    if not url:
        return await delete_webhook(api, bot, p)
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    if not _is_loopback(parts.hostname):
        # The emulator must never send traffic off this machine.
        raise bad_request("bad webhook: the emulator delivers webhooks to loopback addresses only")
    secret = p.str("secret_token")
    if secret is not None and not _SECRET_TOKEN.match(secret):
        raise bad_request("bad webhook: secret token contains unallowed characters")
    max_connections = p.int("max_connections") or 40
    if not 1 <= max_connections <= 100:
        raise bad_request("bad webhook: max_connections must be between 1 and 100")
    allowed = p.json("allowed_updates", "allowed updates")
    if allowed is not None:
        bot.allowed_updates = _allowed_updates(allowed)
        bot.explicit_allowed_updates = sorted(bot.allowed_updates) if allowed else None
    if p.bool("drop_pending_updates"):
        bot.updates.clear()
    bot.webhook = WebhookConfig(
        url=url,
        secret_token=secret,
        max_connections=max_connections,
        ip_address=p.str("ip_address"),
        has_custom_certificate="certificate" in p.files or p.has("certificate"),
    )
    if bot.poller is not None:
        bot.poller.conflict = "Conflict: terminated by setWebhook request"
        bot.poller.event.set()
    api.webhooks.start(bot)
    bot.connected.set()
    return True


def _is_loopback(host: str) -> bool:
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


@api_method("deleteWebhook", "drop_pending_updates")
async def delete_webhook(api: BotApi, bot: BotRec, p: Params) -> bool:
    bot.webhook = None
    api.webhooks.stop(bot)
    if p.bool("drop_pending_updates"):
        bot.updates.clear()
    return True


@api_method("getWebhookInfo")
async def get_webhook_info(api: BotApi, bot: BotRec, p: Params) -> Json:
    hook = bot.webhook
    info: Json = {
        "url": hook.url if hook else "",
        "has_custom_certificate": bool(hook and hook.has_custom_certificate),
        "pending_update_count": len(bot.updates),
    }
    if hook is not None:
        if hook.ip_address:
            info["ip_address"] = hook.ip_address
        if hook.last_error_date is not None:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message or ""
        info["max_connections"] = hook.max_connections
        if bot.explicit_allowed_updates is not None:
            info["allowed_updates"] = bot.explicit_allowed_updates
    return info


_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_SCOPES = {
    "default": (),
    "all_private_chats": (),
    "all_group_chats": (),
    "all_chat_administrators": (),
    "chat": ("chat_id",),
    "chat_administrators": ("chat_id",),
    "chat_member": ("chat_id", "user_id"),
}


def _scope_key(api: BotApi, bot: BotRec, p: Params) -> str:
    scope = p.json("scope", "bot command scope")
    language = p.str("language_code") or ""
    if language and not re.fullmatch(r"[a-z]{2}", language):
        raise bad_request("invalid language code specified")
    if scope is None:
        scope = {"type": "default"}
    if not isinstance(scope, dict) or scope.get("type") not in _SCOPES:
        raise bad_request("can't parse BotCommandScope JSON object")
    parts = [scope["type"]]
    for field in _SCOPES[scope["type"]]:
        if field not in scope:
            raise bad_request(f"can't parse BotCommandScope JSON object: {field} is missing")
        if field == "chat_id":
            chat = api.emu.chat_for_bot(bot, scope["chat_id"])
            parts.append(str(chat.id))
        else:
            parts.append(str(scope[field]))
    return ":".join(parts) + "|" + language


@api_method("setMyCommands", "commands", "scope", "language_code")
async def set_my_commands(api: BotApi, bot: BotRec, p: Params) -> bool:
    commands = p.json("commands", "bot commands", required=True)
    if not isinstance(commands, list):
        raise bad_request("can't parse bot commands JSON object")
    if len(commands) > 100:
        raise bad_request("too many commands specified")
    clean = []
    for item in commands:
        if not isinstance(item, dict):
            raise bad_request("can't parse BotCommand JSON object")
        command = item.get("command")
        description = item.get("description")
        if not isinstance(command, str) or not _COMMAND.match(command):
            raise bad_request("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        clean.append({"command": command, "description": description})
    key = _scope_key(api, bot, p)
    if clean:
        bot.commands[key] = clean
    else:
        bot.commands.pop(key, None)
    return True


@api_method("getMyCommands", "scope", "language_code")
async def get_my_commands(api: BotApi, bot: BotRec, p: Params) -> list[Json]:
    return bot.commands.get(_scope_key(api, bot, p), [])


@api_method("deleteMyCommands", "scope", "language_code")
async def delete_my_commands(api: BotApi, bot: BotRec, p: Params) -> bool:
    bot.commands.pop(_scope_key(api, bot, p), None)
    return True


@api_method("sendMessage", *_SEND_COMMON, "text", "parse_mode", "entities", "link_preview_options")
async def send_message(api: BotApi, bot: BotRec, p: Params) -> Json:
    chat = _target_chat(api, bot, p)
    text, entities = _message_text(api, p)
    preview = p.json("link_preview_options", "link preview options")
    if preview is not None and not isinstance(preview, dict):
        raise bad_request("can't parse link preview options JSON object")
    reply_to = _reply_target(p, chat)
    markup = _reply_markup(api, p)
    msg = _send(api, bot, chat, p, markup, text=text, entities=entities or None, reply_to=reply_to)
    return msg.api(bot.id, api.emu.files)


@api_method(
    "sendPhoto",
    *_SEND_COMMON,
    "photo",
    "caption",
    "parse_mode",
    "caption_entities",
    "show_caption_above_media",
    "has_spoiler",
)
async def send_photo(api: BotApi, bot: BotRec, p: Params) -> Json:
    chat = _target_chat(api, bot, p)
    caption, entities = _caption(api, p)
    reply_to = _reply_target(p, chat)
    markup = _reply_markup(api, p)
    api.emu.check_rate(bot, chat)
    photo = _input_file(api, bot, p, "photo", "photo")
    msg = _store(
        api,
        bot,
        chat,
        p,
        markup,
        photo=photo,
        caption=caption,
        caption_entities=entities or None,
        reply_to=reply_to,
    )
    return msg.api(bot.id, api.emu.files)


@api_method(
    "sendDocument",
    *_SEND_COMMON,
    "document",
    "thumbnail",
    "caption",
    "parse_mode",
    "caption_entities",
    "disable_content_type_detection",
)
async def send_document(api: BotApi, bot: BotRec, p: Params) -> Json:
    chat = _target_chat(api, bot, p)
    caption, entities = _caption(api, p)
    reply_to = _reply_target(p, chat)
    markup = _reply_markup(api, p)
    api.emu.check_rate(bot, chat)
    document = _input_file(api, bot, p, "document", "document")
    msg = _store(
        api,
        bot,
        chat,
        p,
        markup,
        document=document,
        caption=caption,
        caption_entities=entities or None,
        reply_to=reply_to,
    )
    return msg.api(bot.id, api.emu.files)


_SUPPORTED_MEDIA = {"photo": "photo", "document": "document"}


@api_method(
    "sendMediaGroup",
    "business_connection_id",
    "chat_id",
    "message_thread_id",
    "direct_messages_topic_id",
    "media",
    "disable_notification",
    "protect_content",
    "allow_paid_broadcast",
    "message_effect_id",
    "reply_parameters",
)
async def send_media_group(api: BotApi, bot: BotRec, p: Params) -> list[Json]:
    chat = _target_chat(api, bot, p)
    media = p.json("media", "media", required=True)
    if not isinstance(media, list) or not all(isinstance(item, dict) for item in media):
        raise bad_request("can't parse media JSON object")
    if not 2 <= len(media) <= 10:
        raise bad_request("wrong number of media in the album: must include 2-10 items")
    kinds = set()
    for item in media:
        kind = item.get("type")
        if kind not in _SUPPORTED_MEDIA:
            if kind in {"audio", "video", "live_photo", "animation"}:
                raise bad_request(f"media type {kind} is not supported by the emulator")
            raise bad_request("can't parse InputMedia JSON object")
        kinds.add(kind)
    if "document" in kinds and len(kinds) > 1:
        raise bad_request("documents can't be mixed with other media types in an album")
    captions = [_caption(api, p, raw=item) for item in media]
    reply_to = _reply_target(p, chat)
    api.emu.check_rate(bot, chat)
    files = [
        _file_ref(api, bot, p, item.get("media"), "media", _SUPPORTED_MEDIA[item["type"]])
        for item in media
    ]
    group_id = api.emu.next_media_group_id()
    result = []
    for item, stored, (caption, entities) in zip(media, files, captions, strict=True):
        kind = _SUPPORTED_MEDIA[item["type"]]
        msg = _store(
            api,
            bot,
            chat,
            p,
            None,
            caption=caption,
            caption_entities=entities or None,
            reply_to=reply_to,
            media_group_id=group_id,
            **{kind: stored},
        )
        result.append(msg.api(bot.id, api.emu.files))
    return result


@api_method(
    "sendLocation",
    *_SEND_COMMON,
    "latitude",
    "longitude",
    "horizontal_accuracy",
    "live_period",
    "heading",
    "proximity_alert_radius",
)
async def send_location(api: BotApi, bot: BotRec, p: Params) -> Json:
    chat = _target_chat(api, bot, p)
    latitude = p.float("latitude", required=True)
    longitude = p.float("longitude", required=True)
    assert latitude is not None and longitude is not None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise bad_request("wrong latitude/longitude specified")
    location: Json = {"latitude": latitude, "longitude": longitude}
    accuracy = p.float("horizontal_accuracy")
    if accuracy is not None:
        if not 0 <= accuracy <= 1500:
            raise bad_request("wrong horizontal accuracy specified")
        location["horizontal_accuracy"] = accuracy
    for name in ("live_period", "heading", "proximity_alert_radius"):
        value = p.int(name)
        if value is not None:
            location[name] = value
    reply_to = _reply_target(p, chat)
    markup = _reply_markup(api, p)
    msg = _send(api, bot, chat, p, markup, location=location, reply_to=reply_to)
    return msg.api(bot.id, api.emu.files)


_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


@api_method("sendChatAction", "business_connection_id", "chat_id", "message_thread_id", "action")
async def send_chat_action(api: BotApi, bot: BotRec, p: Params) -> bool:
    chat = _target_chat(api, bot, p)
    action = p.str("action", required=True)
    if action not in _CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    chat.last_action = {"action": action, "bot_id": bot.id, "date": _now()}
    api.emu.events.emit("chat_action", chat_id=chat.id, bot_id=chat.bot_id, action=action)
    return True


@api_method(
    "copyMessage",
    "chat_id",
    "message_thread_id",
    "direct_messages_topic_id",
    "from_chat_id",
    "message_id",
    "video_start_timestamp",
    "caption",
    "parse_mode",
    "caption_entities",
    "show_caption_above_media",
    "disable_notification",
    "protect_content",
    "allow_paid_broadcast",
    "message_effect_id",
    "suggested_post_parameters",
    "reply_parameters",
    "reply_markup",
)
async def copy_message(api: BotApi, bot: BotRec, p: Params) -> Json:
    chat = _target_chat(api, bot, p)
    source_chat = api.emu.chat_for_bot(bot, p.raw("from_chat_id", required=True), writing=False)
    api.emu.ensure_can_read(bot, source_chat)
    message_id = p.int("message_id", required=True)
    source = source_chat.messages.get(message_id) if message_id is not None else None
    if source is None or source.deleted:
        raise bad_request("message to copy not found")
    if source.is_service:
        raise bad_request("message can't be copied")
    if source.has_protected_content:
        raise bad_request("message has protected content and can't be copied")
    fields: dict[str, Any] = {}
    if source.text is not None:
        fields.update(text=source.text, entities=source.entities)
    for name in ("photo", "document", "location", "contact"):
        value = getattr(source, name)
        if value is not None:
            fields[name] = value
    if source.photo is not None or source.document is not None:
        if p.has("caption") or "caption" in p.values:
            caption, entities = _caption(api, p)
            fields.update(caption=caption, caption_entities=entities or None)
        else:
            fields.update(caption=source.caption, caption_entities=source.caption_entities)
    reply_to = _reply_target(p, chat)
    markup = _reply_markup(api, p)
    msg = _send(api, bot, chat, p, markup, reply_to=reply_to, **fields)
    return {"message_id": msg.message_id}


def _editable(api: BotApi, bot: BotRec, p: Params, verb: str = "edit") -> MsgRec:
    if p.has("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")
    if p.has("business_connection_id"):
        raise bad_request("BUSINESS_CONNECTION_INVALID")
    if not p.has("chat_id"):
        raise bad_request("chat_id is empty")
    if not p.has("message_id"):
        raise bad_request("message identifier is not specified")
    chat = api.emu.chat_for_bot(bot, p.raw("chat_id"))
    api.emu.ensure_can_write(bot, chat)
    msg = chat.messages.get(p.int("message_id") or 0)
    if msg is None or msg.deleted:
        raise bad_request(f"message to {verb} not found")
    if msg.sender is not bot.user:
        raise bad_request("message can't be edited")
    return msg


_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


@api_method(
    "editMessageText",
    "business_connection_id",
    "chat_id",
    "message_id",
    "inline_message_id",
    "text",
    "parse_mode",
    "entities",
    "link_preview_options",
    "rich_message",
    "reply_markup",
)
async def edit_message_text(api: BotApi, bot: BotRec, p: Params) -> Json:
    if p.has("rich_message"):
        raise bad_request("rich messages are not supported by the emulator")
    msg = _editable(api, bot, p)
    text, entities = _message_text(api, p)
    if msg.text is None:
        raise bad_request("there is no text in the message to edit")
    # Telegram drops the inline keyboard when an edit does not repeat it.
    markup = _reply_markup(api, p, inline_only=True)
    if text == msg.text and (entities or None) == msg.entities and markup == msg.inline_markup:
        raise bad_request(_NOT_MODIFIED)
    api.emu.edit_message(
        msg, text=text, entities=entities or None, inline_markup=markup, sent_markup=markup
    )
    return msg.api(bot.id, api.emu.files)


@api_method(
    "editMessageCaption",
    "business_connection_id",
    "chat_id",
    "message_id",
    "inline_message_id",
    "caption",
    "parse_mode",
    "caption_entities",
    "show_caption_above_media",
    "reply_markup",
)
async def edit_message_caption(api: BotApi, bot: BotRec, p: Params) -> Json:
    msg = _editable(api, bot, p)
    if msg.photo is None and msg.document is None:
        raise bad_request("there is no caption in the message to edit")
    caption, entities = _caption(api, p)
    markup = _reply_markup(api, p, inline_only=True)
    if (
        caption == msg.caption
        and (entities or None) == msg.caption_entities
        and markup == msg.inline_markup
    ):
        raise bad_request(_NOT_MODIFIED)
    api.emu.edit_message(
        msg,
        caption=caption,
        caption_entities=entities or None,
        inline_markup=markup,
        sent_markup=markup,
    )
    return msg.api(bot.id, api.emu.files)


@api_method(
    "editMessageReplyMarkup",
    "business_connection_id",
    "chat_id",
    "message_id",
    "inline_message_id",
    "reply_markup",
)
async def edit_message_reply_markup(api: BotApi, bot: BotRec, p: Params) -> Json:
    msg = _editable(api, bot, p)
    markup = _reply_markup(api, p, inline_only=True)
    if markup == msg.inline_markup or (
        msg.inline_markup is None and markup == {"inline_keyboard": []}
    ):
        raise bad_request(_NOT_MODIFIED)
    api.emu.edit_message(msg, inline_markup=markup, sent_markup=markup)
    return msg.api(bot.id, api.emu.files)


@api_method("deleteMessage", "chat_id", "message_id")
async def delete_message(api: BotApi, bot: BotRec, p: Params) -> bool:
    chat = api.emu.chat_for_bot(bot, p.raw("chat_id", required=True), writing=False)
    api.emu.ensure_can_read(bot, chat)
    message_id = p.int("message_id", required=True)
    msg = chat.messages.get(message_id or 0)
    if msg is None or msg.deleted:
        raise bad_request("message to delete not found")
    if msg.sender is not bot.user and chat.type != "private":
        member = chat.members.get(bot.id)
        is_admin = member is not None and (
            member.status == "creator"
            or (member.status == "administrator" and member.rights.get("can_delete_messages"))
        )
        if not is_admin:
            raise bad_request("message can't be deleted")
    api.emu.delete_message(msg)
    return True


@api_method("answerCallbackQuery", "callback_query_id", "text", "show_alert", "url", "cache_time")
async def answer_callback_query(api: BotApi, bot: BotRec, p: Params) -> bool:
    query_id = p.str("callback_query_id", required=True)
    assert query_id is not None
    text = p.str("text")
    limit = api.emu.limits.max_callback_answer_length
    if text is not None and limit is not None and len(text) > limit:
        raise bad_request("MESSAGE_TOO_LONG")
    answer: Json = {
        "text": text,
        "show_alert": p.bool("show_alert"),
        "url": p.str("url"),
        "cache_time": p.int("cache_time") or 0,
        "answered_at": time.time(),
    }
    api.emu.answer_callback(bot, query_id, answer)
    return True


@api_method("getFile", "file_id")
async def get_file(api: BotApi, bot: BotRec, p: Params) -> Json:
    file_id = p.str("file_id", required=True)
    assert file_id is not None
    stored = api.emu.files.resolve(bot.id, file_id)
    if stored is None:
        raise bad_request("invalid file_id")
    limit = api.emu.limits.max_download_bytes
    if limit is not None and stored.size > limit:
        raise bad_request("file is too big")
    return {
        "file_id": file_id,
        "file_unique_id": stored.unique_id,
        "file_size": stored.size,
        "file_path": stored.file_path,
    }


@api_method("getChat", "chat_id")
async def get_chat(api: BotApi, bot: BotRec, p: Params) -> Json:
    chat = api.emu.chat_for_bot(bot, p.raw("chat_id", required=True), writing=False)
    api.emu.ensure_can_read(bot, chat)
    return chat.full_info()


@api_method("getChatMember", "chat_id", "user_id")
async def get_chat_member(api: BotApi, bot: BotRec, p: Params) -> Json:
    chat = api.emu.chat_for_bot(bot, p.raw("chat_id", required=True), writing=False)
    api.emu.ensure_can_read(bot, chat)
    user_id = p.int("user_id", required=True)
    user = api.emu.users.get(user_id or 0)
    if user is None:
        raise bad_request("user not found")
    if chat.type == "private":
        member = MemberRec(status="member") if user in (chat.user, bot.user) else None
        if user is bot.user and chat.blocked:
            member = MemberRec(status="kicked")
    else:
        member = chat.members.get(user.id)
    return chat_member_api(user, member, chat.type)


@api_method("getChatAdministrators", "chat_id", "return_bots")
async def get_chat_administrators(api: BotApi, bot: BotRec, p: Params) -> list[Json]:
    chat = api.emu.chat_for_bot(bot, p.raw("chat_id", required=True), writing=False)
    api.emu.ensure_can_read(bot, chat)
    if chat.type == "private":
        raise bad_request("there are no administrators in the private chat")
    with_bots = p.bool("return_bots")
    result = []
    for user_id, member in chat.members.items():
        if member.status not in {"creator", "administrator"}:
            continue
        user = api.emu.users[user_id]
        if user.is_bot and user is not bot.user and not with_bots:
            continue
        result.append(chat_member_api(user, member, chat.type))
    return result


@api_method("leaveChat", "chat_id")
async def leave_chat(api: BotApi, bot: BotRec, p: Params) -> bool:
    chat = api.emu.chat_for_bot(bot, p.raw("chat_id", required=True), writing=False)
    if chat.type == "private":
        raise bad_request("chat member status can't be changed in private chats")
    member = chat.members.get(bot.id)
    if member is None or not member.present:
        kind = "supergroup chat" if chat.type == "supergroup" else "group chat"
        raise forbidden(f"bot is not a member of the {kind}")
    api.emu.set_member(chat, bot.user, "left", by=bot.user)
    return True
