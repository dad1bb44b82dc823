"""The rule table: the data of ``rules.yaml``, dated, and the ward file's overrides.

An entry is in force from ``effective_from`` to ``effective_to`` inclusive. An entry with no
``effective_to`` ends the day before the next entry of the same id starts, so a change in
the law is appended, never edited in. A ward's overrides are checked against the entry in
force on the day asked for, so a law raising a minimum later overrules a ward file that
was valid when it was loaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any, Literal, Protocol
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot import clock

if TYPE_CHECKING:
    from bot.rules.calendar import Calendar

Unit = Literal[
    "working_days",
    "days",
    "days_before",
    "clauses",
    "people",
    "times",
    "flag",
    "share_of_households",
    "share_of_groups",
    "due_dates",
]
Policy = Literal["none", "not_below", "any"]
DAY_UNITS = ("working_days", "days")
LOCAL_LABEL = "quy định của phường"
TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")
# Where a ward file value came from, as the ward file loader locates fields.
Loc = tuple[str | int, ...]


class RuleError(Exception):
    """A question the rule table cannot answer."""


class UnknownRule(RuleError, KeyError):
    def __str__(self) -> str:
        return f"no rule has the id {self.args[0]!r}"


class NotInForce(RuleError):
    def __init__(self, rule_id: str, on: date) -> None:
        super().__init__(f"no entry of {rule_id!r} is in force on {on.isoformat()}")
        self.rule_id = rule_id
        self.on = on


class TableError(RuleError):
    """rules.yaml itself is inconsistent: a developer's mistake, caught at import by tests."""


# --- the file's schema --------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Document(_Strict):
    short: str
    short_en: str
    title: str
    effective_from: date


class _Source(_Strict):
    document: str | None = None
    article: int | None = None
    clause: int | None = None
    point: str | None = None
    phrase: str | None = None
    local: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> _Source:
        if self.local == (self.document is not None):
            raise ValueError("a source is either a document with its article or local: true")
        if self.document is not None and self.article is None:
            raise ValueError("a legal source names its article")
        return self


class _Entry(_Strict):
    id: str = Field(pattern=r"^[a-z_]+(\.[a-z0-9_]+)+$")
    value: Any
    unit: Unit
    source: _Source
    effective_from: date
    effective_to: date | None = None
    ward_override: Policy
    note: str | None = None


class _Pending(_Strict):
    document: str
    effective_from: date
    affects: list[str]


class _TableFile(_Strict):
    documents: dict[str, _Document]
    pending: list[_Pending] = Field(default_factory=list)
    rules: list[_Entry]


# --- what the API returns -------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """Where a rule comes from: a law's article, clause and point, or the ward itself."""

    law: str | None
    law_en: str | None
    title: str | None
    article: int | None
    clause: int | None
    point: str | None
    phrase: str | None
    local: bool

    def cite(self, lang: str = "vi") -> str:
        """E.g. "khoản 2 Điều 13 Luật số 10/2022/QH15", or "Law 10/2022/QH15, Art. 13(2)"."""
        if self.local:
            return LOCAL_LABEL if lang == "vi" else "ward rule (quy định của phường)"
        if lang == "vi":
            parts = []
            if self.point:
                parts.append(f"điểm {self.point}")
            if self.clause:
                parts.append(f"khoản {self.clause}")
            parts.append(f"Điều {self.article}")
            return f"{' '.join(parts)} {self.law}"
        where = f"Art. {self.article}"
        if self.clause:
            where += f"({self.clause})"
        if self.point:
            where += f"({self.point})"
        return f"{self.law_en}, {where}"

    def to_json(self) -> dict[str, Any]:
        if self.local:
            return {"local": True, "label": LOCAL_LABEL}
        return {
            "law": self.law,
            "title": self.title,
            "article": self.article,
            "clause": self.clause,
            "point": self.point,
            "phrase": self.phrase,
        }


@dataclass(frozen=True)
class Rule:
    """One dated entry of the table, as the law (or the product's local default) sets it."""

    id: str
    value: Any
    unit: str
    source: Source
    effective_from: date
    effective_to: date | None
    ward_override: str
    note: str | None

    def in_force_on(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )


@dataclass(frozen=True)
class ResolvedRule:
    """A rule as it applies to one ward on one day: the table's entry, or the ward file's
    value where the rule lets the ward set it (``from_ward_file``)."""

    rule: Rule
    value: Any
    unit: str
    from_ward_file: bool

    @property
    def id(self) -> str:
        return self.rule.id

    @property
    def source(self) -> Source:
        return self.rule.source

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.rule.id,
            "value": self.value,
            "unit": self.unit,
            "source": self.rule.source.to_json(),
            "effective_from": self.rule.effective_from.isoformat(),
            "effective_to": self.rule.effective_to.isoformat() if self.rule.effective_to else None,
            "from_ward_file": self.from_ward_file,
        }


@dataclass(frozen=True)
class Pending:
    """An amending law known to exist but not yet encoded."""

    document: str
    effective_from: date
    affects: tuple[str, ...]

    def touches(self, rule_id: str) -> bool:
        return any(
            rule_id == a or (a.endswith(".") and rule_id.startswith(a)) for a in self.affects
        )


# --- the ward file's side ---------------------------------------------------------------------


@dataclass(frozen=True)
class Override:
    """A value the ward file gives for a rule.

    ``unit`` is None for the rule's own unit. ``lenient`` marks the ward file's older
    fields (ticket_types deadlines), written when the file had to spell the law out: a value
    there that is not longer than the law's is ignored with a warning instead of refused.
    """

    value: Any
    unit: str | None = None
    where: Loc = ()
    lenient: bool = False


class WardRules(Protocol):
    """What the table needs of a ward: its overrides (bot.services.wards.WardSettings)."""

    def rule_overrides(self) -> Mapping[str, Override]: ...


@dataclass(frozen=True)
class Refusal:
    """An override the table does not apply. ``fatal``: the ward file is refused at
    ``wardbot init``; otherwise the law's value applies and the loader warns."""

    rule_id: str
    where: Loc
    message: str
    fatal: bool


# --- the table ---------------------------------------------------------------------------------


def today() -> date:
    return clock.now().astimezone(TIMEZONE).date()


def _fits_unit(value: Any, unit: str) -> bool:
    if unit in (*DAY_UNITS, "days_before"):
        # A year of working days, ten of calendar days (a notice may stay up that long).
        top = 365 if unit == "working_days" else 3650
        return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= top
    if unit == "due_dates":
        return isinstance(value, list)
    return True


def _stricter(value: Any, unit: str, rule: Rule) -> bool:
    """Whether a deadline of ``value`` ``unit`` never ends later than the rule's."""
    if isinstance(value, dict) and isinstance(rule.value, dict):
        return value.keys() == rule.value.keys() and all(
            _stricter(value[k], unit, Rule(**{**rule.__dict__, "value": rule.value[k]}))
            for k in value
        )
    if not (isinstance(value, int) and isinstance(rule.value, int)) or isinstance(value, bool):
        return False
    # N calendar days (moved to the next working day) never end after N working days.
    same_or_shorter_unit = unit == rule.unit or (unit == "days" and rule.unit == "working_days")
    return same_or_shorter_unit and value <= rule.value


class RuleTable:
    def __init__(
        self,
        entries: Iterable[Rule],
        pending: Iterable[Pending] = (),
    ) -> None:
        by_id: dict[str, list[Rule]] = {}
        for entry in entries:
            by_id.setdefault(entry.id, []).append(entry)
        self._by_id: dict[str, tuple[Rule, ...]] = {}
        for rule_id, dated in by_id.items():
            dated.sort(key=lambda r: r.effective_from)
            closed = []
            for i, entry in enumerate(dated):
                following = dated[i + 1] if i + 1 < len(dated) else None
                end = entry.effective_to
                if following is not None:
                    if following.effective_from == entry.effective_from:
                        raise TableError(f"{rule_id}: two entries start on the same day")
                    implied = following.effective_from - timedelta(days=1)
                    if end is not None and end > implied:
                        raise TableError(f"{rule_id}: entries overlap on {implied.isoformat()}")
                    end = end or implied
                if end is not None and end < entry.effective_from:
                    raise TableError(f"{rule_id}: effective_to is before effective_from")
                closed.append(Rule(**{**entry.__dict__, "effective_to": end}))
            self._by_id[rule_id] = tuple(closed)
        self._pending = tuple(pending)

    # --- loading ---

    @classmethod
    def from_yaml(cls, text: str, *, extra: Iterable[Mapping[str, Any]] = ()) -> RuleTable:
        """A table from the text of a rules file, with ``extra`` entries appended (tests)."""
        raw = yaml.safe_load(text)
        raw["rules"] = [*raw.get("rules", []), *extra]
        try:
            data = _TableFile.model_validate(raw)
        except ValidationError as exc:
            raise TableError(str(exc)) from None
        entries = []
        for item in data.rules:
            src = item.source
            document = data.documents.get(src.document) if src.document else None
            if src.document and document is None:
                raise TableError(f"{item.id}: no document {src.document!r}")
            if document is not None and item.effective_from < document.effective_from:
                raise TableError(f"{item.id}: in force before its document")
            if not _fits_unit(item.value, item.unit):
                raise TableError(f"{item.id}: {item.value!r} is not a value in {item.unit}")
            if item.ward_override == "not_below" and item.unit not in DAY_UNITS:
                raise TableError(f"{item.id}: only a number of days can be a minimum")
            entries.append(
                Rule(
                    id=item.id,
                    value=item.value,
                    unit=item.unit,
                    source=Source(
                        law=document.short if document else None,
                        law_en=document.short_en if document else None,
                        title=document.title if document else None,
                        article=src.article,
                        clause=src.clause,
                        point=src.point,
                        phrase=src.phrase,
                        local=src.local,
                    ),
                    effective_from=item.effective_from,
                    effective_to=item.effective_to,
                    ward_override=item.ward_override,
                    note=item.note,
                )
            )
        pending = [Pending(p.document, p.effective_from, tuple(p.affects)) for p in data.pending]
        return cls(entries, pending)

    @classmethod
    def default_text(cls) -> str:
        return (files("bot.rules") / "rules.yaml").read_text(encoding="utf-8")

    # --- questions ---

    def ids(self) -> list[str]:
        return list(self._by_id)

    def history(self, rule_id: str) -> tuple[Rule, ...]:
        """Every dated entry of the rule, oldest first, future ones included."""
        try:
            return self._by_id[rule_id]
        except KeyError:
            raise UnknownRule(rule_id) from None

    def get(self, rule_id: str, on: date | None = None) -> Rule:
        """The table's entry in force on ``on`` (today in Vietnam by default)."""
        on = on or today()
        for entry in self.history(rule_id):
            if entry.in_force_on(on):
                return entry
        raise NotInForce(rule_id, on)

    def resolve(
        self, rule_id: str, *, on: date | None = None, ward: WardRules | None = None
    ) -> ResolvedRule:
        rule = self.get(rule_id, on)
        override = ward.rule_overrides().get(rule_id) if ward is not None else None
        if override is None or self._refusal(rule, override) is not None:
            return ResolvedRule(rule, rule.value, rule.unit, False)
        unit = override.unit or rule.unit
        if override.value == rule.value and unit == rule.unit:
            return ResolvedRule(rule, rule.value, rule.unit, False)
        return ResolvedRule(rule, override.value, unit, True)

    def value(self, rule_id: str, *, on: date | None = None, ward: WardRules | None = None) -> Any:
        return self.resolve(rule_id, on=on, ward=ward).value

    def in_force(
        self, on: date | None = None, *, ward: WardRules | None = None
    ) -> list[ResolvedRule]:
        """Every rule in force on ``on``, in the table's order, as it applies to ``ward``."""
        on = on or today()
        result = []
        for rule_id, dated in self._by_id.items():
            if any(entry.in_force_on(on) for entry in dated):
                result.append(self.resolve(rule_id, on=on, ward=ward))
        return result

    def pending(self, on: date | None = None) -> list[Pending]:
        """Amending laws in force on ``on`` whose changes the table does not yet hold."""
        on = on or today()
        return [p for p in self._pending if p.effective_from <= on]

    def check(self, overrides: Mapping[str, Override], *, on: date | None = None) -> list[Refusal]:
        """What the table would refuse of a ward file's overrides on ``on``."""
        on = on or today()
        refusals = []
        for rule_id, override in overrides.items():
            if rule_id not in self._by_id:
                refusals.append(
                    Refusal(rule_id, override.where, f"no rule has the id {rule_id!r}", True)
                )
                continue
            try:
                rule = self.get(rule_id, on)
            except NotInForce as exc:
                refusals.append(Refusal(rule_id, override.where, str(exc), True))
                continue
            refusal = self._refusal(rule, override)
            if refusal is not None:
                refusals.append(refusal)
        return refusals

    def _refusal(self, rule: Rule, override: Override) -> Refusal | None:
        unit = override.unit or rule.unit
        value = override.value
        if value == rule.value and unit == rule.unit:
            return None
        cite = rule.source.cite("en")
        phrase = f': "{rule.source.phrase}"' if rule.source.phrase else ""
        shown = _show(rule.value, rule.unit)

        def refuse(message: str, fatal: bool = True) -> Refusal:
            return Refusal(rule.id, override.where, message, fatal)

        if not _fits_unit(value, unit) or (unit != rule.unit and unit not in DAY_UNITS):
            return refuse(f"{rule.id}: {value!r} is not a valid value in {unit}")
        if rule.ward_override == "any":
            return None
        if rule.ward_override == "not_below":
            # N working days always span at least N calendar days; not the other way.
            comparable = unit == rule.unit or (unit == "working_days" and rule.unit == "days")
            if not comparable:
                return refuse(
                    f"{rule.id}: {cite} counts {rule.unit.replace('_', ' ')}{phrase}; "
                    f"give the value in {rule.unit.replace('_', ' ')}"
                )
            if value < rule.value:
                return refuse(
                    f"{rule.id}: {_show(value, unit)} is below the legal minimum of {shown} "
                    f"({cite}{phrase}); the ward may lengthen it, never shorten it"
                )
            return None
        if override.lenient and _stricter(value, unit, rule):
            return refuse(
                f"{rule.id}: {_show(value, unit)} is ignored: {cite} sets {shown}{phrase}; "
                "remove this value from the ward file",
                fatal=False,
            )
        if rule.unit == "flag":
            return refuse(
                f"{rule.id}: the law requires it ({cite}{phrase}); a ward cannot waive it"
            )
        return refuse(
            f"{rule.id}: the law sets {shown} ({cite}{phrase}) and a ward file cannot change it"
        )

    def due(
        self,
        rule_id: str,
        start: date,
        *,
        on: date | None = None,
        ward: WardRules | None = None,
        calendar: Calendar | None = None,
    ) -> date:
        """The last day of the rule's period counted from ``start`` (Civil Code Art. 147–148:
        ``start`` itself is not counted; a period ending on a day off ends on the next
        working day). The rule in force on ``on`` (default: ``start``) applies, on
        ``calendar`` (default: the ward's, or the national one)."""
        from bot.rules.calendar import Calendar
        from bot.services import workdays  # imports the calendar, not this module

        resolved = self.resolve(rule_id, on=on or start, ward=ward)
        if resolved.unit not in DAY_UNITS:
            raise RuleError(f"{rule_id} is not a period of days")
        if calendar is None:
            calendar = Calendar.for_ward(ward)
        return workdays.add_days(
            start, resolved.value, working_days=resolved.unit == "working_days", calendar=calendar
        )


def _show(value: Any, unit: str) -> str:
    if unit in DAY_UNITS:
        return f"{value} {unit.replace('_', ' ')}"
    return repr(value)


@cache
def default_table() -> RuleTable:
    """The shipped table (bot/rules/rules.yaml), read once."""
    return RuleTable.from_yaml(RuleTable.default_text())
