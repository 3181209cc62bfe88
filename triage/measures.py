"""The measure catalogue and the rules for proposing and approving a measure. Pure; no I/O.

DOMAIN.md "Measures" is the source. The rules are the bill's safeguard against false and
malicious reports: nothing aimed at the alleged aggressor on an unverified case, four eyes on
every coercive or no-complaint measure, and a written reason whenever the victim's wishes are
overridden. Supportive measures for the victim never wait.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import TypeVar

from .errors import N_
from .vocab import MeasureTier, Role, Verification

__all__ = [
    "AIMED_AT_AGGRESSOR",
    "DEFAULT_DURATIONS",
    "FOLLOW_UP_DAYS_BEFORE",
    "MEASURES",
    "ApprovalRefused",
    "ApproverNotSupervisor",
    "DecidedBy",
    "Measure",
    "MeasureError",
    "ProposalCheck",
    "ReasonRequired",
    "SelfApproval",
    "UnknownMeasure",
    "UnverifiedSource",
    "can_approve",
    "catalogue",
    "check_approver",
    "check_proposal",
    "end_date_for",
    "follow_up_date",
    "get_measure",
]


# --- errors -------------------------------------------------------------------------------------


class MeasureError(ValueError):
    """A measure rule refused the request."""


class UnknownMeasure(MeasureError, LookupError):
    """No measure has this code."""


class UnverifiedSource(MeasureError):
    """A preventive or coercive measure on a case that is not corroborated.

    Acting on a false or malicious report would bring coercion on an innocent person, so the
    reviewer must record corroboration first. Raised for *unfounded* cases too.
    """


class ReasonRequired(MeasureError):
    """A decision that must be explained in writing was proposed without a reason."""


class ApprovalRefused(MeasureError):
    """This user may not approve this proposal."""


class SelfApproval(ApprovalRefused):
    """Four eyes: nobody approves their own proposal, whatever their role."""


class ApproverNotSupervisor(ApprovalRefused):
    """Only supervisors approve measures."""


# --- the catalogue ------------------------------------------------------------------------------


class DecidedBy(StrEnum):
    """Who takes the measure in law; triage records the proposal, approval and follow-up."""

    REVIEWER = "reviewer"
    POLICE = "police"
    COURT = "court"
    INVESTIGATORS = "investigators"


#: Tiers whose measures are aimed at the alleged aggressor: they wait for corroboration.
AIMED_AT_AGGRESSOR = frozenset({MeasureTier.PREVENTIVE, MeasureTier.COERCIVE})

#: Default validity of measures with a fixed term, by code. *(check)* in DOMAIN.md: the
#: authorities may correct them, so pass your own to ``catalogue``.
DEFAULT_DURATIONS: Mapping[str, timedelta] = MappingProxyType(
    {"protective_order": timedelta(days=30)}
)

#: Days before a measure's end date on which its follow-up falls. *(configurable)* in DOMAIN.md.
FOLLOW_UP_DAYS_BEFORE = 5


@dataclass(frozen=True)
class Measure:
    """One kind of measure. ``label`` and ``notes`` are English, marked for translation: the
    web layer shows them in the reader's language (``triage.web.labels``).

    ``has_end_date`` marks measures that expire and so raise a follow-up; ``default_duration`` is
    set only where the term is fixed (``None`` where a court sets it, or it has none).
    """

    code: str
    tier: MeasureTier
    decided_by: tuple[DecidedBy, ...]
    has_end_date: bool = False
    default_duration: timedelta | None = None
    needs_victim_consent: bool = False
    _label: str = field(default="", repr=False, compare=False)
    _notes: str = field(default="", repr=False, compare=False)

    @property
    def label(self) -> str:
        return str(self._label)

    @property
    def notes(self) -> str:
        return str(self._notes)

    @property
    def aimed_at_aggressor(self) -> bool:
        return self.tier in AIMED_AT_AGGRESSOR


def catalogue(durations: Mapping[str, timedelta] = DEFAULT_DURATIONS) -> Mapping[str, Measure]:
    """The measures of DOMAIN.md by code, in its order, with the given default durations."""
    unknown = set(durations) - set(_CODES)
    if unknown:
        raise UnknownMeasure(f"durations given for unknown measures: {', '.join(sorted(unknown))}")
    for code, duration in durations.items():
        if duration <= timedelta(0):
            raise MeasureError(f"the duration of {code} must be positive")
    measures = (
        Measure(
            code="contact_victim",
            tier=MeasureTier.SUPPORTIVE,
            decided_by=(DecidedBy.REVIEWER,),
            _label=N_("Safe contact with the victim (welfare check)"),
            _notes=N_("How to contact her safely is in the sealed payload."),
        ),
        Measure(
            code="refer_support",
            tier=MeasureTier.SUPPORTIVE,
            decided_by=(DecidedBy.REVIEWER,),
            needs_victim_consent=True,
            _label=N_(
                "Referral to a crisis centre, shelter, family support centre, legal aid or "
                "psychologist for the victim"
            ),
            _notes=N_("Needs the victim's consent to share her data."),
        ),
        Measure(
            code="safety_plan",
            tier=MeasureTier.SUPPORTIVE,
            decided_by=(DecidedBy.REVIEWER,),
            _label=N_("Safety planning with the victim"),
        ),
        Measure(
            code="preventive_talk",
            tier=MeasureTier.PREVENTIVE,
            decided_by=(DecidedBy.POLICE,),
            _label=N_("Preventive conversation with the aggressor"),
            _notes=N_("Corroboration needed."),
        ),
        Measure(
            code="preventive_registration",
            tier=MeasureTier.PREVENTIVE,
            decided_by=(DecidedBy.POLICE,),
            _label=N_("Preventive registration and control of the aggressor"),
            _notes=N_("Corroboration needed."),
        ),
        Measure(
            code="protective_order",
            tier=MeasureTier.COERCIVE,
            decided_by=(DecidedBy.POLICE,),
            has_end_date=True,
            default_duration=durations.get("protective_order"),
            _label=N_("Protective order (no violence, no contact, no pursuit of the victim)"),
            _notes=N_(
                "Valid for a fixed term; a breach is an administrative offence (Article 461); "
                "follow-up before expiry."
            ),
        ),
        Measure(
            code="special_requirements",
            tier=MeasureTier.COERCIVE,
            decided_by=(DecidedBy.COURT,),
            has_end_date=True,
            default_duration=durations.get("special_requirements"),
            _label=N_(
                "Petition to the court for special requirements on the aggressor's behaviour"
            ),
            _notes=N_(
                "No contact or pursuit, no weapons, no alcohol or drugs, reporting to police 1–4 "
                "times a month, in exceptional cases no living with the victim. Set by the court, "
                "on its own or at police request, for 3 months to 1 year (Code of Administrative "
                "Offences, Article 54); puts the aggressor on preventive registration."
            ),
        ),
        Measure(
            code="compulsory_assistance",
            tier=MeasureTier.COERCIVE,
            decided_by=(DecidedBy.COURT,),
            _label=N_(
                "Petition for court-ordered compulsory medical or psychological assistance for "
                "the aggressor"
            ),
            _notes=N_("Ordered by a court on petition; the bill's new measure."),
        ),
        Measure(
            code="administrative_detention",
            tier=MeasureTier.COERCIVE,
            decided_by=(DecidedBy.POLICE, DecidedBy.COURT),
            _label=N_("Referral for administrative detention or an administrative case"),
        ),
        Measure(
            code="criminal_referral",
            tier=MeasureTier.COERCIVE,
            decided_by=(DecidedBy.INVESTIGATORS,),
            _label=N_(
                "Referral to investigators (battery, minor or greater harm, threats, "
                "persecution, sexual harassment)"
            ),
        ),
        Measure(
            code="no_action",
            tier=MeasureTier.NONE,
            decided_by=(DecidedBy.REVIEWER,),
            _label=N_("No measure, with a reason"),
        ),
    )
    return MappingProxyType({m.code: m for m in measures})


_CODES = (
    "contact_victim",
    "refer_support",
    "safety_plan",
    "preventive_talk",
    "preventive_registration",
    "protective_order",
    "special_requirements",
    "compulsory_assistance",
    "administrative_detention",
    "criminal_referral",
    "no_action",
)

#: The catalogue with the default durations.
MEASURES: Mapping[str, Measure] = catalogue()


def get_measure(code: str, measures: Mapping[str, Measure] = MEASURES) -> Measure:
    try:
        return measures[code]
    except KeyError:
        raise UnknownMeasure(f"there is no measure {code!r}") from None


# --- proposing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProposalCheck:
    """An allowed proposal. ``approval_because`` says why it waits for a supervisor, if it does:
    ``coercive`` and/or ``no_victim_complaint``."""

    measure: Measure
    approval_because: tuple[str, ...]
    reason: str | None

    @property
    def needs_supervisor(self) -> bool:
        return bool(self.approval_because)


def check_proposal(
    measure: Measure | str,
    *,
    verification: Verification | str,
    victim_complaint: bool,
    against_victim_wishes: bool,
    reason: str | None,
) -> ProposalCheck:
    """Whether ``measure`` may be proposed on a case in this state, and whether it needs approval.

    Refuses with ``UnverifiedSource`` a preventive or coercive measure unless the case is
    corroborated, and with ``ReasonRequired`` a measure against the victim's recorded wishes, or
    ``no_action``, without a written reason. Supportive measures pass at once whatever the
    verification state. Every coercive measure, and every preventive or coercive one on a case
    without the victim's own complaint, waits for a supervisor.
    """
    m = get_measure(measure) if isinstance(measure, str) else measure
    try:
        state = Verification(verification)
    except ValueError:
        raise MeasureError(f"{verification!r} is not a verification state") from None
    written = reason.strip() if isinstance(reason, str) else ""

    if m.aimed_at_aggressor and state is not Verification.CORROBORATED:
        raise UnverifiedSource(
            f"{m.code} is aimed at the aggressor and needs a corroborated case "
            f"(this one is {state.value}); record corroboration first"
        )
    if against_victim_wishes and not written:
        raise ReasonRequired(f"{m.code} goes against the victim's wishes: give a written reason")
    if m.tier is MeasureTier.NONE and not written:
        raise ReasonRequired("deciding on no measure needs a written reason")

    because: list[str] = []
    if m.tier is MeasureTier.COERCIVE:
        because.append("coercive")
    if m.aimed_at_aggressor and not victim_complaint:
        because.append("no_victim_complaint")
    return ProposalCheck(measure=m, approval_because=tuple(because), reason=written or None)


# --- approving ----------------------------------------------------------------------------------


def check_approver(
    proposer_id: int | str | None, approver_id: int | str | None, approver_role: Role | str
) -> None:
    """Raise ``SelfApproval`` or ``ApproverNotSupervisor`` unless this approval is allowed.

    An unknown proposer or approver is refused as self-approval: four eyes cannot be shown.
    """
    if proposer_id is None or approver_id is None or str(proposer_id) == str(approver_id):
        raise SelfApproval("a proposal must be approved by someone other than its proposer")
    try:
        role = Role(approver_role)
    except ValueError:
        role = None
    if role is not Role.SUPERVISOR:
        raise ApproverNotSupervisor("only a supervisor may approve a measure")


def can_approve(
    proposer_id: int | str | None, approver_id: int | str | None, approver_role: Role | str
) -> bool:
    """Whether this user may approve this proposal: a supervisor, and never its proposer."""
    try:
        check_approver(proposer_id, approver_id, approver_role)
    except ApprovalRefused:
        return False
    return True


# --- dates --------------------------------------------------------------------------------------

D = TypeVar("D", bound=date)


def end_date_for(measure: Measure, starts_on: D) -> D | None:
    """The default end date of a measure starting on ``starts_on``, if its term is fixed."""
    if measure.default_duration is None:
        return None
    return starts_on + measure.default_duration


def follow_up_date(end_date: D, days_before: int = FOLLOW_UP_DAYS_BEFORE) -> D:
    """When to follow up a measure ending on ``end_date``: long enough before expiry to renew it
    or ask the court to extend it, not after it has lapsed."""
    if days_before < 0:
        raise MeasureError("days_before must not be negative")
    return end_date - timedelta(days=days_before)
