"""The Zalo channel: receives updates (long polling or webhook) and answers them.

One update is handled in one database transaction, as on Telegram: the person behind
the Zalo account is loaded (created on first contact), the handler for their state runs
and calls the services, and what it said is sent once the transaction committed. A
domain error (bad input, not allowed) rolls the handler's changes back and is shown to
the person in their language. Messages of one person are handled in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import unicodedata
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.sender import ChannelLimits
from bot.i18n import _, get_i18n
from bot.services import people
from bot.services.errors import DomainError
from bot.services.file_links import FileLinks
from bot.zalo import notices as _notices  # noqa: F401  (registers its states)
from bot.zalo import registration as _registration  # noqa: F401
from bot.zalo import tickets as _tickets  # noqa: F401
from bot.zalo import votes as _votes  # noqa: F401
from bot.zalo.api import SECRET_HEADER, ZaloApi, ZaloError, ZaloUpdate
from bot.zalo.context import ACTIONS, CHANNEL, STATES, Ctx, Reply, load_record
from bot.zalo.menu import MENU_WORDS, UNLINK_WORDS, show_menu
from bot.zalo.quota import QuotaWatch
from bot.zalo.text import plain, split_plain
from bot.zalo.transport import ZaloPart, ZaloPhoto, ZaloTransport

if TYPE_CHECKING:
    from aiohttp import web

    from bot.config import Settings

log = logging.getLogger(__name__)

# Seconds an answer may wait for Zalo's quota: under a webhook caller's timeout.
REPLY_PATIENCE = 25.0


def create_api(settings: Settings) -> ZaloApi | None:
    token = settings.zalo_token_value()
    if token is None:
        return None
    return ZaloApi(token, settings.zalo_api_url, poll_timeout=settings.zalo_poll_timeout)


def create_links(settings: Settings) -> FileLinks | None:
    """Signed links to wardbot's files, when Zalo is configured and this server has a
    public address; without one, Zalo residents are told a file's name only."""
    base = settings.public_base_url()
    key = settings.file_link_key_bytes()
    if base is None or key is None:
        return None
    return FileLinks(base, key, timedelta(hours=settings.file_link_hours))


def create_quota(
    settings: Settings, factory: async_sessionmaker[AsyncSession] | None
) -> QuotaWatch:
    return QuotaWatch(factory, report_after=timedelta(minutes=settings.zalo_quota_report_minutes))


def create_transport(
    settings: Settings,
    api: ZaloApi,
    *,
    links: FileLinks | None = None,
    quota: QuotaWatch | None = None,
) -> ZaloTransport:
    return ZaloTransport(
        api,
        ChannelLimits(
            per_second=settings.zalo_delivery_rate,
            private_interval=settings.zalo_private_interval,
        ),
        links=links,
        quota=quota,
    )


async def dispatch(ctx: Ctx) -> None:
    """Route one message by the person's state; "0" or "menu" always leads home, and
    "Hủy liên kết" always offers to undo a link."""
    if (
        " ".join(unicodedata.normalize("NFC", ctx.text).lower().rstrip(".!").split())
        in UNLINK_WORDS
    ):
        await ACTIONS["unlink"](ctx)
        return
    if ctx.text.lower() in MENU_WORDS or ctx.state is None:
        intro = None
        if ctx.state is None and ctx.actor.resident is None:
            intro = _(
                "Hello! This is your ward's assistant: notices, feedback to the ward and "
                "more. Register first so that your group leader knows you live here."
            )
        show_menu(ctx, intro)
        return
    handler = STATES.get(ctx.state)
    if handler is None:
        show_menu(ctx)
        return
    await handler(ctx)


class ZaloChannel:
    def __init__(
        self,
        api: ZaloApi,
        factory: async_sessionmaker[AsyncSession],
        telegram_bot: Any = None,
        *,
        links: FileLinks | None = None,
        quota: QuotaWatch | None = None,
    ) -> None:
        self.api = api
        self.factory = factory
        self.telegram_bot = telegram_bot
        self.links = links
        self.quota = quota or QuotaWatch(factory)
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.handled = 0
        # Set once Zalo knows the bot (getMe answered, or the webhook is served): from then
        # on what people write reaches it.
        self.connected = asyncio.Event()

    # --- one update ----------------------------------------------------------------------

    async def handle(self, update: ZaloUpdate) -> None:
        if not update.is_private:
            return  # wardbot's Zalo side speaks with people one to one
        lock = self._locks.setdefault(update.user_id, asyncio.Lock())
        async with lock:
            try:
                replies = await self._process(update)
            except Exception:
                log.exception("Zalo update from %s failed", update.user_id)
                replies = [_("Sorry, something went wrong. Please try again.", locale="vi")]
            await self._reply(update.chat_id, replies)
            self.handled += 1
        if not lock.locked() and not lock._waiters:  # type: ignore[attr-defined]
            self._locks.pop(update.user_id, None)

    async def _process(self, update: ZaloUpdate) -> list[Reply]:
        async with self.factory() as session:
            actor = await people.ensure_person(
                session,
                channel=CHANNEL,
                external_id=update.user_id,
                chat_id=update.chat_id,
                username=None,
                language=None,
            )
            record = await load_record(session, update.user_id)
            ctx = Ctx(
                session=session,
                actor=actor,
                update=update,
                api=self.api,
                record=record,
                telegram_bot=self.telegram_bot,
                links=self.links,
            )
            with get_i18n().use_locale(actor.language or "vi"):
                try:
                    async with session.begin_nested():
                        await dispatch(ctx)
                except DomainError as exc:
                    # Nothing the handler changed stays; the person learns why.
                    ctx.replies = [exc.render(), _("Type 0 for the menu.")]
            await session.commit()
            return ctx.replies

    async def _reply(self, chat_id: str, replies: list[Reply]) -> None:
        """Send the answers in order. Zalo's server errors are retried twice; a used-up
        quota is waited out (growing waits, shared with the sender) for at most
        ``REPLY_PATIENCE`` seconds, under a webhook caller's timeout; then the rest is
        given up and logged."""
        parts: list[ZaloPart | ZaloPhoto] = []
        for reply in replies:
            if isinstance(reply, ZaloPhoto):
                parts.append(reply)
            else:
                parts += [ZaloPart(text) for text in split_plain(plain(reply))]
        waited = 0.0
        for part in parts:
            failures = 0
            while True:
                try:
                    if isinstance(part, ZaloPhoto):
                        await self.api.send_photo(chat_id, part.url)
                    else:
                        await self.api.send_message(chat_id, part.text)
                    await self.quota.accepted()
                    break
                except ZaloError as exc:
                    if exc.quota_exceeded:
                        wait = await self.quota.refused()
                    elif (exc.server_error or (exc.network and not exc.uncertain)) and failures < 2:
                        failures += 1
                        wait = float(failures)
                    else:
                        log.warning("Zalo reply to %s failed: %s", chat_id, exc.description)
                        return
                    if waited + wait > REPLY_PATIENCE:
                        log.warning(
                            "Zalo reply to %s given up after %.0f s: %s",
                            chat_id,
                            waited,
                            exc.description,
                        )
                        return
                    waited += wait
                    await asyncio.sleep(wait)

    # --- long polling --------------------------------------------------------------------

    async def run_polling(self, stop: asyncio.Event) -> None:
        me = await self.api.get_me()
        log.info("Zalo channel is running as %s", me.get("account_name") or me.get("id"))
        self.connected.set()
        failures = 0
        while not stop.is_set():
            poll = asyncio.ensure_future(self.api.get_updates())
            stopper = asyncio.ensure_future(stop.wait())
            done, _pending = await asyncio.wait(
                {poll, stopper}, return_when=asyncio.FIRST_COMPLETED
            )
            stopper.cancel()
            if poll not in done:
                poll.cancel()
                with contextlib.suppress(BaseException):
                    await poll
                break
            try:
                # An empty long poll (Zalo's 408) is an empty list here, not a failure.
                updates = poll.result()
                failures = 0
            except ZaloError as exc:
                failures += 1
                wait = min(30.0, 0.5 * 2**failures)
                log.warning(
                    "Zalo getUpdates failed (%s); retrying in %.0f s", exc.description, wait
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=wait)
                continue
            for update in updates:
                task = asyncio.create_task(self.handle(update))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- webhook -------------------------------------------------------------------------

    def webhook_handler(self, secret: str) -> Any:
        """An aiohttp handler: Zalo's secret header checked in constant time; anything
        else is answered 401 and not processed."""
        from aiohttp import web

        expected = secret.encode()

        async def receive(request: web.Request) -> web.Response:
            given = request.headers.get(SECRET_HEADER, "").encode()
            if not hmac.compare_digest(given, expected):
                return web.json_response({"ok": False}, status=401)
            try:
                raw = await request.json()
            except ValueError:
                return web.json_response({"ok": False}, status=400)
            # [ZDOC] the body is {"ok": true, "result": {event_name, message}}.
            update = ZaloUpdate.parse(raw)
            if update is None:
                # Answered 200 all the same: Zalo must not send it again and again.
                log.warning(
                    "a Zalo webhook body without a readable message was ignored (%s)",
                    _shape(raw),
                )
            else:
                await self.handle(update)
            return web.json_response({"ok": True})

        return receive

    def mount(self, app: web.Application, path: str, secret: str) -> None:
        app.router.add_post(path, self.webhook_handler(secret))
        self.connected.set()


def _shape(raw: Any) -> str:
    """What a body looked like, for the log, without its content (names, texts)."""
    if not isinstance(raw, dict):
        return type(raw).__name__
    inner = raw.get("result") if isinstance(raw.get("result"), dict) else raw
    return f"keys {sorted(raw)}, event {str(inner.get('event_name'))[:40]!r}"


async def set_webhook(settings: Settings) -> str:
    """Point Zalo at WARDBOT_ZALO_WEBHOOK_URL + path, with the secret."""
    from bot.config import ConfigError

    api = create_api(settings)
    if api is None:
        raise ConfigError("WARDBOT_ZALO_TOKEN is not set.")
    if not settings.zalo_webhook_url:
        raise ConfigError("WARDBOT_ZALO_WEBHOOK_URL is not set: give the public HTTPS address.")
    url = settings.zalo_webhook_url.rstrip("/") + settings.zalo_webhook_path
    try:
        await api.set_webhook(url, settings.require_zalo_webhook_secret())
    finally:
        await api.close()
    return url
