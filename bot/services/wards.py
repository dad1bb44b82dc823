"""The ward file: a YAML description of a ward, loaded idempotently into the database.

A malformed file is reported with the line and field at fault, and nothing is loaded:
the whole file is validated before the first write, and written in one transaction.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
)
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock, rules
from bot.i18n import __
from bot.models import (
    NoticeCategory,
    Office,
    Province,
    ResidentialGroup,
    TicketCategory,
    TicketType,
    Ward,
)
from bot.services import audit
from bot.services.errors import InvalidInput, NotFound

Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_-]{1,32}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- settings kept on the ward row ------------------------------------------------


class Step(_Strict):
    """A deadline: so many days, counted as working days (weekends and holidays
    skipped) or calendar days.

    In the ward file this is the older way of spelling a deadline out (``ticket_types``);
    the law's deadlines now come from the rule table (``bot.rules``), and such a value is
    checked against it. Tickets get their Steps from ``bot.services.tickets.rule_for``."""

    days: int = Field(ge=1, le=3650)
    working_days: bool = True
    # Days the responsible person may add once, e.g. denunciations 7 → 10 working days.
    extension_days: int = Field(default=0, ge=0, le=365)
    # Complaints: 30 days, 45 for a complex case (Complaints Law 2011 Art. 28).
    complex_days: int | None = Field(default=None, ge=1, le=365)
    # Denunciations: 30 days, extended twice by 30 (Denunciations Law 2018 Art. 30).
    extensions: list[int] = Field(default_factory=list)

    @property
    def unit(self) -> str:
        return "working_days" if self.working_days else "days"


class TicketTypeRule(_Strict):
    prefix: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,4}$")]
    anonymous_allowed: bool
    # Acceptance (thụ lý) is a step of its own for complaints and denunciations.
    accept: Step | None = None
    answer: Step | None = None


class ReportDue(_Strict):
    period: Literal["H1", "year"]
    name: Name
    # Month and day, e.g. "06-15".
    due: Annotated[str, StringConstraints(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")]
    remind_days_before: int = Field(default=7, ge=0, le=90)


class Limits(_Strict):
    tickets_per_day: int = Field(default=5, ge=1, le=100)
    ticket_text_max: int = Field(default=4000, ge=100, le=20000)
    attachments_max: int = Field(default=5, ge=0, le=10)
    attachment_max_mb: int = Field(default=10, ge=1, le=50)
    # A late ticket goes to the office head at its deadline, and to the ward admin this
    # many working days later if it is still open (0: both at once).
    escalate_to_admin_after_days: int = Field(default=2, ge=0, le=30)


class LocalDayOff(_Strict):
    date: datetime.date
    name: Name


class LocalCalendar(_Strict):
    """Days the ward's offices do not work besides the national calendar's."""

    days_off: list[LocalDayOff] = Field(default_factory=list)


def _default_ticket_types() -> dict[TicketType, TicketTypeRule]:
    return {
        TicketType.PHAN_ANH: TicketTypeRule(prefix="PA", anonymous_allowed=True),
        TicketType.KIEN_NGHI: TicketTypeRule(prefix="KNG", anonymous_allowed=True),
        TicketType.GOP_Y: TicketTypeRule(prefix="GY", anonymous_allowed=True),
        TicketType.KHIEU_NAI: TicketTypeRule(prefix="KN", anonymous_allowed=False),
        TicketType.TO_CAO: TicketTypeRule(prefix="TC", anonymous_allowed=False),
    }


# The rule ids behind the older ticket_types deadlines of the ward file.
_FEEDBACK_ANSWER = {
    TicketType.PHAN_ANH: "feedback.phan_anh.answer_days",
    TicketType.KIEN_NGHI: "feedback.kien_nghi.answer_days",
    TicketType.GOP_Y: "feedback.gop_y.answer_days",
}
_IDENTITY = {
    TicketType.KHIEU_NAI: "complaint.identity_required",
    TicketType.TO_CAO: "denunciation.identity_required",
}


class WardSettings(_Strict):
    ticket_types: dict[TicketType, TicketTypeRule] = Field(default_factory=_default_ticket_types)
    # Rule id → value, for the rules the table lets the ward set (``wardbot rules``).
    rules: dict[str, Any] = Field(default_factory=dict)
    # Older spelling of rules.notice.min_posting_days.
    notice_posting_days: int | None = Field(default=None, ge=1, le=3650)
    calendar: LocalCalendar = Field(default_factory=LocalCalendar)
    vote_reminder_hours: int = Field(default=24, ge=0, le=720)
    reports: list[ReportDue] = Field(default_factory=list)
    limits: Limits = Field(default_factory=Limits)

    def local_days_off(self) -> dict[datetime.date, str]:
        return {day.date: day.name for day in self.calendar.days_off}

    def rule_overrides(self) -> dict[str, rules.Override]:
        """What this ward file says of the rule table's rules, each with where it says it.

        The ``rules`` section is the ward file's own voice; the older fields
        (``notice_posting_days``, ``ticket_types`` deadlines) are read as overrides too,
        leniently: where the file only spelled out the law, nothing changes."""
        found: dict[str, rules.Override] = {}
        for rule_id, value in self.rules.items():
            if isinstance(value, dict) and set(value) == {"value", "unit"}:
                found[rule_id] = rules.Override(value["value"], value["unit"], ("rules", rule_id))
            else:
                found[rule_id] = rules.Override(value, None, ("rules", rule_id))
        for rule_id, override in self._legacy_overrides():
            found.setdefault(rule_id, override)
        if self.reports and "report.due_dates" not in found:
            found["report.due_dates"] = rules.Override(
                [{"period": r.period, "due": r.due} for r in self.reports], None, ("reports",)
            )
        return found

    def _legacy_overrides(self) -> list[tuple[str, rules.Override]]:
        result: list[tuple[str, rules.Override]] = []

        def add(rule_id: str, value: Any, unit: str | None, *where: str | int) -> None:
            result.append((rule_id, rules.Override(value, unit, where, lenient=True)))

        if self.notice_posting_days is not None:
            add("notice.min_posting_days", self.notice_posting_days, "days", "notice_posting_days")
        for kind, spec in self.ticket_types.items():
            at = ("ticket_types", kind.value)
            if kind in _IDENTITY:
                add(_IDENTITY[kind], not spec.anonymous_allowed, None, *at, "anonymous_allowed")
            accept, answer = spec.accept, spec.answer
            if kind in _FEEDBACK_ANSWER and answer is not None:
                result.append(
                    (
                        _FEEDBACK_ANSWER[kind],
                        rules.Override(answer.days, answer.unit, (*at, "answer")),
                    )
                )
            elif kind == TicketType.KHIEU_NAI:
                if accept is not None:
                    add("complaint.accept_days", accept.days, accept.unit, *at, "accept")
                if answer is not None:
                    add("complaint.decide_days", answer.days, answer.unit, *at, "answer")
                    if answer.complex_days is not None:
                        add(
                            "complaint.decide_days.complex",
                            answer.complex_days,
                            answer.unit,
                            *at,
                            "answer",
                            "complex_days",
                        )
            elif kind == TicketType.TO_CAO:
                if accept is not None:
                    add("denunciation.accept_days", accept.days, accept.unit, *at, "accept")
                    if accept.extension_days:
                        add(
                            "denunciation.accept_days.extended",
                            accept.days + accept.extension_days,
                            accept.unit,
                            *at,
                            "accept",
                            "extension_days",
                        )
                if answer is not None:
                    add("denunciation.resolve_days", answer.days, answer.unit, *at, "answer")
                    if answer.extensions:
                        add(
                            "denunciation.extension_days",
                            max(answer.extensions),
                            answer.unit,
                            *at,
                            "answer",
                            "extensions",
                        )
        return result

    def unsupported(self) -> list[tuple[Loc, str]]:
        """Older ticket_types fields no rule of the table stands behind."""
        problems: list[tuple[Loc, str]] = []
        for kind, spec in self.ticket_types.items():
            at: Loc = ("ticket_types", kind.value)
            if kind in _FEEDBACK_ANSWER:
                if spec.accept is not None:
                    problems.append(
                        (
                            (*at, "accept"),
                            "phản ánh, kiến nghị and góp ý have no acceptance step; the law's "
                            "10 working days to tell the resident (feedback.acknowledge_days) "
                            "is not a ward setting",
                        )
                    )
                answer = spec.answer
                if answer is not None and (
                    answer.extension_days or answer.complex_days or answer.extensions
                ):
                    problems.append(((*at, "answer"), "extensions are not supported here"))
            elif kind == TicketType.KHIEU_NAI:
                if spec.accept is not None and spec.accept.extension_days:
                    problems.append(
                        (
                            (*at, "accept", "extension_days"),
                            "the acceptance of a complaint cannot be extended "
                            "(Circular 07/2013/TT-TTCP, Art. 5(1))",
                        )
                    )
                if spec.answer is not None and (
                    spec.answer.extension_days or spec.answer.extensions
                ):
                    problems.append(
                        (
                            (*at, "answer"),
                            "a complaint's decision has no extension beyond the complex "
                            "case's period (Complaints Law 02/2011/QH13, Art. 28)",
                        )
                    )
            elif kind == TicketType.TO_CAO:
                answer = spec.answer
                if answer is not None and (answer.complex_days or answer.extension_days):
                    problems.append(
                        (
                            (*at, "answer"),
                            "a denunciation's resolution is extended by extensions "
                            "(Denunciations Law 25/2018/QH14, Art. 30)",
                        )
                    )
                if answer is not None and len(answer.extensions) > 2:
                    problems.append(
                        (
                            (*at, "answer", "extensions"),
                            "at most two extensions (Denunciations Law 25/2018/QH14, Art. 30(3))",
                        )
                    )
        return problems


# --- the file ----------------------------------------------------------------------


class ProvinceSpec(_Strict):
    code: Code
    name: Name


class WardSpec(_Strict):
    code: Code
    name: Name
    kind: Literal["phuong", "xa", "dac_khu"] = "phuong"
    timezone: str = "Asia/Ho_Chi_Minh"


class GroupSpec(_Strict):
    code: Code
    name: Name
    kind: Literal["to_dan_pho", "khu_pho", "thon", "ap", "ban"] = "to_dan_pho"


class OfficeSpec(_Strict):
    code: Code
    name: Name
    name_en: Name | None = None


class TicketCategorySpec(_Strict):
    code: Code
    name: Name
    name_en: Name | None = None
    office: Code


class NoticeCategorySpec(_Strict):
    code: Code
    name: Name
    name_en: Name | None = None


class WardFile(_Strict):
    province: ProvinceSpec
    ward: WardSpec
    groups: list[GroupSpec] = Field(min_length=1)
    offices: list[OfficeSpec] = Field(min_length=1)
    ticket_categories: list[TicketCategorySpec] = Field(min_length=1)
    notice_categories: list[NoticeCategorySpec] = Field(min_length=1)
    ticket_types: dict[TicketType, TicketTypeRule] = Field(default_factory=_default_ticket_types)
    rules: dict[str, Any] = Field(default_factory=dict)
    notice_posting_days: int | None = Field(default=None, ge=1, le=3650)
    calendar: LocalCalendar = Field(default_factory=LocalCalendar)
    vote_reminder_hours: int = Field(default=24, ge=0, le=720)
    reports: list[ReportDue] = Field(default_factory=list)
    limits: Limits = Field(default_factory=Limits)
    # Overrides the rule table ignores (values the law already fixes), for the loader to
    # show; filled by parse_ward_file.
    _warnings: list[str] = PrivateAttr(default_factory=list)

    def settings(self) -> WardSettings:
        """The ward's settings, holding only what the file says: a value the file leaves
        out follows the rule table, including its later changes."""
        return WardSettings.model_validate(
            self.model_dump(include=set(WardSettings.model_fields), exclude_unset=True)
        )

    @property
    def warnings(self) -> list[str]:
        return list(self._warnings)


class WardFileError(Exception):
    """The ward file cannot be loaded; ``str()`` names the file, the line and the field."""

    def __init__(self, path: str, problems: list[tuple[int | None, str, str]]) -> None:
        self.path = path
        self.problems = problems
        lines = [
            f"{path}, line {line}: {where}: {what}" if line else f"{path}: {where}: {what}"
            for line, where, what in problems
        ]
        super().__init__("\n".join(lines))


# --- YAML with line numbers ---------------------------------------------------------

Loc = tuple[str | int, ...]


def _compose(text: str, path: str) -> tuple[Any, dict[Loc, int]]:
    """Parse YAML keeping, for every value, the line it starts on."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise WardFileError(path, [(line, "YAML", str(exc.problem or exc))]) from None
    if root is None:
        raise WardFileError(path, [(None, "file", "the file is empty")])
    lines: dict[Loc, int] = {}
    constructor = yaml.SafeLoader("")

    def build(node: yaml.Node, loc: Loc) -> Any:
        lines[loc] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = constructor.construct_object(key_node, deep=True)
                lines[(*loc, key)] = key_node.start_mark.line + 1
                result[key] = build(value_node, (*loc, key))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [build(item, (*loc, i)) for i, item in enumerate(node.value)]
        return constructor.construct_object(node, deep=True)

    return build(root, ()), lines


def _line_for(lines: dict[Loc, int], loc: Loc) -> int | None:
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())


def _where(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "file"


def parse_ward_file(path: Path) -> WardFile:
    """Validate the whole file; raise WardFileError listing every problem found."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WardFileError(str(path), [(None, "file", str(exc))]) from None
    raw, lines = _compose(text, str(path))
    try:
        spec = WardFile.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            problems.append((_line_for(lines, loc), _where(loc), err["msg"]))
        raise WardFileError(str(path), problems) from None

    problems = []
    for section in ("groups", "offices", "ticket_categories", "notice_categories"):
        seen: dict[str, int] = {}
        for i, item in enumerate(getattr(spec, section)):
            if item.code in seen:
                loc = (section, i, "code")
                problems.append(
                    (
                        _line_for(lines, loc),
                        _where(loc),
                        f"code {item.code!r} is used twice (first at {section}[{seen[item.code]}])",
                    )
                )
            seen.setdefault(item.code, i)
    office_codes = {o.code for o in spec.offices}
    for i, category in enumerate(spec.ticket_categories):
        if category.office not in office_codes:
            loc = ("ticket_categories", i, "office")
            problems.append(
                (_line_for(lines, loc), _where(loc), f"no office has code {category.office!r}")
            )
    settings = spec.settings()
    for loc, what in settings.unsupported():
        problems.append((_line_for(lines, loc), _where(loc), what))
    # The rules in force today decide; a later entry of the table that would refuse an
    # override is announced now and applied from its date.
    today = rules.today()
    overrides = settings.rule_overrides()
    for refusal in rules.check_overrides(overrides, on=today):
        if refusal.fatal:
            problems.append(
                (_line_for(lines, refusal.where), _where(refusal.where), refusal.message)
            )
        else:
            spec._warnings.append(f"{_where(refusal.where)}: {refusal.message}")
    for later in sorted({e.effective_from for i in overrides for e in _later(i, today)}):
        for refusal in rules.check_overrides(overrides, on=later):
            spec._warnings.append(
                f"{_where(refusal.where)}: from {later.isoformat()}, {refusal.message}"
            )
    if problems:
        raise WardFileError(str(path), problems)
    return spec


def _later(rule_id: str, today: datetime.date) -> list[rules.Rule]:
    try:
        return [e for e in rules.history(rule_id) if e.effective_from > today]
    except rules.UnknownRule:
        return []


# --- loading -----------------------------------------------------------------------


@dataclass
class LoadReport:
    ward_code: str
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    deactivated: dict[str, int] = field(default_factory=dict)
    # Values of the file the rule table ignores (the law fixes them), to show the operator.
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(self.created.values() or self.updated.values() or self.deactivated.values())

    def count(self, bucket: dict[str, int], kind: str) -> None:
        bucket[kind] = bucket.get(kind, 0) + 1


def _assign(row: Any, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


async def load_ward_file(session: AsyncSession, path: Path, *, actor: str = "cli") -> LoadReport:
    """Create or update the ward the file describes. Rows the file no longer lists are
    deactivated, never deleted: notices and tickets may still point at them."""
    spec = parse_ward_file(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()  # noqa: ASYNC240 - a small local file
    report = LoadReport(ward_code=spec.ward.code, warnings=spec.warnings)

    province = (
        await session.exec(select(Province).where(Province.code == spec.province.code))
    ).first()
    if province is None:
        province = Province(code=spec.province.code, name=spec.province.name)
        session.add(province)
        report.count(report.created, "province")
        await session.flush()
    elif _assign(province, {"name": spec.province.name}):
        report.count(report.updated, "province")

    settings = spec.settings().model_dump(mode="json", exclude_unset=True)
    ward = (await session.exec(select(Ward).where(Ward.code == spec.ward.code))).first()
    ward_values = {
        "name": spec.ward.name,
        "kind": spec.ward.kind,
        "timezone": spec.ward.timezone,
        "province_id": province.id,
        "settings": settings,
    }
    if ward is None:
        ward = Ward(code=spec.ward.code, **ward_values)
        session.add(ward)
        report.count(report.created, "ward")
        await session.flush()
    elif _assign(ward, ward_values):
        ward.updated_at = clock.now()
        report.count(report.updated, "ward")
    assert ward.id is not None

    await _sync(
        session,
        report,
        "groups",
        ResidentialGroup,
        ward.id,
        [
            {"code": g.code, "name": g.name, "kind": g.kind, "position": i}
            for i, g in enumerate(spec.groups)
        ],
    )
    offices = await _sync(
        session,
        report,
        "offices",
        Office,
        ward.id,
        [
            {"code": o.code, "name": o.name, "name_en": o.name_en, "position": i}
            for i, o in enumerate(spec.offices)
        ],
    )
    await _sync(
        session,
        report,
        "ticket_categories",
        TicketCategory,
        ward.id,
        [
            {
                "code": c.code,
                "name": c.name,
                "name_en": c.name_en,
                "office_id": offices[c.office].id,
                "position": i,
            }
            for i, c in enumerate(spec.ticket_categories)
        ],
    )
    await _sync(
        session,
        report,
        "notice_categories",
        NoticeCategory,
        ward.id,
        [
            {"code": c.code, "name": c.name, "name_en": c.name_en, "position": i}
            for i, c in enumerate(spec.notice_categories)
        ],
    )
    if report.changed:
        await audit.record(
            session,
            actor=actor,
            action="ward.load",
            entity_type="ward",
            entity_id=ward.id,
            ward_id=ward.id,
            data={
                "file_sha256": digest,
                "created": report.created,
                "updated": report.updated,
                "deactivated": report.deactivated,
            },
        )
    await session.flush()
    return report


async def _sync(
    session: AsyncSession,
    report: LoadReport,
    kind: str,
    model: Any,
    ward_id: int,
    wanted: list[dict[str, Any]],
) -> dict[str, Any]:
    existing = {
        row.code: row for row in (await session.exec(select(model).where(model.ward_id == ward_id)))
    }
    result = {}
    for values in wanted:
        row = existing.pop(values["code"], None)
        if row is None:
            row = model(ward_id=ward_id, active=True, **values)
            session.add(row)
            report.count(report.created, kind)
        elif _assign(row, {**values, "active": True}):
            report.count(report.updated, kind)
        result[values["code"]] = row
    for row in existing.values():
        if row.active:
            row.active = False
            report.count(report.deactivated, kind)
    await session.flush()
    return result


# --- queries -----------------------------------------------------------------------


def ward_settings(ward: Ward) -> WardSettings:
    return WardSettings.model_validate(ward.settings or {})


async def list_wards(session: AsyncSession) -> list[Ward]:
    return list((await session.exec(select(Ward).order_by(col(Ward.name)))).all())


async def get_ward(session: AsyncSession, ward_id: int) -> Ward:
    ward = await session.get(Ward, ward_id)
    if ward is None:
        raise NotFound()
    return ward


async def get_ward_by_code(session: AsyncSession, code: str) -> Ward:
    ward = (await session.exec(select(Ward).where(Ward.code == code))).first()
    if ward is None:
        raise NotFound()
    return ward


async def active_groups(session: AsyncSession, ward_id: int) -> list[ResidentialGroup]:
    return list(
        (
            await session.exec(
                select(ResidentialGroup)
                .where(ResidentialGroup.ward_id == ward_id, col(ResidentialGroup.active))
                .order_by(col(ResidentialGroup.position), col(ResidentialGroup.id))
            )
        ).all()
    )


async def get_group(session: AsyncSession, group_id: int) -> ResidentialGroup:
    group = await session.get(ResidentialGroup, group_id)
    if group is None:
        raise NotFound()
    return group


async def find_group(
    session: AsyncSession, code: str, ward_code: str | None = None
) -> ResidentialGroup:
    """A group by its code; the ward code is needed only when several wards use it."""
    query = select(ResidentialGroup).where(ResidentialGroup.code == code)
    if ward_code:
        query = query.join(Ward, col(Ward.id) == ResidentialGroup.ward_id).where(
            Ward.code == ward_code
        )
    return _one(list((await session.exec(query)).all()))


async def find_office(session: AsyncSession, code: str, ward_code: str | None = None) -> Office:
    query = select(Office).where(Office.code == code)
    if ward_code:
        query = query.join(Ward, col(Ward.id) == Office.ward_id).where(Ward.code == ward_code)
    return _one(list((await session.exec(query)).all()))


def _one(rows: list[Any]) -> Any:
    if not rows:
        raise NotFound()
    if len(rows) > 1:
        raise InvalidInput(__("Several wards use this code; name the ward as well."))
    return rows[0]
