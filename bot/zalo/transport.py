"""Sends rendered outbox messages to Zalo and reports what Zalo answered."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.delivery.render import Outgoing
from bot.delivery.sender import ChannelLimits, SendResult
from bot.i18n import _
from bot.zalo.api import ZaloApi, ZaloError
from bot.zalo.text import plain, split_plain


@dataclass(frozen=True)
class ZaloPart:
    text: str


class ZaloTransport:
    channel = "zalo"

    def __init__(self, api: ZaloApi, limits: ChannelLimits | None = None) -> None:
        self.api = api
        self.limits = limits

    def split(self, message: Outgoing) -> Sequence[ZaloPart]:
        """Plain text in 2,000-character parts. Zalo has no buttons: a message that had
        some ends with the way to the menu, where the same choices are numbered. Zalo's
        sendPhoto takes a public URL, which wardbot's files do not have: attachments are
        named (the notice text already lists them) and read on the ward's other channels."""
        text = plain(message.text)
        if message.attachments and "📎" not in text:
            names = ", ".join(a.filename for a in message.attachments)
            text += "\n\n" + _("📎 Attached: {names}").format(names=names)
        if message.markup is not None:
            text += "\n\n" + _("Type 0 for the menu.")
        return [ZaloPart(part) for part in split_plain(text)]

    async def send(self, chat_id: str, part: ZaloPart) -> SendResult:
        try:
            sent = await self.api.send_message(chat_id, part.text)
        except ZaloError as exc:
            if exc.too_fast:
                return SendResult(
                    ok=False, retry_after=exc.retry_after or 1.0, error=exc.description
                )
            if exc.blocked:
                return SendResult(ok=False, blocked=True, error=exc.description)
            if exc.network:
                return SendResult(
                    ok=False, uncertain=exc.uncertain, error=f"network: {exc.description}"
                )
            return SendResult(ok=False, permanent=exc.error_code == 400, error=exc.description)
        return SendResult(ok=True, message_id=str(sent.get("message_id") or "") or None)
