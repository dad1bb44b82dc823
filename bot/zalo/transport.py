"""Sends rendered outbox messages to Zalo and reports what Zalo answered.

Zalo's Bot Platform takes text (sendMessage) and photos by URL (sendPhoto); it has no
way to send a document and no buttons (bot/zalo/api.py). So a message's photos go out
with sendPhoto, pointing at signed, expiring links to wardbot's own web server
(bot/services/file_links.py), and its documents (a notice's PDF) as such links in the
text. Without a public address (WARDBOT_PUBLIC_URL), files are only named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.delivery.render import Attachment, Outgoing
from bot.delivery.sender import ChannelLimits, SendResult
from bot.i18n import _, format_datetime
from bot.services.file_links import FileLinks
from bot.zalo.api import ZaloApi, ZaloError
from bot.zalo.quota import QuotaWatch
from bot.zalo.text import plain, split_plain


@dataclass(frozen=True)
class ZaloPart:
    text: str


@dataclass(frozen=True)
class ZaloPhoto:
    url: str


def file_lines(attachments: Sequence[Attachment], links: FileLinks | None) -> tuple[str, list[str]]:
    """The lines that give a message's files to a Zalo reader, and the photos' URLs to
    send with sendPhoto. Documents become links in the text; files that cannot be
    linked are named."""
    linkable = [a for a in attachments if links is not None and a.stored_file_id is not None]
    named = [a for a in attachments if a not in linkable]
    photos = [links.url(a.stored_file_id) for a in linkable if a.kind == "photo"]  # type: ignore[arg-type,union-attr]
    documents = [a for a in linkable if a.kind != "photo"]
    lines: list[str] = []
    if documents:
        assert links is not None
        lines.append(
            _("📎 Open the attached files (the links work until {when}):").format(
                when=format_datetime(links.expiry())
            )
        )
        lines += [f"📄 {a.filename}: {links.url(a.stored_file_id)}" for a in documents]  # type: ignore[arg-type]
    if named:
        lines.append(
            _("📎 Attached: {names} (not available on Zalo: ask the ward office).").format(
                names=", ".join(a.filename for a in named)
            )
        )
    return "\n".join(lines), photos


class ZaloTransport:
    channel = "zalo"

    def __init__(
        self,
        api: ZaloApi,
        limits: ChannelLimits | None = None,
        *,
        links: FileLinks | None = None,
        quota: QuotaWatch | None = None,
    ) -> None:
        self.api = api
        self.limits = limits
        self.links = links
        self.quota = quota or QuotaWatch()

    def split(self, message: Outgoing) -> Sequence[ZaloPart | ZaloPhoto]:
        """Plain text in parts of at most 2,000 UTF-16 units (the files' links at its
        end), then each photo. A message that had buttons ends with the way to the
        menu, where the same choices are numbered."""
        text = plain(message.text)
        files, photos = file_lines(message.attachments, self.links)
        if files:
            text += "\n\n" + files
        if message.markup is not None:
            text += "\n\n" + _("Type 0 for the menu.")
        parts: list[ZaloPart | ZaloPhoto] = [ZaloPart(part) for part in split_plain(text)]
        return parts + [ZaloPhoto(url) for url in photos]

    async def send(self, chat_id: str, part: ZaloPart | ZaloPhoto) -> SendResult:
        try:
            if isinstance(part, ZaloPhoto):
                sent = await self.api.send_photo(chat_id, part.url)
            else:
                sent = await self.api.send_message(chat_id, part.text)
        except ZaloError as exc:
            return await self.result_of(exc)
        await self.quota.accepted()
        return SendResult(ok=True, message_id=str(sent.get("message_id") or "") or None)

    async def result_of(self, exc: ZaloError) -> SendResult:
        """What a refusal means for the message. No code means "the user blocked the
        bot" (how Zalo signals a block is unknown): a 403 is Zalo's server error."""
        if exc.quota_exceeded:
            wait = await self.quota.refused()
            return SendResult(ok=False, retry_after=wait, quota=True, error=exc.description)
        if exc.network:
            return SendResult(
                ok=False, uncertain=exc.uncertain, error=f"network: {exc.description}"
            )
        return SendResult(ok=False, permanent=exc.permanent, error=exc.description)
