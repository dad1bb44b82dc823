"""Nothing the bot logs shows its token or a phone number. The session's stack checks
its whole logs when it stops (tests/e2e/conftest.py); this test makes its own traffic —
a number given the three ways people give one — and checks at once, so it means
something however it is run."""

from __future__ import annotations

from bot.emulator import EmulatorClient
from tests.e2e.conftest import Stack
from tests.e2e.harness import assert_logs_are_clean, stored_phones
from tests.e2e.journeys import WAIT, new_person, phone_for, press


async def test_a_phone_number_given_three_ways_never_reaches_the_logs(
    stack: Stack, people: EmulatorClient
) -> None:
    user = await new_person(people, "Sáu", "Đào Văn")
    uid = user["id"]
    own = phone_for(user)
    someone_else = f"+8498{uid % 10_000_000:07d}"
    typed = f"0977 {uid % 1000:03d} {uid // 1000 % 1000:03d}"

    await people.send_command(uid, "start")
    choose = await people.wait_for_message(uid, "Choose your language", timeout=WAIT)
    await press(people, user, choose, "Tiếng Việt")
    groups = await people.wait_for_message(uid, "tổ dân phố", timeout=WAIT)
    await press(people, user, groups, "Khu phố 1")
    await people.wait_for_message(uid, "Họ và tên", timeout=WAIT)
    await people.send_text(uid, "Đào Văn Sáu")
    await people.wait_for_message(uid, "chia sẻ số điện thoại", timeout=WAIT)
    # Typed, and someone else's contact: both refused, both handled (the bot answered).
    await people.send_text(uid, typed)
    assert "thay vì gõ số" in (await people.wait_for_message(uid, timeout=WAIT))["text"]
    forged = {"phone_number": someone_else, "first_name": "Ai đó", "user_id": uid + 1}
    await people.share_contact(uid, contact=forged)
    assert "của chính bạn" in (await people.wait_for_message(uid, timeout=WAIT))["text"]
    # Their own contact: the registration goes on, and the number is stored.
    await people.share_contact(uid, phone_number=own)
    await people.wait_for_message(uid, "Địa chỉ", timeout=WAIT)
    await people.send_text(uid, "Số 6, ngõ 2, Lê Lợi")
    summary = await people.wait_for_message(uid, "kiểm tra thông tin", timeout=WAIT)
    await press(people, user, summary, "✅")
    await people.wait_for_message(uid, "Cảm ơn bạn. Yêu cầu đăng ký", timeout=WAIT)

    phones = await stored_phones(stack.database_url)
    assert own in phones
    logs = stack.logs()
    assert "wardbot is running" in logs or "webhook listening" in logs
    assert_logs_are_clean(logs, stack.token, [*phones, someone_else, typed.replace(" ", "")])
