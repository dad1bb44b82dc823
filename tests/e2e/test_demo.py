"""`wardbot demo`: one command gives a working ward a visitor can play with."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

import bot.demo
from bot.emulator import EmulatorClient
from bot.emulator.server import RunningEmulator
from bot.emulator.zalo import ZaloBotApi, ZaloPeople
from tests.e2e.harness import ROOT
from tests.e2e.journeys import WAIT, press, register


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def demo() -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARDBOT_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "demo", "--port", str(port), "--households", "5"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240  # seeding and aiogram's import, on a busy machine
    output = ""
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        output += line
        if url in line:
            break
        if process.poll() is not None:
            pytest.fail(f"wardbot demo exited:\n{output}")
    else:
        process.kill()
        pytest.fail(f"wardbot demo did not get ready:\n{output}")
    yield url
    process.send_signal(2)  # Ctrl-C
    try:
        rest, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("Ctrl-C did not stop the demo")
    assert process.returncode == 0
    assert "Demo stopped" in rest


async def test_a_newcomer_registers_and_the_demo_leader_approves(demo: str) -> None:
    async with EmulatorClient(demo) as people:
        users = await people.users()
        tags = {tag for user in users for tag in user["persona"]}
        assert {"newcomer", "resident", "leader", "officer", "admin"} <= tags
        newcomer = next(u for u in users if "newcomer" in u["persona"])
        leader = next(u for u in users if "leader" in u["persona"])
        done = await register(people, newcomer, group="Khu phố 1", name="Khách Mới")
        assert "tổ trưởng Khu phố 1" in done["text"]
        request = await people.wait_for_message(leader["id"], "Khách Mới", timeout=WAIT)
        await press(people, leader, request, "Duyệt")
        await people.wait_for_message(newcomer["id"], "đã được duyệt", timeout=WAIT)


async def test_the_demo_resident_is_verified_with_a_menu(demo: str) -> None:
    async with EmulatorClient(demo) as people:
        resident = next(u for u in await people.users() if "resident" in u["persona"])
        await people.send_command(resident["id"], "start")
        welcome = await people.wait_for_message(
            resident["id"], "Chào mừng bạn quay lại", timeout=WAIT
        )
        assert "đã được xác minh" in welcome["text"]


def test_a_busy_port_gets_a_clear_message(demo: str) -> None:
    port = demo.rsplit(":", 1)[1]
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--port", port],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"Port {port} is already in use" in result.stderr
    assert "Traceback" not in result.stderr


async def test_the_demo_says_ready_only_once_telegram_and_zalo_are_connected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a busy machine Zalo's getMe may answer late: "ready" waits for it, and for
    Telegram's first getUpdates, so what a visitor types at once is answered."""
    started: list[RunningEmulator] = []
    start_emulator = bot.demo.start_emulator

    async def keep(**kwargs: object) -> RunningEmulator:
        running = await start_emulator(**kwargs)  # type: ignore[arg-type]
        started.append(running)
        return running

    get_me = ZaloBotApi.m_getMe

    async def slow_get_me(self: ZaloBotApi, zbot: object, params: dict) -> dict:
        await asyncio.sleep(1.5)
        return await get_me(self, zbot, params)  # type: ignore[arg-type]

    monkeypatch.setattr(bot.demo, "start_emulator", keep)
    monkeypatch.setattr(ZaloBotApi, "m_getMe", slow_get_me)
    stop, ready = asyncio.Event(), asyncio.Event()
    seen: dict[str, bool] = {}

    def on_ready(text: str) -> None:
        emulator = started[0].emulator
        seen["telegram"] = all(b.connected.is_set() for b in emulator.bots.values())
        seen["zalo"] = bot.demo.ZALO_DEMO_TOKEN in emulator.zalo.bots  # type: ignore[attr-defined]
        ready.set()

    demo_task = asyncio.create_task(
        bot.demo.run_demo(port=free_port(), households_per_group=1, stop=stop, ready=on_ready)
    )
    try:
        waiter = asyncio.create_task(ready.wait())
        await asyncio.wait({demo_task, waiter}, timeout=120, return_when=asyncio.FIRST_COMPLETED)
        assert ready.is_set(), demo_task.exception() if demo_task.done() else "not ready"
        assert seen == {"telegram": True, "zalo": True}
        zalo = ZaloPeople(started[0].base_url)
        try:
            mai = next(u for u in (await zalo.http.get("/_control/zalo/users")).json()["result"])
            await zalo.say(mai["id"], "Xin chào", "Gõ 1 để đăng ký cư trú", timeout=60)
        finally:
            await zalo.close()
    finally:
        stop.set()
        await asyncio.wait_for(demo_task, 60)
