"""Zalo's quota: what wardbot does while Zalo answers 429 ("Quota exceeded").

Zalo publishes no rate limit and sends no ``retry_after`` (bot/zalo/api.py): its plans
have quotas, and once one is used up, retrying every second only burns requests. So
each refusal in a row doubles the wait before Zalo is tried again (2 s, 4 s, ... at
most 10 minutes; refusals of requests already in flight do not double it again), and
after ``report_after`` of nothing but refusals (15 minutes by default,
WARDBOT_ZALO_QUOTA_REPORT_MINUTES) the ward's admins are told, once, and told again
when Zalo accepts messages anew. Nothing is dropped meanwhile: the outbox keeps what
waits.

One watch serves a process's sender and its answers to Zalo users alike.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.delivery.outbox import enqueue
from bot.delivery.render import Outgoing, renderer
from bot.i18n import _, format_datetime
from bot.models import Delivery, Role, RoleGrant

log = logging.getLogger(__name__)

KIND = "zalo.quota"
FIRST_WAIT = 2.0
MAX_WAIT = 600.0
DEFAULT_REPORT_AFTER = timedelta(minutes=15)
# Another process of the deployment may have told the admins already.
_REPORT_DEDUPE = timedelta(hours=1)


class QuotaWatch:
    def __init__(
        self,
        factory: async_sessionmaker[AsyncSession] | None = None,
        *,
        report_after: timedelta = DEFAULT_REPORT_AFTER,
    ) -> None:
        self.factory = factory
        self.report_after = report_after
        # Refusals since Zalo last accepted a message; when the first came.
        self.refusals = 0
        self.since: datetime | None = None
        self.level = 0
        self.until: datetime | None = None
        self.reported = False
        # All refusals ever and the longest wait, for statistics and benchmarks.
        self.total = 0
        self.longest = 0.0

    def wait_seconds(self) -> float:
        return min(MAX_WAIT, FIRST_WAIT * 2 ** max(0, self.level - 1))

    def remaining(self) -> float:
        """Seconds until Zalo may be tried again; 0 when it may be now."""
        if self.until is None:
            return 0.0
        return max(0.0, (self.until - clock.now()).total_seconds())

    async def refused(self) -> float:
        """Zalo said 429: the seconds to wait before trying again."""
        now = clock.now()
        self.refusals += 1
        self.total += 1
        if self.since is None:
            self.since = now
        if self.until is None or now >= self.until:
            # A refusal of a request sent before the last wait began does not double it.
            self.level += 1
            self.until = now + timedelta(seconds=self.wait_seconds())
            self.longest = max(self.longest, self.wait_seconds())
            log.warning(
                "Zalo refused a message: quota exceeded (429, %d in a row since %s); "
                "waiting %.0f s before trying again",
                self.refusals,
                self.since.isoformat(timespec="seconds"),
                self.wait_seconds(),
            )
        if not self.reported and now - self.since >= self.report_after:
            self.reported = await self._report(exceeded=True, now=now)
        return max(1.0, (self.until - now).total_seconds())

    async def accepted(self) -> None:
        """Zalo accepted a message: the quota is back."""
        if self.since is None:
            return
        if self.reported:
            log.warning("Zalo accepts messages again after %d refusals", self.refusals)
            await self._report(exceeded=False, now=clock.now())
        self.refusals = self.level = 0
        self.since = self.until = None
        self.reported = False

    async def _report(self, *, exceeded: bool, now: datetime) -> bool:
        if self.factory is None:
            return False
        params = {
            "exceeded": exceeded,
            "since": self.since.isoformat() if self.since else now.isoformat(),
            "until": now.isoformat(),
            "count": self.refusals,
        }
        try:
            async with self.factory() as session:
                if await _told_already(session, exceeded=exceeded, now=now):
                    return True
                admins = (
                    await session.exec(
                        select(RoleGrant.person_id).where(
                            RoleGrant.role == Role.ADMIN, col(RoleGrant.revoked_at).is_(None)
                        )
                    )
                ).all()
                await enqueue(
                    session,
                    kind=KIND,
                    person_ids=[a for a in admins if a is not None],
                    params=params,
                )
                await session.commit()
        except Exception:
            log.exception("telling the admins about Zalo's quota failed")
            return False
        return True


async def _told_already(session: AsyncSession, *, exceeded: bool, now: datetime) -> bool:
    """Whether another process of the deployment already said this: the last report says
    the same (a quota used up: within the hour, or a process that died would silence the
    next one)."""
    last = (
        await session.exec(
            select(Delivery.params, Delivery.created_at)
            .where(Delivery.kind == KIND)
            .order_by(col(Delivery.id).desc())
            .limit(1)
        )
    ).first()
    if last is None:
        return not exceeded
    params, created = last
    if bool(params.get("exceeded")) != exceeded:
        return False
    return not exceeded or created > now - _REPORT_DEDUPE


@renderer(KIND)
async def render_quota(session: AsyncSession, row: Delivery) -> Outgoing | None:
    params = row.params
    since = format_datetime(datetime.fromisoformat(params["since"]))
    if params.get("exceeded"):
        text = _(
            "⚠️ <b>Zalo is refusing the bot's messages</b>: quota exceeded (error 429) "
            "since {since}, {count} refusals so far. Messages to residents on Zalo are "
            "kept and will be sent as soon as Zalo accepts them again. Zalo's quota "
            "depends on the Zalo bot's plan (Free or Premium, bot.zaloplatforms.com)."
        )
    else:
        text = _(
            "✅ Zalo accepts the bot's messages again (it refused them from {since} to "
            "{until}); the messages that waited are being sent."
        )
    return Outgoing(
        text=text.format(
            since=since,
            until=format_datetime(datetime.fromisoformat(params["until"])),
            count=params.get("count", 0),
        )
    )
