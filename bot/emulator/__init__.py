"""A local Telegram Bot API emulator with a control API for simulated people.

Start it with :func:`run_emulator` (tests) or ``python -m bot.emulator`` (alone), point
aiogram at ``base_url`` and drive residents through :class:`EmulatorClient`.
"""

from bot.emulator.client import EmulatorClient, EmulatorError, WaitTimeout
from bot.emulator.limits import EmulatorLimits
from bot.emulator.server import BotSpec, RunningEmulator, build_app, run_emulator, start_emulator
from bot.emulator.state import Emulator

__all__ = [
    "BotSpec",
    "Emulator",
    "EmulatorClient",
    "EmulatorError",
    "EmulatorLimits",
    "RunningEmulator",
    "WaitTimeout",
    "build_app",
    "run_emulator",
    "start_emulator",
]
