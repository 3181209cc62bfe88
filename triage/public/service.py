"""Filing a public report and following it up with a receipt; a reviewer's reply to its reporter.

A public report is a **direct** report filed through intake's normal path (``intake.service.file``)
with no filer and ``attested=False``: it starts unverified whoever the reporter says she is, and
never counts as the victim's own complaint or consent (``review.consent`` skips public reports).
It is screened like any direct report; "someone is in danger right now" makes its case high. A
report about people already on record is linked to the oldest matching open case (blind indexes
only), so a flood about the same people fills one case, not the queue.

Everything a submission brings is stored in one transaction with the used form token and the
receipt's hash, or nothing is: a replayed form, a bad field or a bad file leaves no trace but the
refusal. The reporter is the audit actor ``public``: no address or browser is recorded anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import audit, reporter_messages
from ..errors import N_, InvalidInput, NotFound
from ..intake import service as intake
from ..intake.attachments import Upload, attach
from ..intake.schema import DirectReport, sealed_payload
from ..models import MessageDirection, Report, User, utcnow
from ..review.cases import get_case, require_claim, require_open
from ..review.rules import ReviewRules
from ..review.triaging import raise_case
from ..sealed import keyring, seal
from ..uow import UnitOfWork, passwords_of
from ..vocab import RiskLevel, Verification
from . import form_tokens, receipts

#: The audit actor of everything the public does: no account, no address.
PUBLIC_ACTOR = "public"
#: The longest message a reporter may add, or a reviewer may send her.
MAX_MESSAGE = 5000
#: What a reporter reads at the follow-up page (and a timeline entry's purpose).
FOLLOW_UP_PURPOSE = "public.follow_up"


class WrongReceipt(NotFound):
    """No receipt matches: mistyped, or never given. Nothing says which."""

    def __init__(self) -> None:
        super().__init__(
            N_(
                "This receipt is not known. Check it and type it again: a lost receipt cannot be "
                "recovered."
            )
        )


class NotAPublicReport(NotFound):
    def __init__(self) -> None:
        super().__init__(N_("This case has no such public report."))


@dataclass(frozen=True)
class Limits:
    """The public form's time window and how long a used token is remembered."""

    min_age: timedelta
    max_age: timedelta


@dataclass(frozen=True)
class PublicFiled:
    report_id: str
    case_id: str
    receipt: receipts.Receipt
    danger_now: bool


def _file(
    session: Session,
    incoming: DirectReport,
    *,
    danger_now: bool,
    uploads: Sequence[Upload],
    checked: form_tokens.Checked,
    now: datetime,
    limits: Limits,
    rules: ReviewRules,
) -> PublicFiled:
    form_tokens.use(session, checked, now=now, max_age=limits.max_age)
    ring = keyring(session)

    def file_into(case_id: str | None) -> intake.Filed:
        return intake.file(
            session,
            incoming,
            actor=PUBLIC_ACTOR,
            link_case_id=case_id,
            uploads=uploads,
            attested=False,
            ring=ring,
            rules=rules,
        )

    try:
        filed = file_into(None)
    except intake.ConfirmLink as exc:  # nothing was stored: link to the oldest matching case
        filed = file_into(exc.matches[0].case_id)
    report = filed.report
    report.public = True
    payload = sealed_payload(incoming)
    if danger_now:
        payload["danger_now"] = True
    seal(session, report, payload, ring=ring)
    if danger_now:
        raise_case(
            session,
            filed.case,
            RiskLevel.HIGH,
            Verification.UNVERIFIED,
            False,
            None,
            rules,
            actor=PUBLIC_ACTOR,
        )
    receipt = receipts.unique_receipt(session, ring)
    receipts.store(session, report, receipt, ring=ring, passwords=passwords_of(session))
    audit.append(
        session,
        actor=PUBLIC_ACTOR,
        action="public.report_filed",
        object_type="report",
        object_id=report.id,
        details={
            "case_id": filed.case.id,
            "linked": filed.linked,
            "attachments": len(uploads),
            "danger_now": danger_now,
        },
    )
    session.flush()
    return PublicFiled(report.id, filed.case.id, receipt, danger_now)


def submit(
    uow: UnitOfWork,
    incoming: DirectReport,
    *,
    danger_now: bool,
    uploads: Sequence[Upload],
    checked: form_tokens.Checked,
    limits: Limits,
    rules: ReviewRules,
    now: datetime | None = None,
) -> PublicFiled:
    """File a public report in one unit of work; the receipt is returned to show once."""
    try:
        with uow.begin() as session:
            return _file(
                session,
                incoming,
                danger_now=danger_now,
                uploads=uploads,
                checked=checked,
                now=now or utcnow(),
                limits=limits,
                rules=rules,
            )
    except IntegrityError:  # the same token sent twice at once: the other request holds it
        raise form_tokens.Replayed(
            N_("This form was sent already; it was received once.")
        ) from None


# -- the follow-up -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Thread:
    """What the receipt's holder sees: when her report came, and the messages both ways."""

    received_at: datetime
    messages: list[reporter_messages.Message]


def _report_of(session: Session, typed: str) -> Report:
    row = receipts.find(session, typed, ring=keyring(session), passwords=passwords_of(session))
    report = session.get(Report, row.report_id) if row is not None else None
    if report is None:
        raise WrongReceipt()
    return report


def _refused(uow: UnitOfWork) -> None:
    """A wrong receipt is on record (how often receipts are guessed is oversight's business)."""
    with uow.begin() as session:
        audit.append(
            session, actor=PUBLIC_ACTOR, action="public.receipt_refused", object_type="report"
        )


def thread(uow: UnitOfWork, typed: str) -> Thread:
    """The replies meant for the receipt's holder and what she added, opened (audited)."""
    try:
        with uow.begin() as session:
            report = _report_of(session, typed)
            audit.append(
                session,
                actor=PUBLIC_ACTOR,
                action="public.receipt_used",
                object_type="report",
                object_id=report.id,
            )
            messages = reporter_messages.read(
                session, [report], actor=PUBLIC_ACTOR, purpose=FOLLOW_UP_PURPOSE
            )
            return Thread(report.received_at, messages)
    except WrongReceipt:
        _refused(uow)
        raise


def add_information(
    uow: UnitOfWork,
    typed: str,
    text: str,
    *,
    uploads: Sequence[Upload],
    checked: form_tokens.Checked,
    limits: Limits,
    now: datetime | None = None,
) -> Thread:
    """The receipt's holder adds a message and/or photos to her report (sealed, audited, on the
    case's timeline); the thread as it now stands is returned."""
    now = now or utcnow()
    text = (text or "").strip()
    if not text and not uploads:
        raise InvalidInput(N_("Write what you want to add, or attach a photo."), field="text")
    if len(text) > MAX_MESSAGE:
        raise InvalidInput(
            N_("What you add may have at most %(n)d characters."), field="text", n=MAX_MESSAGE
        )
    try:
        with uow.begin() as session:
            report = _report_of(session, typed)
            form_tokens.use(session, checked, now=now, max_age=limits.max_age)
            if text:
                reporter_messages.write(
                    session, report, MessageDirection.FROM_REPORTER, text, actor=PUBLIC_ACTOR
                )
            for upload in uploads:
                attach(session, report, upload, actor=PUBLIC_ACTOR, uploaded_by=None)
            audit.append(
                session,
                actor=PUBLIC_ACTOR,
                action="public.information_added",
                object_type="report",
                object_id=report.id,
                details={"text": bool(text), "attachments": len(uploads)},
            )
            messages = reporter_messages.read(
                session, [report], actor=PUBLIC_ACTOR, purpose=FOLLOW_UP_PURPOSE
            )
            return Thread(report.received_at, messages)
    except WrongReceipt:
        _refused(uow)
        raise
    except IntegrityError:
        raise form_tokens.Replayed(
            N_("This form was sent already; it was received once.")
        ) from None


# -- the reviewer's reply ----------------------------------------------------------------------


def reply(
    session: Session,
    user: User,
    ref: str,
    report_id: str,
    text: str | None,
    *,
    rules: ReviewRules,
    now: datetime | None = None,
) -> Report:
    """The holder of the case writes to the reporter of one of its public reports."""
    found = get_case(session, user, ref)
    require_open(found)
    require_claim(session, user, found, now=now, rules=rules)
    report = session.scalar(
        select(Report).where(Report.id == report_id, Report.case_id == found.id, Report.public)
    )
    if report is None:
        raise NotAPublicReport()
    words = (text or "").strip()
    if not words:
        raise InvalidInput(N_("Write the reply to the reporter."))
    if len(words) > MAX_MESSAGE:
        raise InvalidInput(N_("A reply may have at most %(n)d characters."), n=MAX_MESSAGE)
    reporter_messages.write(
        session,
        report,
        MessageDirection.TO_REPORTER,
        words,
        actor=str(user.id),
        written_by=user.id,
        now=now,
    )
    return report
