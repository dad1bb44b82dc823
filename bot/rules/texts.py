"""Words for the rule table: what each rule is, and its value as a person reads it.

Channel-neutral: the CLI uses them now, the bot's ⚖️ screen later. Every rule id of
rules.yaml has a title here (a test checks it).
"""

from __future__ import annotations

from typing import Any

from bot.i18n import N_, _, format_date, ngettext
from bot.rules.table import ResolvedRule

TITLES: dict[str, str] = {
    "vote.threshold.clause1": N_("Decision on public works funded by residents (Art. 15(1))"),
    "vote.threshold.clause2": N_("Decision on residents' contributions (Art. 15(2))"),
    "vote.threshold.clause3": N_("Decision on the village or group charter (Art. 15(3))"),
    "vote.threshold.clause4": N_("Electing or removing the group leader (Art. 15(4))"),
    "vote.threshold.clause5": N_("Electing the inspection and supervision boards (Art. 15(5))"),
    "vote.threshold.clause6": N_("Other self-management matters (Art. 15(6))"),
    "vote.threshold.ward_wide": N_("Ward-wide decision on clauses 1–2: groups in favour"),
    "vote.online_allowed_clauses": N_("Matters that may be decided online"),
    "vote.meeting_only_clauses": N_("Matters decided only at a community meeting"),
    "vote.online_consent": N_("Households that must first agree to vote online"),
    "vote.online_team_size": N_("Members of the online vote team"),
    "vote.online_record_days": N_("Online vote record sent to the ward and the Front"),
    "vote.decision_send_days": N_("Community decision sent to the ward and the Front"),
    "vote.recognition_days": N_("Recognition of a community decision"),
    "vote.forms_announce_days": N_("Opinion forms announced before they are handed out"),
    "consultation.min_days": N_("Consultation of residents open for at least"),
    "notice.min_posting_days": N_("Notice posted for at least"),
    "notice.posting_clauses": N_("Notice categories posted for a period (Art. 11)"),
    "notice.permanent_clauses": N_("Notice categories posted permanently (Art. 11)"),
    "notice.disclose_within_working_days": N_("Disclosure after the decision, at the latest"),
    "recommendation.answer_days": N_("Answer to an inspection board recommendation"),
    "complaint.time_limit_days": N_("Time limit to file a complaint"),
    "complaint.identity_required": N_("A complaint gives the complainant's name and address"),
    "complaint.accept_days": N_("Acceptance (thụ lý) of a complaint"),
    "complaint.decide_days": N_("Decision on a complaint, from acceptance"),
    "complaint.decide_days.complex": N_("Decision on a complex complaint"),
    "complaint.decide_days.remote": N_("Decision on a complaint in a remote area"),
    "complaint.decide_days.remote_complex": N_("Decision on a complex complaint in a remote area"),
    "complaint.decision_send_days": N_("Complaint decision sent to the complainant"),
    "complaint.second_complaint_days": N_("Time to file a second complaint"),
    "complaint.second_complaint_days.remote": N_("Time to file a second complaint, remote area"),
    "denunciation.identity_required": N_("A denunciation gives the denouncer's name and address"),
    "denunciation.accept_days": N_("Acceptance (thụ lý) of a denunciation"),
    "denunciation.accept_days.extended": N_("Acceptance of a denunciation, extended"),
    "denunciation.transfer_days": N_("Transfer of a denunciation outside the ward's competence"),
    "denunciation.notify_days": N_("Denouncer and denounced person told of the acceptance"),
    "denunciation.resolve_days": N_("Resolution of a denunciation, from acceptance"),
    "denunciation.extension_days": N_("Each extension of a denunciation's resolution"),
    "denunciation.extensions": N_("Extensions allowed: complex / especially complex case"),
    "denunciation.conclusion_send_days": N_("Conclusion sent to the parties"),
    "denunciation.conclusion_publish_days": N_("Conclusion published"),
    "feedback.acknowledge_days": N_("Resident told whether the matter was accepted"),
    "feedback.phan_anh.answer_days": N_("Answer to a report (phản ánh)"),
    "feedback.kien_nghi.answer_days": N_("Answer to a petition (kiến nghị)"),
    "feedback.gop_y.answer_days": N_("Answer to a suggestion (góp ý)"),
    "report.due_dates": N_("Half-year and annual report due dates"),
}

PERIODS = {"H1": N_("half-year review"), "year": N_("annual review")}


def title(rule_id: str, lang: str) -> str:
    return _(TITLES[rule_id], locale=lang) if rule_id in TITLES else rule_id


def _clauses(value: list[int], lang: str) -> str:
    numbers = ", ".join(str(n) for n in value)
    return ngettext("clause {numbers}", "clauses {numbers}", len(value), locale=lang).format(
        numbers=numbers
    )


def _share(value: dict[str, Any], of: str, lang: str) -> str:
    fraction = value["fraction"]
    if value["op"] == ">":
        text = _("more than {fraction} of all {of}", locale=lang)
    else:
        text = _("at least {fraction} of all {of}", locale=lang)
    return text.format(fraction="50%" if fraction == "1/2" else fraction, of=of)


def show_value(resolved: ResolvedRule, lang: str) -> str:
    """The value as a sentence fragment: "10 ngày làm việc", "trên 50% tổng số…"."""
    value, unit = resolved.value, resolved.unit
    if unit == "working_days":
        return ngettext("{n} working day", "{n} working days", value, locale=lang).format(n=value)
    if unit == "days":
        return ngettext("{n} day", "{n} days", value, locale=lang).format(n=value)
    if unit == "days_before":
        return ngettext("{n} day before", "{n} days before", value, locale=lang).format(n=value)
    if unit == "clauses":
        return _clauses(value, lang)
    if unit == "share_of_households":
        return _share(value, _("household representatives of the group", locale=lang), lang)
    if unit == "share_of_groups":
        return _share(value, _("groups of the ward", locale=lang), lang)
    if unit == "people":
        return _("{min} to {max} people", locale=lang).format(**value)
    if unit == "times":
        return " / ".join(str(v) for v in value.values())
    if unit == "flag":
        return _("yes", locale=lang) if value else _("no", locale=lang)
    if unit == "due_dates":
        if not value:
            return _("not set", locale=lang)
        return "; ".join(
            f"{_(PERIODS.get(item['period'], item['period']), locale=lang)}: "
            f"{item['due'][3:]}/{item['due'][:2]}"
            for item in value
        )
    return str(value)


def show_period(resolved: ResolvedRule, lang: str) -> str:
    rule = resolved.rule
    start = format_date(rule.effective_from, lang)
    if rule.effective_to is None:
        return _("from {start}", locale=lang).format(start=start)
    end = format_date(rule.effective_to, lang)
    return _("{start} to {end}", locale=lang).format(start=start, end=end)


def show_source(resolved: ResolvedRule, lang: str) -> str:
    if resolved.source.local:
        return _("ward rule (quy định của phường)", locale=lang)
    return resolved.source.cite(lang)


def show_origin(resolved: ResolvedRule, lang: str) -> str:
    return _("ward file", locale=lang) if resolved.from_ward_file else _("table", locale=lang)
