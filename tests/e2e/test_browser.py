"""The web chat in a real browser (Debian's chromium through Playwright).

One test drives ``wardbot demo`` exactly as a newcomer would: open the page, pick the
newcomer, register. The other checks the chat's own features against the emulator and a
small aiogram bot: keyboards, answers, edits, deletions, uploads, locations, groups, and
that text is never taken as HTML.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher

from bot.emulator import BotSpec, EmulatorClient, EmulatorLimits, RunningEmulator, run_emulator
from bot.emulator.media import make_png
from tests.conftest import skip_or_fail
from tests.emulator.conftest import BOT_USERNAME, TOKEN, build_router, make_bot, until_polling

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("WARDBOT_CHROMIUM", "/usr/bin/chromium"))
# Playwright's own browser download does not work here; Debian's chromium does, told to
# stay quiet: no background traffic, no first-run UI, no sandbox (tests may run as root).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 20_000


def _playwright() -> Any:
    if not CHROMIUM.exists():
        skip_or_fail(
            f"{CHROMIUM} is missing: the browser test needs Debian's chromium "
            "(scripts/ensure-debian-package installs it as root)"
        )
    try:
        from playwright import async_api
    except ImportError:
        skip_or_fail("playwright is not installed (uv sync --dev)")
    async_api.expect.set_options(timeout=WAIT_MS)
    return async_api


@pytest.fixture
async def page(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """A fresh browser profile and a phone-sized page; a screenshot is kept on failure."""
    api = _playwright()
    async with api.async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            viewport={"width": 420, "height": 860},
            locale="vi-VN",
        )
        context.set_default_timeout(WAIT_MS)
        errors: list[str] = []
        tab = context.pages[0] if context.pages else await context.new_page()
        tab.on("pageerror", lambda error: errors.append(str(error)))
        try:
            yield tab
            report = getattr(request.node, "report_call", None)
            if report is None or report.failed:
                shot = tmp_path / "failure.png"
                await tab.screenshot(path=str(shot), full_page=True)
                print(f"\nscreenshot of the failure: {shot}", file=sys.stderr)
            assert errors == [], f"JavaScript errors on the page: {errors}"
        finally:
            await context.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[str]:
    """`wardbot demo --port N` as a subprocess; yields its URL once it says it is ready."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARDBOT_")}
    env.update(PYTHONUNBUFFERED="1", HOME=str(tmp_path))
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "demo", "--port", str(port), "--households", "5"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    output: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if url in line:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 240
        while not ready.wait(0.2):
            if process.poll() is not None or time.monotonic() > deadline:
                reader.join(5)
                raise RuntimeError(f"wardbot demo did not print {url}:\n{''.join(output)}")
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(5)


async def test_a_newcomer_registers_through_the_web_chat(page: Any, demo: str) -> None:
    api = _playwright()
    expect = api.expect
    await page.goto(demo)

    newcomer = page.locator("#person optgroup[label^='Người mới'] option").first
    await expect(newcomer).to_be_attached()
    await page.select_option("#person", await newcomer.get_attribute("value"))
    await expect(page.locator("#chat")).to_have_value(re.compile(r"^bot\d+$"))
    await expect(page.locator("#messages:not([aria-busy])")).to_be_attached()

    message = page.get_by_role("textbox", name="Tin nhắn")
    start = page.get_by_role("button", name="BẮT ĐẦU")
    if await start.is_visible():
        await start.click()
    else:  # the demo already wrote to this person: start as a typed command
        await message.fill("/start")
        await message.press("Enter")
    await page.get_by_role("button", name="Tiếng Việt").last.click()
    # Khu phố 1 is on the first page of groups.
    await page.get_by_role("button", name="Khu phố 1", exact=True).click()

    await expect(page.get_by_text("Họ và tên")).to_be_visible()
    await message.fill("Nguyễn Văn An")
    await message.press("Enter")

    keyboard = page.locator("#reply-keyboard")
    await keyboard.get_by_role("button", name="Chia sẻ số điện thoại").click()
    dialog = page.locator("#contact-dialog")
    await expect(dialog.get_by_role("textbox")).to_have_value(re.compile(r"^\+8491\d{7}$"))
    await dialog.get_by_role("button", name="Chia sẻ").click()

    await expect(page.get_by_text("Địa chỉ hộ gia đình")).to_be_visible()
    await message.fill("Số 12, ngõ 5, đường Lê Lợi")
    await message.press("Enter")
    await page.get_by_role("button", name="✅ Gửi").click()

    await expect(page.get_by_text("Yêu cầu đăng ký đã được")).to_be_visible()
    await expect(keyboard.get_by_role("button", name="⚙️ Cài đặt")).to_be_visible()


async def test_a_zalo_newcomer_registers_through_the_web_chat(page: Any, demo: str) -> None:
    """The Zalo persona: numbered text menus, typed phone, a photo; no location (Zalo's
    bots receive none: the web chat says so)."""
    api = _playwright()
    expect = api.expect
    await page.goto(demo)
    zalo = page.locator("#person optgroup[label^='Zalo'] option").first
    await expect(zalo).to_be_attached()
    await page.select_option("#person", await zalo.get_attribute("value"))
    await expect(page.locator("#chat-title")).to_contain_text("Zalo")
    message = page.get_by_role("textbox", name="Tin nhắn")

    async def say(text: str, expect_text: str) -> None:
        await message.fill(text)
        await message.press("Enter")
        await expect(page.get_by_text(expect_text).last).to_be_visible()

    await say("Xin chào", "Gõ 1 để đăng ký cư trú")
    await say("1", "Bạn sống ở tổ dân phố nào?")
    await say("1", "Họ và tên của bạn")
    await say("Trần Thị Mai", "Nhập số điện thoại")
    await say("0913 444 555", "Địa chỉ hộ gia đình của bạn")
    await say("Số 4, ngõ 9, Lê Lợi", "Vui lòng kiểm tra thông tin đăng ký")
    await say("1", "Yêu cầu đăng ký đã được gửi tới tổ trưởng Khu phố 1")
    # The person's own lines are on the right, the bot's on the left, as text only.
    await expect(page.locator("li.msg.out").first).to_contain_text("Xin chào")
    await expect(page.locator("li.msg.in b")).to_have_count(0)

    # No location on Zalo; a photo, as Zalo users send them (the menu asks for a number).
    log = page.locator("#messages")
    await page.get_by_role("button", name="Gửi vị trí").click()
    await expect(page.locator("#toast")).to_contain_text("no location on Zalo")
    await page.locator("#file").set_input_files(
        {"name": "anh.png", "mimeType": "image/png", "buffer": make_png(4, 3)}
    )
    await expect(log.locator("li.msg.out img").last).to_have_js_property("naturalWidth", 4)
    await expect(log.get_by_text("Vui lòng gõ một trong các số").last).to_be_visible()

    # The title already says Zalo: wait until it names the new person before typing, or
    # the text goes to the previous one.
    before = await page.locator("#chat-title").inner_text()
    await page.locator("#new-zalo-person").click()
    await expect(page.locator("#chat-title")).not_to_have_text(before)
    await expect(page.locator("#chat-title")).to_contain_text("Zalo")
    await say("0", "Gõ 1 để đăng ký cư trú")


# ----------------------------------------------------------- the chat's own features


@asynccontextmanager
async def _sample_bot(emulator: RunningEmulator) -> AsyncIterator[Bot]:
    bot = make_bot(emulator.base_url)
    dispatcher = Dispatcher()
    dispatcher.include_router(build_router())
    task = asyncio.create_task(
        dispatcher.start_polling(
            bot, handle_signals=False, close_bot_session=False, polling_timeout=1
        )
    )
    await until_polling(emulator, task)
    try:
        yield bot
    finally:
        await dispatcher.stop_polling()
        await task
        await bot.session.close()


@pytest.fixture
async def sample() -> AsyncIterator[tuple[RunningEmulator, EmulatorClient, Bot]]:
    spec = BotSpec(TOKEN, username=BOT_USERNAME, first_name="Phường Bot")
    async with (
        run_emulator(bots=[spec], limits=EmulatorLimits.unlimited()) as emulator,
        emulator.client() as people,
        _sample_bot(emulator) as bot,
    ):
        yield emulator, people, bot


async def test_the_chat_shows_and_does_what_telegram_would(
    page: Any, sample: tuple[RunningEmulator, EmulatorClient, Bot]
) -> None:
    emulator, people, bot = sample
    expect = _playwright().expect
    an = await people.create_user(
        "An", last_name="Nguyễn Văn", label="Người dân — Nguyễn Văn An", persona=["resident"]
    )
    binh = await people.create_user("Bình", label="Cán bộ — Bình", persona=["officer"])
    office = await people.create_group("Bộ phận Địa chính", members=[an["id"], binh["id"]])
    await people.add_bot_to_group(office["id"])

    await page.goto(emulator.base_url)
    await expect(page.locator("#person optgroup[label^='Cán bộ'] option")).to_have_text(
        ["Cán bộ — Bình"]
    )
    await page.select_option("#person", str(an["id"]))
    log = page.get_by_role("log")
    keyboard = page.locator("#reply-keyboard")

    # Start: formatted greeting, inline menu, reply keyboard.
    await page.get_by_role("button", name="BẮT ĐẦU").click()
    await expect(log.locator("b", has_text="An")).to_be_visible()
    await expect(keyboard.get_by_role("button", name="Góp ý")).to_be_visible()

    # An inline button: the answer as a toast, the message edited in place.
    before = await log.locator("li").count()
    await log.get_by_role("button", name="Tin tức").click()
    await expect(page.get_by_role("status")).to_have_text("Đang mở tin tức")
    await expect(log.get_by_text("Tin tức: họp tổ dân phố lúc 19:00")).to_be_visible()
    await expect(log.get_by_text("đã sửa")).to_be_visible()
    await expect(log.locator("li")).to_have_count(before)

    # The edit took the keyboard away (as on Telegram); a typed /start brings a new menu.
    await expect(log.get_by_role("button", name="Hỏi đáp")).to_have_count(0)
    message = page.get_by_role("textbox", name="Tin nhắn")
    await message.fill("/start")
    await message.press("Enter")

    # show_alert: a modal the person must close.
    await log.get_by_role("button", name="Hỏi đáp").click()
    alert = page.locator("#alert-dialog")
    await expect(alert).to_contain_text("Không hiểu yêu cầu faq")
    await alert.get_by_role("button", name="OK").click()
    await expect(alert).to_be_hidden()

    # Typed text reaches the bot as text and comes back as text, never as markup.
    await message.fill('<img src=x onerror="document.title=1"> & <b>')
    await message.press("Enter")
    await expect(
        log.get_by_text('Bạn viết: <img src=x onerror="document.title=1"> & <b>')
    ).to_be_visible()
    assert await log.locator("img[src='x']").count() == 0

    # Own contact, once asked for, with a generated Vietnamese number.
    await keyboard.get_by_role("button", name="Chia sẻ số điện thoại").click()
    phone = f"+8491{an['id'] % 10_000_000:07d}"
    await expect(page.locator("#contact-dialog input")).to_have_value(phone)
    await page.locator("#contact-dialog").get_by_role("button", name="Chia sẻ").click()
    await expect(log.get_by_text(f"Đã nhận số {phone} (của bạn)")).to_be_visible()
    await expect(keyboard).to_be_hidden()  # ReplyKeyboardRemove

    # A location, from the default point in the ward.
    await page.get_by_role("button", name="Gửi vị trí").click()
    await page.locator("#location-dialog").get_by_role("button", name="Gửi").click()
    await expect(log.get_by_text("📍 20.08060, 105.86110")).to_be_visible()
    await expect(log.get_by_text("Vị trí: 20.0806, 105.8611")).to_be_visible()

    # A photo shown as an image fetched from the emulator, a document as a download.
    png = make_png(4, 3)
    await page.locator("#file").set_input_files(
        {"name": "anh.png", "mimeType": "image/png", "buffer": png}
    )
    await expect(log.get_by_text(f"Ảnh 4x3, {len(png)} byte")).to_be_visible()
    image = log.locator("img").last
    await expect(image).to_have_js_property("naturalWidth", 4)
    await page.locator("#file").set_input_files(
        {"name": "bao-cao.txt", "mimeType": "text/plain", "buffer": b"Bao cao thang 5"}
    )
    await expect(log.get_by_text("Tệp bao-cao.txt (text/plain): 15 byte")).to_be_visible()
    link = log.get_by_role("link", name=re.compile("bao-cao.txt"))
    await expect(link).to_have_attribute("download", "bao-cao.txt")

    # A message the bot deletes disappears.
    sent = await bot.send_message(an["id"], "Tin nhắn sẽ bị xoá")
    await expect(log.get_by_text("Tin nhắn sẽ bị xoá")).to_be_visible()
    await bot.delete_message(an["id"], sent.message_id)
    await expect(log.get_by_text("Tin nhắn sẽ bị xoá")).to_have_count(0)

    # The group: other people's messages carry their name; the bot answers commands there.
    await page.select_option("#chat", str(office["id"]))
    await expect(keyboard).to_be_hidden()
    await people.send_text(binh["id"], "Chào cả nhóm", chat_id=office["id"])
    said = log.locator("li.in", has_text="Chào cả nhóm")
    await expect(said.locator(".sender")).to_have_text("Bình")
    await message.fill("/start")
    await message.press("Enter")
    await expect(log.locator("li.out", has_text="/start")).to_be_visible()
    await expect(log.locator("li.bot", has_text="Chào An")).to_be_visible()
    assert page.url.endswith(f"#person={an['id']}&chat={office['id']}")


async def test_a_bot_not_yet_connected_shows_starting_instead_of_an_error(page: Any) -> None:
    """Before a bot connects the chat says "đang khởi động…": on Telegram what the person
    writes waits for the bot (as Telegram keeps it), on Zalo it is refused with that word
    rather than an error; both clear by themselves once the bot is up."""
    import httpx

    expect = _playwright().expect
    spec = BotSpec(TOKEN, username=BOT_USERNAME, first_name="Phường Bot")
    async with (
        run_emulator(bots=[spec], limits=EmulatorLimits.unlimited()) as emulator,
        emulator.client() as people,
    ):
        an = await people.create_user("An", label="Người dân — An", persona=["resident"])
        mai = emulator.emulator.zalo.create_user("Trần Thị Mai")  # type: ignore[attr-defined]
        await page.goto(emulator.base_url)
        await page.select_option("#person", str(an["id"]))
        status = page.locator("#chat-status")
        log = page.get_by_role("log")
        await expect(status).to_have_text("đang khởi động… · starting…")
        message = page.get_by_role("textbox", name="Tin nhắn")
        await message.fill("/start")
        await message.press("Enter")
        await expect(log.locator("li.out", has_text="/start")).to_be_visible()
        async with _sample_bot(emulator):
            await expect(status).to_have_text("")
            await expect(log.locator("b", has_text="An")).to_be_visible()  # the greeting

        await page.select_option("#person", f"zalo:{mai.id}")
        await expect(page.locator("#chat-title")).to_contain_text("Trần Thị Mai")
        await expect(status).to_have_text("đang khởi động… · starting…")
        await message.fill("Xin chào")
        await message.press("Enter")
        toast = page.get_by_role("status")
        await expect(toast).to_contain_text("Trợ lý Zalo đang khởi động")
        await expect(toast).not_to_have_class(re.compile(r"\berror\b"))
        await expect(log.locator("li.msg")).to_have_count(0)
        # A Zalo bot calls the API (as the bot's getMe does at start): the chat works.
        async with httpx.AsyncClient() as http:
            me = await http.post(f"{emulator.base_url}/zalo/bot4000000001:zalo-secret/getMe")
            assert me.json()["ok"]
        await expect(status).to_have_text("")
        await message.fill("Xin chào")
        await message.press("Enter")
        await expect(log.locator("li.msg.out", has_text="Xin chào")).to_be_visible()
