"""Review work on many cases in one transaction: a bulk load, the demo at scale.

``Batch`` offers the review services' use cases — claim, release, verification, assessment
and its override, proposal, approval, rejection, withdrawal, follow-up, closing — with the same
checks, in the same order, writing the same rows (the same versions, too) and the same audit
events as ``claims``, ``verification``, ``assessments``, ``decisions``, ``followups`` and
``cases`` write one call at a time (``OneByOne``; a test runs both on the same input and
compares what they stored). What differs is the database work: the cases a batch touches are
loaded once (``load``: their reports, decisions, pending assessments, consents and data keys, one
query each; locked ``FOR UPDATE`` on PostgreSQL, held by SQLite's write lock), so the guards a
service checks with a compare-and-set ``UPDATE`` are checked on the loaded rows; new rows are
added without a flush of their own, the claims written in one executemany, and everything
flushed once, in ``finish``; the audit events go in one multi-row insert (``audit.batched``).

Each call checks everything before it writes, so a refused call (a ``DomainError``) leaves
nothing of itself behind — except the audited reads it made to check the victim's recorded
wishes or consent, which did happen — and the calls before it stand, as when each is a request
of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import Table, bindparam, event, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from .. import audit, scoring, sealed
from ..models import (
    Assessment,
    Case,
    DataKey,
    Decision,
    NoteKind,
    OverrideStatus,
    RecipientKind,
    Report,
    User,
    VerificationOutcome,
    VerificationStep,
    VictimConsent,
)
from ..scoring import Checklist
from ..vocab import DecisionStatus, SourceKind
from ..vocab import Verification as Verified
from . import assessments, cases, claims, consent, decisions, followups, verification
from .cases import CaseOutcome, check_claim, check_version, clean_text, require_open
from .errors import AssessmentNotFound, CaseNotFound, DecisionNotFound
from .rules import ReviewRules

#: Columns whose change is not an edit (no version bump): claims, and what the database computes.
_NOT_EDITS = frozenset({"version", "claimed_by", "claim_expires_at", "queue_rank"})
#: Ids per ``IN (…)`` of ``load``.
_CHUNK = 500


class Filed(Protocol):
    """A report ``intake.bulk.file_many`` filed (``intake.service.Filed``; review does not
    import intake, which imports review)."""

    @property
    def report(self) -> Report: ...
    @property
    def case(self) -> Case: ...
    @property
    def linked(self) -> bool: ...


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


class Batch:
    """The review services on cases loaded once, in the caller's transaction (module docstring).

    Use it as a block: ``with Batch(session, rules) as work: …`` appends the block's audit
    events in one step and flushes once when it ends normally."""

    def __init__(self, session: Session, rules: ReviewRules | None = None) -> None:
        self.session = session
        self.rules = rules or ReviewRules()
        self._postgres = session.get_bind().dialect.name == "postgresql"
        self._cases: dict[str, Case] = {}
        self._reports: dict[str, list[Report]] = {}
        self._decisions: dict[str, list[Decision]] = {}
        self._pending: dict[str, list[Assessment]] = {}
        #: The decisions and pending assessments loaded or made, by id.
        self._by_id: dict[str, Decision] = {}
        self._assessments: dict[str, Assessment] = {}
        self._consents: dict[tuple[str, str], VictimConsent] = {}
        self._claimed: dict[str, Case] = {}
        #: The data keys ``load`` read and the block wrote (held, so the identity map keeps
        #: them).
        self._keys: list[DataKey] = []
        #: What an edited record held at its last (virtual) flush, to bump its version as a
        #: flush of each call would.
        self._seen: dict[int, tuple[Any, ...]] = {}
        self._audit: Any = None

    def __enter__(self) -> Batch:
        self._audit = audit.batched(self.session)
        self._audit.__enter__()
        event.listen(self.session, "pending_to_persistent", self._keep_key)
        return self

    def __exit__(self, kind: object, error: BaseException | None, trace: object) -> None:
        try:
            if error is None:
                self.finish()
        finally:
            event.remove(self.session, "pending_to_persistent", self._keep_key)
            self._audit.__exit__(kind, error, trace)

    def _keep_key(self, session: Session, record: object) -> None:
        """Hold the data keys written in the block (the identity map holds nothing itself), so
        opening a payload sealed in it finds its key without a query."""
        if isinstance(record, DataKey):
            self._keys.append(record)

    # -- loading ----------------------------------------------------------------------------

    def load(self, case_ids: Iterable[str]) -> None:
        """Load the cases (and what their work reads) that are not loaded yet, one query per
        table."""
        wanted = sorted({c for c in case_ids if c not in self._cases})
        if not wanted:
            return
        session = self.session
        with session.no_autoflush:
            for ids in _chunks(wanted):
                query = select(Case).where(Case.id.in_(ids))
                if self._postgres:
                    query = query.with_for_update()
                for found in session.scalars(query):
                    self._cases[found.id] = found
                    self._reports[found.id] = []
                    self._decisions[found.id] = []
                    self._pending[found.id] = []
                for report in session.scalars(
                    select(Report).where(Report.case_id.in_(ids)).order_by(Report.received_at)
                ):
                    self._reports[report.case_id or ""].append(report)
                for decision in session.scalars(
                    select(Decision)
                    .where(Decision.case_id.in_(ids))
                    .order_by(Decision.proposed_at, Decision.id)
                ):
                    self._decisions[decision.case_id].append(decision)
                    self._by_id[decision.id] = decision
                for assessment in session.scalars(
                    select(Assessment).where(
                        Assessment.case_id.in_(ids),
                        Assessment.override_status == OverrideStatus.PENDING.value,
                    )
                ):
                    self._pending[assessment.case_id].append(assessment)
                    self._assessments[assessment.id] = assessment
                for row in session.scalars(
                    select(VictimConsent)
                    .where(VictimConsent.case_id.in_(ids))
                    .order_by(VictimConsent.recorded_at, VictimConsent.id)
                ):
                    self._consents[(row.case_id, row.recipient_kind)] = row  # the latest wins
                keys = [
                    r.data_key_id
                    for c in ids
                    for r in self._reports.get(c, ())
                    if r.source_kind == SourceKind.DIRECT.value and r.data_key_id
                ]
                keys += [
                    d.data_key_id
                    for c in ids
                    for d in self._decisions.get(c, ())
                    if d.status == DecisionStatus.AWAITING_APPROVAL.value and d.data_key_id
                ]
                keys += [
                    a.data_key_id for c in ids for a in self._pending.get(c, ()) if a.data_key_id
                ]
                for key_ids in _chunks(sorted(set(keys))):
                    self._keys += session.scalars(select(DataKey).where(DataKey.id.in_(key_ids)))

    def filed(self, filed: Iterable[Filed]) -> None:
        """Know the reports ``intake.bulk.file_many`` just filed: a new case is loaded as it
        is; a report linked to a loaded case joins its reports."""
        for one in filed:
            case_id = one.case.id
            if case_id in self._cases:
                if one.report not in self._reports[case_id]:
                    self._reports[case_id].append(one.report)
            elif not one.linked:
                self._cases[case_id] = one.case
                self._reports[case_id] = [one.report]
                self._decisions[case_id] = []
                self._pending[case_id] = []

    def finish(self) -> None:
        """Write what the block did: one flush, then the claims in one executemany."""
        self.session.flush()
        if self._claimed:
            table = Case.__table__
            assert isinstance(table, Table)
            self.session.execute(
                update(table)
                .where(table.c.id == bindparam("b_id"))
                .values(claimed_by=bindparam("b_by"), claim_expires_at=bindparam("b_until")),
                [
                    {"b_id": c.id, "b_by": c.claimed_by, "b_until": c.claim_expires_at}
                    for c in self._claimed.values()
                ],
            )
            self._claimed.clear()

    # -- lookups and guards -----------------------------------------------------------------

    def case(self, user: User, case_id: str) -> Case:
        """The case, if it is in the user's scope (``cases.get_case`` by id)."""
        found = self._cases.get(case_id)
        if found is None:
            self.load([case_id])
            found = self._cases.get(case_id)
        if found is None or (user.region is not None and found.region != user.region):
            raise CaseNotFound()
        return found

    def decision(self, decision_id: str) -> Decision | None:
        """The decision: one the block loaded or proposed (a proposal not flushed yet is not in
        the identity map), else the database's."""
        if not decision_id:
            return None
        return self._by_id.get(decision_id) or self.session.get(Decision, decision_id)

    def _assessment(self, assessment_id: str) -> Assessment | None:
        if not assessment_id:
            return None
        return self._assessments.get(assessment_id) or self.session.get(Assessment, assessment_id)

    def _decision_for(self, user: User, decision_id: str) -> tuple[Decision, Case]:
        """``decisions.get_for``."""
        decision = self.decision(decision_id)
        if decision is None:
            raise DecisionNotFound()
        try:
            return decision, self.case(user, decision.case_id)
        except CaseNotFound:
            raise DecisionNotFound() from None

    def _renew(self, user: User, found: Case, now: datetime) -> None:
        """``cases.require_claim``: its rule (``check_claim``) was checked; this is its write."""
        self._hold(found, user.id, now + self.rules.claim_for)

    def _hold(self, found: Case, holder: int | None, until: datetime | None) -> None:
        """Change the holder as the services' ``UPDATE`` does: not an edit, no version bump."""
        set_committed_value(found, "claimed_by", holder)
        set_committed_value(found, "claim_expires_at", until)
        self._claimed[found.id] = found

    def _values(self, record: Any) -> tuple[Any, ...]:
        return tuple(
            getattr(record, a.key)
            for a in inspect(record).mapper.column_attrs
            if a.key not in _NOT_EDITS
        )

    def _touch(self, record: Any) -> None:
        """Before an edit: remember the record as its last flush left it; a record not yet
        written is flushed first, so that it is inserted as the call that made it wrote it."""
        if inspect(record).pending:
            self.session.flush()
        self._seen.setdefault(id(record), self._values(record))

    def _edited(self, record: Any) -> None:
        """Where the service flushes an edit: bump the version if anything changed since the
        last one, as the flush would."""
        now_values = self._values(record)
        if self._seen.get(id(record)) != now_values:
            record.version = record.version + 1
        self._seen[id(record)] = now_values

    # -- claims -----------------------------------------------------------------------------

    def claim(self, user: User, case_id: str, *, now: datetime) -> Case:
        """``claims.claim``."""
        found = self.case(user, case_id)
        require_open(found)
        previous = found.claimed_by
        claims.check_claimable(user, found, now)
        self._renew(user, found, now)
        if previous != user.id:
            claims.audit_claim(self.session, user, found, previous, "claim")
        return found

    def release(self, user: User, case_id: str, *, now: datetime) -> Case:
        """``claims.release``."""
        found = self.case(user, case_id)
        claims.check_releasable(user, found)
        self._hold(found, None, None)
        claims.audit_released(self.session, user, found)
        return found

    # -- verification -----------------------------------------------------------------------

    def record_verification(
        self,
        user: User,
        case_id: str,
        *,
        version: int | None,
        outcome: str,
        method: str | None,
        note: str | None,
        now: datetime,
    ) -> VerificationStep:
        """``verification.record_verification``."""
        session = self.session
        found = self.case(user, case_id)
        require_open(found)
        check_version(found, version)
        finding = verification.check_finding(found, outcome=outcome, method=method, note=note)
        check_claim(user, found)
        self._renew(user, found, now)

        step = verification.add_step(session, user, found, finding, now=now, flush=False)
        self._touch(found)
        reports = [r for r in self._reports[found.id] if r.verification == Verified.UNVERIFIED]
        verification.mark_verified(found, reports, finding)
        self._edited(found)
        verification.audit_verified(session, user, found, reports, step)
        if finding.outcome is VerificationOutcome.UNFOUNDED:
            for waiting in self._decisions[found.id]:
                if waiting.status != DecisionStatus.AWAITING_APPROVAL.value:
                    continue
                self._touch(waiting)
                waiting.status = DecisionStatus.WITHDRAWN.value
                self._edited(waiting)
                decisions.audit_withdrawn(session, user, waiting, "case_unfounded")
            self._mark_closed(user, found, CaseOutcome.UNFOUNDED, now=now)
        return step

    # -- assessments ------------------------------------------------------------------------

    def record_assessment(
        self,
        user: User,
        case_id: str,
        *,
        version: int | None,
        answers: scoring.Answers,
        level: str | None = None,
        reason: str | None = None,
        checklist: Checklist | None = None,
        now: datetime,
    ) -> Assessment:
        """``assessments.record_assessment``."""
        checklist = checklist or assessments.current_checklist()
        found = self.case(user, case_id)
        require_open(found)
        check_version(found, version)
        check_claim(user, found)
        scored = assessments.score_answers(checklist, answers, level, reason, user)
        self._renew(user, found, now)
        outcome = scored.outcome(found)
        pending = self._pending[found.id]
        for earlier in pending:
            earlier.override_status = OverrideStatus.SUPERSEDED.value
        pending.clear()
        assessment = assessments.add_assessment(
            self.session, user, found, scored, outcome, now=now, flush=False
        )
        if outcome.needs_supervisor:
            pending.append(assessment)
            self._assessments[assessment.id] = assessment
        self._touch(found)
        assessments.put_in_force(found, scored, outcome, self.rules)
        self._edited(found)
        assessments.audit_recorded(self.session, user, found, assessment, outcome)
        return assessment

    def decide_override(
        self,
        supervisor: User,
        assessment_id: str,
        *,
        approve: bool,
        reason: str | None = None,
        now: datetime,
    ) -> Assessment:
        """``assessments.decide_override``."""
        assessment = self._assessment(assessment_id)
        if assessment is None:
            raise AssessmentNotFound()
        found = self.case(supervisor, assessment.case_id)
        assessments.check_decider(supervisor, assessment)
        written = clean_text(reason, "reason", required=not approve)
        self._touch(found)
        assessment.override_status = assessments.decided_status(approve).value
        assessment.override_decided_by = supervisor.id
        assessment.override_decided_at = now
        if assessment in self._pending.get(found.id, ()):
            self._pending[found.id].remove(assessment)
        assessments.settle(
            self.session,
            supervisor,
            found,
            assessment,
            approve=approve,
            reason=written,
            rules=self.rules,
        )
        self._edited(found)
        assessments.audit_override(self.session, supervisor, found, assessment, approve)
        return assessment

    # -- decisions --------------------------------------------------------------------------

    def _direct_payloads(
        self, user: User, found: Case, purpose: str
    ) -> Iterator[tuple[Report, dict[str, Any]]]:
        """The case's direct reports opened one by one (each an audited read), as far as the
        caller reads; shredded ones skipped."""
        for report in self._reports[found.id]:
            if report.source_kind != SourceKind.DIRECT.value:
                continue
            try:
                payload = sealed.open_payload(
                    self.session, report, actor=str(user.id), purpose=purpose
                )
            except sealed.PayloadShredded:
                continue
            yield report, payload

    def _require_support_consent(self, user: User, found: Case) -> None:
        """``consent.require`` for a support service, on the consents ``load`` read."""
        kind = RecipientKind.SUPPORT
        row = self._consents.get((found.id, kind.value))
        if row is not None:
            state = consent.from_row(row)
        else:
            opened = list(self._direct_payloads(user, found, "consent.check"))
            state = consent.from_her_report(
                self.session, user, found, opened
            ) or consent.ConsentState(kind, None)
        consent.check_given(state)

    def propose(
        self,
        user: User,
        case_id: str,
        *,
        version: int | None,
        measure: str,
        rationale: str,
        grounds: Sequence[str] = (),
        legal_basis: str | None = None,
        starts_on: date | None = None,
        ends_on: date | None = None,
        follow_up_on: date | None = None,
        against_victim_wishes: bool = False,
        wishes_reason: str | None = None,
        today: date | None = None,
        now: datetime,
    ) -> Decision:
        """``decisions.propose``."""
        found = self.case(user, case_id)
        require_open(found)
        check_version(found, version)
        proposal = decisions.check_form(
            measure=measure,
            rationale=rationale,
            grounds=grounds,
            legal_basis=legal_basis,
            starts_on=starts_on,
            ends_on=ends_on,
            follow_up_on=follow_up_on,
            today=today or now.date(),
            rules=self.rules,
        )
        check_claim(user, found)
        if proposal.measure.needs_victim_consent:
            self._require_support_consent(user, found)
        code = proposal.measure.code
        against = against_victim_wishes or decisions.wishes_refuse(
            code, (p for _, p in self._direct_payloads(user, found, "decision.check_wishes"))
        )
        check, reason = decisions.check_on_case(
            proposal, found, against=against, wishes_reason=wishes_reason
        )
        self._renew(user, found, now)
        decision = decisions.add_decision(
            self.session,
            user,
            found,
            proposal,
            check,
            against=against,
            reason=reason,
            now=now,
            flush=False,
        )
        self._decisions[found.id].append(decision)
        self._by_id[decision.id] = decision
        decisions.audit_proposed(self.session, user, decision, check)
        return decision

    def _approvable(
        self, supervisor: User, decision_id: str, version: int | None
    ) -> tuple[Decision, Case]:
        """``decisions._approvable``."""
        decision, found = self._decision_for(supervisor, decision_id)
        decisions.check_decidable(supervisor, decision, version)
        return decision, found

    def approve(
        self, supervisor: User, decision_id: str, *, version: int | None, now: datetime
    ) -> Decision:
        """``decisions.approve``."""
        decision, found = self._approvable(supervisor, decision_id, version)
        decisions.check_approvable(decision, found, now.date())
        self._touch(decision)
        decisions.set_approved(decision, supervisor, now)
        self._edited(decision)
        decisions.audit_decided(self.session, supervisor, "decision.approved", decision)
        return decision

    def reject(
        self,
        supervisor: User,
        decision_id: str,
        *,
        version: int | None,
        reason: str,
        now: datetime,
    ) -> Decision:
        """``decisions.reject``."""
        text = clean_text(reason, "reason for the rejection")
        decision, _ = self._approvable(supervisor, decision_id, version)
        self._touch(decision)
        decisions.seal_rejection(self.session, supervisor, decision, text)
        decisions.set_rejected(decision, supervisor, now)
        self._edited(decision)
        decisions.audit_decided(self.session, supervisor, "decision.rejected", decision)
        return decision

    def withdraw(self, user: User, decision_id: str, *, version: int | None) -> Decision:
        """``decisions.withdraw``."""
        decision, _ = self._decision_for(user, decision_id)
        decisions.check_withdrawable(user, decision, version)
        self._touch(decision)
        decision.status = DecisionStatus.WITHDRAWN.value
        self._edited(decision)
        decisions.audit_withdrawn(self.session, user, decision, "by_proposer")
        return decision

    def record_follow_up(
        self, user: User, decision_id: str, *, note: str, now: datetime
    ) -> Decision:
        """``followups.record_follow_up``."""
        decision = self.decision(decision_id)
        if decision is None:
            raise DecisionNotFound()
        found = self.case(user, decision.case_id)
        require_open(found)
        text = followups.check_follow_up(decision, note)
        check_claim(user, found)
        self._renew(user, found, now)
        self._touch(decision)
        note_row = cases.write_note(
            self.session,
            user,
            found,
            NoteKind.FOLLOW_UP,
            text,
            decision_id=decision.id,
            now=now,
            flush=False,
        )
        followups.set_followed_up(decision, user, now)
        self._edited(decision)
        followups.audit_followed_up(self.session, user, decision, note_row)
        return decision

    # -- closing ----------------------------------------------------------------------------

    def close_case(
        self,
        user: User,
        case_id: str,
        *,
        version: int | None,
        outcome: str,
        note: str | None = None,
        now: datetime,
    ) -> Case:
        """``cases.close_case``."""
        found = self.case(user, case_id)
        require_open(found)
        check_version(found, version)
        chosen = cases.closing_outcome(outcome)
        check_claim(user, found)
        cases.check_nothing_waits(
            sum(
                d.status == DecisionStatus.AWAITING_APPROVAL.value
                for d in self._decisions[found.id]
            )
        )
        text = clean_text(note, "closing note", required=False)
        self._renew(user, found, now)
        if text:
            cases.write_note(
                self.session, user, found, NoteKind.CLOSING, text, now=now, flush=False
            )
        self._mark_closed(user, found, chosen, now=now)
        return found

    def _mark_closed(self, user: User, found: Case, outcome: CaseOutcome, *, now: datetime) -> None:
        """``cases.mark_closed``."""
        self._touch(found)
        cases.set_closed(found, outcome, now=now)
        self._edited(found)
        cases.audit_closed(self.session, user, found, outcome)


class OneByOne:
    """``Batch``'s interface on the review services themselves, one call at a time, each in a
    savepoint of its own (a refused call undone, as a request's transaction would be): what
    ``Batch`` must match."""

    def __init__(self, session: Session, rules: ReviewRules | None = None) -> None:
        self.session = session
        self.rules = rules or ReviewRules()

    def __enter__(self) -> OneByOne:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def load(self, case_ids: Iterable[str]) -> None:
        return None

    def filed(self, filed: Iterable[Filed]) -> None:
        return None

    def finish(self) -> None:
        return None

    @contextmanager
    def _call(self) -> Iterator[None]:
        with audit.savepoint(self.session):
            yield

    def case(self, user: User, case_id: str) -> Case:
        return cases.get_case(self.session, user, case_id)

    def decision(self, decision_id: str) -> Decision | None:
        return self.session.get(Decision, decision_id)

    def claim(self, user: User, case_id: str, *, now: datetime) -> Case:
        with self._call():
            return claims.claim(self.session, user, case_id, now=now, rules=self.rules)

    def release(self, user: User, case_id: str, *, now: datetime) -> Case:
        with self._call():
            return claims.release(self.session, user, case_id, now=now)

    def record_verification(self, user: User, case_id: str, **kw: Any) -> VerificationStep:
        with self._call():
            return verification.record_verification(
                self.session, user, case_id, rules=self.rules, **kw
            )

    def record_assessment(self, user: User, case_id: str, **kw: Any) -> Assessment:
        with self._call():
            return assessments.record_assessment(
                self.session, user, case_id, rules=self.rules, **kw
            )

    def decide_override(self, supervisor: User, assessment_id: str, **kw: Any) -> Assessment:
        with self._call():
            return assessments.decide_override(
                self.session, supervisor, assessment_id, rules=self.rules, **kw
            )

    def propose(self, user: User, case_id: str, **kw: Any) -> Decision:
        with self._call():
            return decisions.propose(self.session, user, case_id, rules=self.rules, **kw)

    def approve(self, supervisor: User, decision_id: str, **kw: Any) -> Decision:
        with self._call():
            return decisions.approve(self.session, supervisor, decision_id, **kw)

    def reject(self, supervisor: User, decision_id: str, **kw: Any) -> Decision:
        with self._call():
            return decisions.reject(self.session, supervisor, decision_id, **kw)

    def withdraw(self, user: User, decision_id: str, **kw: Any) -> Decision:
        with self._call():
            return decisions.withdraw(self.session, user, decision_id, **kw)

    def record_follow_up(self, user: User, decision_id: str, **kw: Any) -> Decision:
        with self._call():
            return followups.record_follow_up(
                self.session, user, decision_id, rules=self.rules, **kw
            )

    def close_case(self, user: User, case_id: str, **kw: Any) -> Case:
        with self._call():
            return cases.close_case(self.session, user, case_id, rules=self.rules, **kw)


__all__ = ["Batch", "OneByOne"]
