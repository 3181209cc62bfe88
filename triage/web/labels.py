"""What people read in place of the domain's codes, in the reader's language.

The domain stores and passes codes (``spouse``, ``threat_to_kill``, ``karaganda``); this module
holds one table per kind of code, translated when shown (``lazy_gettext``). Templates use one
filter: ``{{ case.region|label("region") }}``; Python code in the web layer uses ``label_of``,
``label_for`` (a vocabulary's member) and ``choices``. Dates and times are shown with ``|date``,
``|datetime`` and ``|time`` in the reader's locale, and a sealed report payload with
``payload_fields``: its fields in the order of the form that collects them, each value labelled
or formatted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from flask import Flask
from flask_babel import format_date, format_datetime, format_time, get_locale, gettext
from flask_babel import lazy_gettext as _l

from .. import measures, screening
from ..documents import FIELDS, DocumentKind
from ..models import (
    AlertKind,
    ConsentAnswer,
    ConsentMethod,
    CorroborationMethod,
    DeliveryChannel,
    DeliveryStatus,
    HandoverStatus,
    RecipientKind,
)
from ..review.cases import CaseOutcome
from ..scoring import Answer
from ..vocab import (
    CaseStatus,
    Category,
    DecisionStatus,
    Language,
    MeasureTier,
    Platform,
    Region,
    Relationship,
    ReporterKind,
    ReportStatus,
    RiskLevel,
    Role,
    ScreenedStatus,
    ScreeningVerdict,
    SourceKind,
    Verification,
)
from .deps import rules
from .i18n import current_language

#: A label table: code → label (lazy, translated when read), in the order it is offered.
Table = Mapping[str, Any]

ROLE: Table = {
    Role.CASEWORKER: _l("Caseworker"),
    Role.REVIEWER: _l("Reviewer"),
    Role.SUPERVISOR: _l("Supervisor"),
    Role.AUDITOR: _l("Auditor"),
    Role.ADMIN: _l("Administrator"),
}

REGION: Table = {
    Region.ABAI: _l("Abai Region"),
    Region.AKMOLA: _l("Akmola Region"),
    Region.AKTOBE: _l("Aktobe Region"),
    Region.ALMATY_REGION: _l("Almaty Region"),
    Region.ATYRAU: _l("Atyrau Region"),
    Region.EAST_KAZAKHSTAN: _l("East Kazakhstan Region"),
    Region.JAMBYL: _l("Jambyl Region"),
    Region.JETISU: _l("Jetisu Region"),
    Region.KARAGANDA: _l("Karaganda Region"),
    Region.KOSTANAY: _l("Kostanay Region"),
    Region.KYZYLORDA: _l("Kyzylorda Region"),
    Region.MANGYSTAU: _l("Mangystau Region"),
    Region.NORTH_KAZAKHSTAN: _l("North Kazakhstan Region"),
    Region.PAVLODAR: _l("Pavlodar Region"),
    Region.TURKISTAN: _l("Turkistan Region"),
    Region.ULYTAU: _l("Ulytau Region"),
    Region.WEST_KAZAKHSTAN: _l("West Kazakhstan Region"),
    Region.ASTANA: _l("Astana (city)"),
    Region.ALMATY: _l("Almaty (city)"),
    Region.SHYMKENT: _l("Shymkent (city)"),
}

SOURCE_KIND: Table = {
    SourceKind.DIRECT: _l("Direct"),
    SourceKind.MEDIA: _l("Media"),
    SourceKind.ONLINE: _l("Online"),
}

VERIFICATION: Table = {
    Verification.UNVERIFIED: _l("Unverified"),
    Verification.CORROBORATED: _l("Corroborated"),
    Verification.UNFOUNDED: _l("Unfounded"),
}

#: Highest first: the order the review pages offer levels in.
LEVEL: Table = {
    RiskLevel.HIGH: _l("High"),
    RiskLevel.MEDIUM: _l("Medium"),
    RiskLevel.STANDARD: _l("Standard"),
}

CASE_STATUS: Table = {CaseStatus.OPEN: _l("open"), CaseStatus.CLOSED: _l("closed")}

REPORT_STATUS: Table = {
    ReportStatus.RECEIVED: _l("Received"),
    ReportStatus.LINKED: _l("Linked to a case"),
    ReportStatus.CLOSED: _l("Closed"),
}

#: What screening made of a feed item (``Report.screening_verdict``, ``ScreenedItem.verdict``).
SCREENING_VERDICT: Table = {
    ScreeningVerdict.CANDIDATE: _l("candidate"),
    ScreeningVerdict.REVIEW: _l("review band"),
    ScreeningVerdict.NOT_CANDIDATE: _l("not a candidate"),
}

#: Where a screened-out feed item stands.
SCREENED_STATUS: Table = {
    ScreenedStatus.WAITING: _l("waiting"),
    ScreenedStatus.PROMOTED: _l("promoted to a report"),
    ScreenedStatus.EXPIRED: _l("expired"),
}

#: What a probable match was found on (blind-index kinds).
MATCH_KIND: Table = {
    "victim": _l("the victim's name and birth date"),
    "aggressor": _l("the alleged aggressor's name and birth date"),
    "iin": _l("an IIN"),
    "phone": _l("a phone number"),
}

REPORTER: Table = {
    ReporterKind.VICTIM: _l("The victim herself or himself"),
    ReporterKind.RELATIVE: _l("A relative"),
    ReporterKind.NEIGHBOUR: _l("A neighbour"),
    ReporterKind.WITNESS: _l("A witness"),
    ReporterKind.PROFESSIONAL: _l("A professional (doctor, teacher, social worker, hotline)"),
    ReporterKind.ANONYMOUS: _l("Anonymous"),
}

CATEGORY: Table = {
    Category.BATTERY: _l("Battery (beatings)"),
    Category.MINOR_HARM: _l("Minor harm to health"),
    Category.SERIOUS_HARM: _l("Moderate or serious harm"),
    Category.KILLING: _l("Attempted or completed killing"),
    Category.THREAT: _l("Threat (to kill, to harm, with a weapon)"),
    Category.PERSECUTION: _l("Persecution (stalking, following, monitoring, unwanted contact)"),
    Category.SEXUAL_HARASSMENT: _l("Sexual harassment"),
    Category.SEXUAL_VIOLENCE: _l("Sexual violence"),
    Category.PSYCHOLOGICAL: _l("Psychological violence (humiliation, intimidation, control)"),
    Category.ECONOMIC: _l("Economic violence (taking money or documents, denying means)"),
    Category.CHILDREN: _l("Violence witnessed by or directed at children"),
}

RELATIONSHIP: Table = {
    Relationship.SPOUSE: _l("Spouse"),
    Relationship.FORMER_SPOUSE: _l("Former spouse"),
    Relationship.PARTNER: _l("Partner living together"),
    Relationship.FORMER_PARTNER: _l("Former partner"),
    Relationship.COMMON_CHILD: _l("Person with a common child"),
    Relationship.PARENT: _l("Parent"),
    Relationship.ADULT_CHILD: _l("Child (adult)"),
    Relationship.SIBLING: _l("Sibling"),
    Relationship.OTHER_RELATIVE: _l("Other relative"),
    Relationship.IN_LAW: _l("In-law"),
    Relationship.GUARDIAN: _l("Guardian or carer"),
    Relationship.HOUSEHOLD_MEMBER: _l("Other household member"),
}

#: Brand names stay as the brands write them; only the generic ones are translated.
PLATFORM: Table = {
    Platform.TELEGRAM: "Telegram",
    Platform.INSTAGRAM: "Instagram",
    Platform.FACEBOOK: "Facebook",
    Platform.VK: "VK",
    Platform.TIKTOK: "TikTok",
    Platform.X: "X",
    Platform.WHATSAPP: "WhatsApp",
    Platform.THREADS: "Threads",
    Platform.YOUTUBE: "YouTube",
    Platform.FORUM: _l("Forum"),
    Platform.OTHER: _l("Other platform"),
}

LANGUAGE: Table = {
    Language.RU: _l("Russian"),
    Language.KK: _l("Kazakh"),
    Language.EN: _l("English"),
    Language.OTHER: _l("Other"),
}

#: A reporter's yes / no / not known (children present, may she be contacted, consent).
YES_NO_UNKNOWN: Table = {"yes": _l("Yes"), "no": _l("No"), "unknown": _l("Not known")}

#: A checklist answer.
ANSWER: Table = {Answer.YES: _l("Yes"), Answer.NO: _l("No"), Answer.UNKNOWN: _l("Unknown")}

CORROBORATION_METHOD: Table = {
    CorroborationMethod.SECOND_SOURCE: _l("A second, independent source"),
    CorroborationMethod.POLICE_CHECK: _l("A police check at the address"),
    CorroborationMethod.VICTIM_CONTACT: _l("Contact with the victim"),
    CorroborationMethod.RECORDS: _l("Medical or official records"),
}

CASE_OUTCOME: Table = {
    CaseOutcome.MEASURES_TAKEN: _l("Measures taken"),
    CaseOutcome.NO_MEASURE_NEEDED: _l("No measure needed"),
    CaseOutcome.REFERRED_ELSEWHERE: _l("Referred to another authority"),
    CaseOutcome.VICTIM_DECLINED: _l("The victim declined help"),
    CaseOutcome.DUPLICATE: _l("Duplicate of another case"),
    CaseOutcome.UNFOUNDED: _l("Unfounded report"),
}

DECISION_STATUS: Table = {
    DecisionStatus.PROPOSED: _l("Proposed"),
    DecisionStatus.AWAITING_APPROVAL: _l("Awaiting approval"),
    DecisionStatus.APPROVED: _l("Approved"),
    DecisionStatus.REJECTED: _l("Rejected"),
    DecisionStatus.IN_EFFECT: _l("In effect"),
    DecisionStatus.ENDED: _l("Ended"),
    DecisionStatus.WITHDRAWN: _l("Withdrawn"),
}

TIER: Table = {
    MeasureTier.SUPPORTIVE: _l("supportive"),
    MeasureTier.PREVENTIVE: _l("preventive"),
    MeasureTier.COERCIVE: _l("coercive"),
    MeasureTier.NONE: _l("no measure"),
}

#: Why a proposal waits for a supervisor (``Decision.because``).
BECAUSE: Table = {
    "coercive": _l("coercive measure"),
    "no_victim_complaint": _l("no complaint from the victim"),
}

#: Measures and what the decision form tells about them: the catalogue's English text (marked
#: with ``N_`` in ``triage.measures``, where DOMAIN.md's wording lives), translated here.
MEASURE: Table = {code: _l(m.label) for code, m in measures.MEASURES.items()}
MEASURE_NOTES: Table = {code: _l(m.notes) for code, m in measures.MEASURES.items() if m.notes}

#: Screening signals a report carries (``Report.signals``), and the categories' stand-ins.
SIGNAL: Table = {
    "violence": _l("violence"),
    "family": _l("family setting"),
    "weapon": _l("weapon"),
    "strangulation": _l("strangulation"),
    "threat_to_kill": _l("threat to kill"),
    "threat": _l("threat"),
    "death": _l("death"),
    "killing": _l("killing"),
    "children": _l("children"),
    "pregnancy": _l("pregnancy"),
    "stalking": _l("stalking"),
    "sexual_harassment": _l("sexual harassment"),
    "sexual_violence": _l("sexual violence"),
    "injury": _l("injury"),
    "prior_incidents": _l("earlier incidents"),
    "repeated_violence": _l("repeated violence"),
}

#: The risk checklist's items by code (the checklist file holds the English text).
CHECKLIST_ITEM: Table = {
    "threat_to_kill": _l(
        "The aggressor has threatened to kill the victim, the children or someone close"
    ),
    "strangulation": _l("The aggressor has ever strangled, choked or suffocated the victim"),
    "weapon": _l("A weapon (knife, firearm, other object) was used or threatened"),
    "firearm_access": _l("The aggressor owns or can get a firearm"),
    "escalation": _l("The violence is becoming more frequent or more severe"),
    "separation": _l("The victim has recently separated or is trying to leave"),
    "pregnancy_or_infant": _l("The victim is pregnant or has a baby under one year"),
    "stalking": _l("The aggressor follows, watches, monitors or harasses the victim"),
    "sexual_violence": _l("The aggressor has forced or coerced the victim sexually"),
    "injury_needing_care": _l("The victim was injured and needed medical care"),
    "order_breach": _l("The aggressor has broken a protective order or court-set requirements"),
    "victim_fears_death": _l("The victim believes the aggressor could kill her"),
    "prior_police_calls": _l("The police have been called to this family before"),
    "children_involved": _l("Children were present, hurt or threatened"),
    "substance_misuse": _l("The aggressor misuses alcohol or drugs"),
    "suicide_threat": _l("The aggressor has threatened or attempted suicide"),
    "coercive_control": _l(
        "The aggressor controls the victim's money, phone, documents or movements"
    ),
    "isolation_or_dependence": _l(
        "The victim is isolated or depends on the aggressor (no income, disability, "
        "no family nearby)"
    ),
    "violence_to_others": _l("The aggressor has been violent to others or to animals"),
    "stepchild_in_home": _l("A child in the home is not the aggressor's own"),
    "unemployment": _l("The aggressor is unemployed"),
    "jealousy": _l(
        'The aggressor is violently and constantly jealous ("if I can\'t have you, no one can")'
    ),
}

#: The fields of a sealed report payload, as people read them.
PAYLOAD_FIELD: Table = {
    "reporter": _l("Reporter"),
    "reporter_name": _l("Reporter's name"),
    "reporter_contact": _l("Reporter's contact"),
    "victim": _l("Victim"),
    "aggressor": _l("Alleged aggressor"),
    "name": _l("Name"),
    "birth_date": _l("Date of birth"),
    "age": _l("Age"),
    "iin": _l("IIN"),
    "phone": _l("Phone"),
    "address": _l("Address"),
    "relationship": _l("Relationship"),
    "place": _l("Place"),
    "children_present": _l("Children present"),
    "victim_complaint": _l("Complaint filed by the victim"),
    "may_contact": _l("May be contacted"),
    "safe_contact": _l("Safe contact"),
    "consent_support_services": _l("Consents to support services"),
    "wishes": _l("Her wishes"),
    "narrative": _l("Narrative"),
    "danger_now": _l("Someone is in danger right now (the public reporter says)"),
    "outlet": _l("Outlet"),
    "url": _l("URL"),
    "published_on": _l("Published"),
    "language": _l("Language"),
    "headline": _l("Headline"),
    "text": _l("Text"),
    "people": _l("People named"),
    "platform": _l("Platform"),
    "post_url": _l("Post URL"),
    "author_handle": _l("Author"),
    "captured_at": _l("Captured at"),
    "captured_text": _l("Captured text"),
    "additions": _l("Added information"),
    "at": _l("When"),
    "by": _l("By (user id)"),
}

DOCUMENT_KIND: Table = {
    "protective_order": _l("Protective order"),
    "petition_special_requirements": _l(
        "Petition to the court for special requirements on the aggressor's behaviour"
    ),
    "petition_compulsory_assistance": _l(
        "Petition for court-ordered compulsory medical or psychological assistance"
    ),
    "referral_investigators": _l("Referral to investigators"),
    "referral_support": _l("Referral to a support service"),
    "handover": _l("Hand-over of a case"),
}

RECIPIENT_KIND: Table = {
    "support_service": _l("Support service"),
    "police": _l("Police"),
    "court": _l("Court"),
}

CONSENT_ANSWER: Table = {"yes": _l("She agrees"), "no": _l("She refuses")}

CONSENT_METHOD: Table = {
    "her_own_report": _l("In her own report"),
    "in_person": _l("In person"),
    "phone": _l("By phone"),
    "written": _l("In writing"),
}

HANDOVER_STATUS: Table = {
    "awaiting_approval": _l("Waits for a supervisor"),
    "issued": _l("Handed over"),
    "rejected": _l("Rejected"),
    "withdrawn": _l("Withdrawn"),
}

#: Alerts (``triage.notify``): what fell due, how it went out, where its delivery stands.
ALERT_KIND: Table = {
    "deadline": _l("High-risk case past its deadline"),
    "follow_up": _l("Follow-up due"),
    "approval": _l("Waiting too long for approval"),
}
DELIVERY_CHANNEL: Table = {"email": _l("E-mail"), "webhook": _l("Webhook")}
DELIVERY_STATUS: Table = {
    "pending": _l("Waiting to be sent"),
    "sent": _l("Sent"),
    "failed": _l("Failed, will be retried"),
    "dead": _l("Dead letter"),
}

#: The fields a document or hand-over holds (``triage.documents.FIELDS``).
DOCUMENT_FIELD: Table = {
    "victim.name": _l("Victim: name"),
    "victim.birth_date": _l("Victim: date of birth"),
    "victim.iin": _l("Victim: IIN"),
    "victim.phone": _l("Victim: phone"),
    "victim.address": _l("Victim: address"),
    "victim.safe_contact": _l("Victim: how to contact her safely"),
    "victim.wishes": _l("Victim: her wishes"),
    "aggressor.name": _l("Alleged aggressor: name"),
    "aggressor.birth_date": _l("Alleged aggressor: date of birth"),
    "aggressor.iin": _l("Alleged aggressor: IIN"),
    "aggressor.phone": _l("Alleged aggressor: phone"),
    "aggressor.address": _l("Alleged aggressor: address"),
    "relationship": _l("Relationship"),
    "incident.occurred_on": _l("Date of the incident"),
    "incident.place": _l("Place of the incident"),
    "incident.categories": _l("Kinds of violence"),
    "incident.children_present": _l("Children present"),
    "incident.narrative": _l("What happened"),
    "sources": _l("Sources (media and online)"),
    "decision.rationale": _l("Grounds in fact (the rationale)"),
    "decisions": _l("Measures taken"),
}

#: The statistics' tables (``triage.stats.TABLES``): the title each is shown under.
STATS_TABLE: Table = {
    "reports_by_region": _l("Reports by region and source"),
    "reports_by_level": _l("Reports by risk level"),
    "reports_by_week": _l("Reports by week"),
    "decisions_by_measure": _l("Decisions by measure and outcome"),
    "time_to_first_decision": _l("Time from report to first decision"),
    "overdue_cases": _l("Overdue cases"),
    "verification": _l("Verification of media and online reports"),
}

#: What each statistics table counts (docs/statistics.md says it at length).
STATS_NOTE: Table = {
    "reports_by_region": _l("Reports received in the period, by the region the report names."),
    "reports_by_level": _l(
        "Reports received in the period, by the risk level of their case now (assessed, or "
        "provisional until a checklist is scored)."
    ),
    "reports_by_week": _l(
        "Reports received in the period, by ISO week (Monday to Sunday, UTC); the first and "
        "last weeks may be partly outside the period."
    ),
    "decisions_by_measure": _l(
        "Decisions proposed in the period, by measure and where each stands now."
    ),
    "time_to_first_decision": _l(
        "Cases opened in the period that have a decision in effect: how many, and the median "
        "time from the case's first report to its first decision in effect (when it was "
        "approved or, if it needed no approval, proposed), by the case's risk level now. A "
        "median of fewer than 5 cases is not shown."
    ),
    "overdue_cases": _l(
        "Open cases past their response deadline with no decision in effect, as of now, "
        "whatever the period."
    ),
    "verification": _l(
        "Media and online reports received in the period whose source was corroborated or "
        "found unfounded, and the share found unfounded."
    ),
}

#: The statistics' own row and column codes.
STATS_CODE: Table = {
    "none": _l("No region recorded"),
    "total": _l("Total"),
    "median_hours": _l("Median, hours"),
    "cases": _l("Cases with a decision"),
    "share_unfounded": _l("Unfounded, share of verified (%)"),
    # the headings of the tables' row columns, by the kind of code in them
    "region": _l("Region"),
    "level": _l("Risk level"),
    "week": _l("Week"),
    "measure": _l("Measure"),
    "source_kind": _l("Source"),
}

#: Every table by the name templates give it: ``{{ code|label("relationship") }}``.
TABLES: Mapping[str, Table] = {
    "role": ROLE,
    "region": REGION,
    "source_kind": SOURCE_KIND,
    "verification": VERIFICATION,
    "level": LEVEL,
    "case_status": CASE_STATUS,
    "report_status": REPORT_STATUS,
    "screening_verdict": SCREENING_VERDICT,
    "screened_status": SCREENED_STATUS,
    "match_kind": MATCH_KIND,
    "reporter": REPORTER,
    "category": CATEGORY,
    "relationship": RELATIONSHIP,
    "platform": PLATFORM,
    "language": LANGUAGE,
    "yes_no_unknown": YES_NO_UNKNOWN,
    "answer": ANSWER,
    "corroboration_method": CORROBORATION_METHOD,
    "case_outcome": CASE_OUTCOME,
    "decision_status": DECISION_STATUS,
    "tier": TIER,
    "because": BECAUSE,
    "measure": MEASURE,
    "measure_notes": MEASURE_NOTES,
    "signal": SIGNAL,
    "checklist_item": CHECKLIST_ITEM,
    "stats_table": STATS_TABLE,
    "stats_note": STATS_NOTE,
    "stats_code": STATS_CODE,
    "payload_field": PAYLOAD_FIELD,
    "document_kind": DOCUMENT_KIND,
    "recipient_kind": RECIPIENT_KIND,
    "consent_answer": CONSENT_ANSWER,
    "consent_method": CONSENT_METHOD,
    "handover_status": HANDOVER_STATUS,
    "alert_kind": ALERT_KIND,
    "delivery_channel": DELIVERY_CHANNEL,
    "delivery_status": DELIVERY_STATUS,
    "document_field": DOCUMENT_FIELD,
}

#: The domain's vocabularies each table must cover in full (checked by the tests).
COVERS: Mapping[str, Iterable[str]] = {
    "role": Role,
    "region": Region,
    "source_kind": SourceKind,
    "verification": Verification,
    "level": RiskLevel,
    "case_status": CaseStatus,
    "report_status": ReportStatus,
    "screening_verdict": ScreeningVerdict,
    "screened_status": ScreenedStatus,
    "reporter": ReporterKind,
    "category": Category,
    "relationship": Relationship,
    "platform": Platform,
    "language": Language,
    "answer": Answer,
    "corroboration_method": CorroborationMethod,
    "case_outcome": CaseOutcome,
    "decision_status": DecisionStatus,
    "tier": MeasureTier,
    "measure": measures.MEASURES,
    "signal": screening.SIGNAL_KINDS,
    "document_kind": DocumentKind,
    "recipient_kind": RecipientKind,
    "consent_answer": ConsentAnswer,
    "consent_method": ConsentMethod,
    "handover_status": HandoverStatus,
    "alert_kind": AlertKind,
    "delivery_channel": DeliveryChannel,
    "delivery_status": DeliveryStatus,
    "document_field": FIELDS,
}


def label_of(kind: str, value: object, default: object = None) -> str:
    """The label of ``value`` in table ``kind``, in the reader's language; ``default`` (or the
    value itself) where the table has none, so that an unknown code still shows."""
    if value is None:
        return ""
    found = TABLES[kind].get(str(value))
    if found is None:
        return str(value if default is None else default)
    return str(found)


#: Each vocabulary's table, so that a member finds its own label (``label_for``).
_TABLE_OF: Mapping[type, str] = {
    codes: kind for kind, codes in COVERS.items() if isinstance(codes, type)
}


def label_for(member: StrEnum) -> str:
    """The label of a vocabulary's member (``Role.REVIEWER``, ``Region.ABAI``…)."""
    return label_of(_TABLE_OF[type(member)], member)


def choices(kind: str, blank: object = None) -> list[tuple[str, str]]:
    """The table as select choices, in its order, after a blank choice if one is given."""
    head = [("", str(blank))] if blank is not None else []
    return head + [(str(code), str(text)) for code, text in TABLES[kind].items()]


# -- dates and times -----------------------------------------------------------------------------


def _moment_pattern() -> str:
    """The locale's medium date with its short time: "Mar 5, 2026, 2:30 PM", "5 мар. 2026 г.,
    14:30", "2026 ж. 05 нау., 14:30" (no seconds: nobody reads them here)."""
    locale = get_locale()
    if locale is None:
        return "medium"
    return str(locale.datetime_formats["medium"]).format(
        locale.time_formats["short"].pattern, locale.date_formats["medium"].pattern
    )


def _parsed(value: object) -> date | datetime | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            if "T" in value or " " in value.strip():
                return datetime.fromisoformat(value.replace("Z", "+00:00"))
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def show_date(value: object) -> str:
    """A date (or an ISO date text) in the reader's locale; "" for none."""
    parsed = _parsed(value)
    if parsed is None:
        return "" if value in (None, "") else str(value)
    day = parsed.date() if isinstance(parsed, datetime) else parsed
    return str(format_date(day, "medium"))


def show_datetime(value: object) -> str:
    """A moment (or an ISO date-time text) in the reader's locale and the configured time zone
    (UTC); a bare date is shown as a date."""
    parsed = _parsed(value)
    if parsed is None:
        return "" if value in (None, "") else str(value)
    if not isinstance(parsed, datetime):
        return show_date(parsed)
    return str(format_datetime(parsed, _moment_pattern()))


def show_time(value: object) -> str:
    """The time of day of a moment in the reader's locale ("2:30 PM", "14:30")."""
    parsed = _parsed(value)
    if not isinstance(parsed, datetime):
        return "" if value in (None, "") else str(value)
    return str(format_time(parsed, "short"))


# -- sealed report payloads ------------------------------------------------------------------------

#: The payload fields of each source kind in the order its form asks for them
#: (templates/intake/direct.html, media.html, online.html); then the information added later.
FORM_ORDER: Mapping[str, tuple[str, ...]] = {
    "direct": (
        "reporter",
        "reporter_name",
        "reporter_contact",
        "victim",
        "aggressor",
        "relationship",
        "place",
        "children_present",
        "narrative",
        "victim_complaint",
        "may_contact",
        "safe_contact",
        "consent_support_services",
        "wishes",
        "additions",
    ),
    "media": (
        "outlet",
        "url",
        "published_on",
        "language",
        "headline",
        "text",
        "people",
        "additions",
    ),
    "online": (
        "platform",
        "post_url",
        "author_handle",
        "captured_at",
        "captured_text",
        "additions",
    ),
    "person": ("name", "birth_date", "age", "iin", "phone", "address"),
    "addition": ("at", "by", "text"),
}

#: The order of the records nested under a field.
_NESTED = {"victim": "person", "aggressor": "person", "additions": "addition"}
#: Fields whose values are codes of a table, or dates and moments.
_VALUE_TABLE = {
    "reporter": "reporter",
    "relationship": "relationship",
    "children_present": "yes_no_unknown",
    "may_contact": "yes_no_unknown",
    "consent_support_services": "yes_no_unknown",
    "language": "language",
    "platform": "platform",
}
_DATES = frozenset({"birth_date", "published_on"})
_MOMENTS = frozenset({"captured_at", "at"})
_LONG_TEXT = 160


#: The payload fields that screening reads (``intake.service._screen``), by source kind.
SCREENED_FIELDS = frozenset(
    {("direct", "narrative"), ("media", "headline"), ("media", "text"), ("online", "captured_text")}
)


@dataclass(frozen=True)
class Shown:
    """One field of a payload as shown: a text (``text``), a nested record (``fields``) or a
    list (``items``, each a ``Shown`` without a label)."""

    label: str
    text: str | None = None
    long: bool = False
    fields: tuple[Shown, ...] | None = None
    items: tuple[Shown, ...] | None = None
    #: A text screening reads (a narrative, an article, a post): shown with its marks.
    screened: bool = False


def _ordered(record: Mapping[str, Any], order: Iterable[str]) -> list[str]:
    known = [key for key in order if key in record]
    return known + sorted(key for key in record if key not in known)


def _value(key: str, value: Any, record_kind: str) -> Shown:
    # A field no table knows (an older payload's) is shown by its name, humanised.
    label = label_of("payload_field", key, key.replace("_", " ").capitalize()) if key else ""
    if isinstance(value, Mapping):
        nested = _NESTED.get(key, record_kind)
        return Shown(label, fields=tuple(_fields(value, nested)))
    if isinstance(value, list | tuple):
        nested = _NESTED.get(key, record_kind)
        return Shown(label, items=tuple(_value("", item, nested) for item in value))
    if value is True or value is False:
        return Shown(label, text=str(gettext("yes") if value else gettext("no")))
    if key in _VALUE_TABLE:
        return Shown(label, text=label_of(_VALUE_TABLE[key], value))
    if key in _DATES:
        return Shown(label, text=show_date(value))
    if key in _MOMENTS:
        return Shown(label, text=show_datetime(value))
    text = "" if value is None else str(value)
    long = "\n" in text or len(text) > _LONG_TEXT
    screened = (record_kind, key) in SCREENED_FIELDS
    return Shown(label, text=text, long=long or screened, screened=screened)


def _fields(record: Mapping[str, Any], kind: str) -> list[Shown]:
    order = FORM_ORDER.get(kind, ())
    return [_value(key, record[key], kind) for key in _ordered(record, order)]


def payload_fields(payload: Mapping[str, Any] | None, source_kind: str) -> list[Shown]:
    """A report's sealed payload as labelled fields in the order of its form (fields no form
    asks for come last, by name), codes labelled, dates in the reader's locale."""
    return _fields(payload or {}, source_kind)


def _label_filter(value: object, kind: str, default: object = None) -> str:
    return label_of(kind, value, default)


def show_grounds(codes: Iterable[str] | None) -> list[str]:
    """A decision's legal grounds as the reader's language cites them (short act name, article,
    title); a code the configured list no longer has is shown as it is."""
    legal, language = rules().legal, current_language()
    shown = []
    for code in codes or ():
        ground = legal.get(code)
        shown.append(ground.short_citation(language) if ground else code)
    return shown


def show_recipient(code: str | None) -> str:
    """A hand-over recipient's name in the reader's language, from the configured directory
    (its code where the directory no longer has it)."""
    found = rules().recipients.get(code or "")
    return found.name(current_language()) if found else str(code or "")


def register(app: Flask) -> None:
    """The template filters: ``label``, ``date``, ``datetime``, ``time``, ``payload_fields``,
    ``grounds`` and ``recipient``."""
    app.add_template_filter(_label_filter, "label")
    app.add_template_filter(show_date, "date")
    app.add_template_filter(show_datetime, "datetime")
    app.add_template_filter(show_time, "time")
    app.add_template_filter(payload_fields, "payload_fields")
    app.add_template_filter(show_grounds, "grounds")
    app.add_template_filter(show_recipient, "recipient")
