"""Reports and oversight end to end: an admin gets the report's files in the chat; an
inspector sees the ward's figures without anyone's personal data and sends a
supervision recommendation that the admin answers; a resident asks for the figures."""

from __future__ import annotations

from typing import Any

from bot.emulator import EmulatorClient
from bot.models import Role
from tests.e2e.conftest import Stack
from tests.e2e.journeys import WAIT, become, new_person, press, register

Json = dict[str, Any]


async def test_admin_gets_the_report_files(stack: Stack, people: EmulatorClient) -> None:
    admin = await new_person(people, "Thu", "Lê Thị")
    await become(people, admin, stack.database_url, Role.ADMIN)
    uid = admin["id"]
    await people.send_command(uid, "report")
    pick = await people.wait_for_message(uid, "chọn kỳ báo cáo", timeout=WAIT)
    await press(people, admin, pick, "Năm trước")
    summary = await people.wait_for_message(uid, "📨 Phản ánh, kiến nghị", timeout=90)
    assert "Phường Ba Đình" in summary["text"]
    xlsx = await people.wait_for_message(
        uid, lambda m: (m.get("document") or {}).get("file_name", "").endswith(".xlsx"), timeout=30
    )
    assert xlsx["document"]["file_name"].startswith("bao-cao-badinh-")
    pdf = await people.wait_for_message(
        uid, lambda m: (m.get("document") or {}).get("file_name", "").endswith(".pdf"), timeout=30
    )
    assert "tóm tắt" in pdf["caption"]
    chart = await people.wait_for_message(uid, lambda m: bool(m.get("photo")), timeout=90)
    assert chart

    # A period typed by hand, checked before anything is made.
    await people.send_command(uid, "report")
    pick = await people.wait_for_message(
        uid,
        lambda m: (
            "chọn kỳ báo cáo" in (m.get("text") or "") and m["message_id"] > pick["message_id"]
        ),
        timeout=WAIT,
    )
    await press(people, admin, pick, "Kỳ khác")
    await people.wait_for_message(uid, "Hãy gửi kỳ báo cáo", timeout=WAIT)
    await people.send_text(uid, "2025-H3")
    await people.wait_for_message(uid, "không phải là kỳ báo cáo", timeout=WAIT)


async def test_inspector_oversees_and_the_admin_answers(
    stack: Stack, people: EmulatorClient
) -> None:
    admin = await new_person(people, "Hòa", "Mai Văn")
    await become(people, admin, stack.database_url, Role.ADMIN)
    inspector = await new_person(people, "Tâm", "Vũ Thị")
    await become(people, inspector, stack.database_url, Role.INSPECTOR)
    resident = await new_person(people, "Quyên", "Lò Thị")
    await register(
        people, resident, group="Khu phố 4", name="Lò Thị Quyên", address="Số 88, ngõ Riêng Tư"
    )

    iid = inspector["id"]
    await people.send_text(iid, "🔍 Giám sát")
    overview = await people.wait_for_message(iid, "Giám sát Phường Ba Đình", timeout=90)
    assert "Nhật ký kiểm tra: toàn vẹn" in overview["text"]
    for secret in ("Lò Thị Quyên", "Quyên", "Riêng Tư", "Số 88"):
        assert secret not in overview["text"], secret

    await press(people, inspector, overview, "Gửi kiến nghị giám sát")
    await people.wait_for_message(iid, "trong một tin nhắn", timeout=WAIT)
    await people.send_text(iid, "Đề nghị niêm yết công khai dự toán thu chi quỹ khu phố 4.")
    preview = await people.wait_for_message(iid, "Xem trước", timeout=WAIT)
    await press(people, inspector, preview, "Gửi")
    sent = await people.wait_for_message(iid, "Đã gửi kiến nghị GS-", timeout=WAIT)
    assert "trước ngày" in sent["text"]

    aid = admin["id"]
    notice = await people.wait_for_message(aid, "Có kiến nghị giám sát", timeout=WAIT)
    assert "dự toán thu chi quỹ khu phố 4" in notice["text"]
    await press(people, admin, notice, "Mở")
    detail = await people.wait_for_message(
        aid, lambda m: "Trả lời" in str(m.get("reply_markup") or ""), timeout=WAIT
    )
    await press(people, admin, detail, "Trả lời")
    await people.wait_for_message(aid, "Hãy viết nội dung trả lời", timeout=WAIT)
    await people.send_text(aid, "UBND phường đã niêm yết tại nhà văn hóa khu phố 4 ngày 5/6.")
    confirm = await people.wait_for_message(aid, "Gửi trả lời này", timeout=WAIT)
    await press(people, admin, confirm, "Gửi")
    await people.wait_for_message(aid, "Đã gửi trả lời kiến nghị", timeout=WAIT)

    told = await people.wait_for_message(iid, "Phường đã trả lời kiến nghị", timeout=WAIT)
    assert "nhà văn hóa khu phố 4" in told["text"]

    # The resident is not yet verified: the figures are refused politely.
    rid = resident["id"]
    await people.send_command(rid, "figures")
    await people.wait_for_message(rid, "cư dân đã được xác nhận", timeout=WAIT)
    # An inspector's button pressed by the resident does nothing.
    await people.send_command(rid, "oversight")
    await people.wait_for_message(rid, "dành cho Ban Thanh tra nhân dân", timeout=WAIT)
