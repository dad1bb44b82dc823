"""``python -m bot.emulator --port 8081 --token 123456:ABC``: run the emulator on its own."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from bot.emulator.limits import EmulatorLimits
from bot.emulator.server import BotSpec, start_emulator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot.emulator", description="Local Telegram Bot API emulator"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8081, help="port (0 picks a free one)")
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        help="bot token '<id>:<secret>'; repeat for several bots",
    )
    parser.add_argument(
        "--username",
        action="append",
        default=[],
        help="username for the bot given by the --token in the same position",
    )
    parser.add_argument(
        "--no-privacy",
        action="store_true",
        help="bots read all group messages (privacy mode off)",
    )
    parser.add_argument(
        "--no-rate-limits", action="store_true", help="switch off Telegram's flood limits"
    )
    return parser


async def _serve(args: argparse.Namespace) -> None:
    specs = [
        BotSpec(
            token=token,
            username=args.username[i] if i < len(args.username) else None,
            can_read_all_group_messages=args.no_privacy,
        )
        for i, token in enumerate(args.token)
    ]
    limits = EmulatorLimits.unlimited() if args.no_rate_limits else EmulatorLimits()
    running = await start_emulator(bots=specs, limits=limits, host=args.host, port=args.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    bots = ", ".join(f"@{b.user.username} ({b.id})" for b in running.emulator.bots.values())
    print(f"Telegram Bot API emulator on {running.base_url}  bots: {bots or 'none'}", flush=True)
    try:
        await stop.wait()
    finally:
        await running.stop()


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        asyncio.run(_serve(args))
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None


if __name__ == "__main__":
    main()
