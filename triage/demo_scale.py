"""The demo at scale (``triage demo --reports N``): a year of synthetic reports, filed and worked
on through the same services as real ones, so that the queue and the statistics can be seen
with many cases in them.

Every report goes through intake (``intake.bulk.file_many``: validated, screened, sealed under
its own data key, blind-indexed, its case opened or linked and triaged, audited, exactly as
``intake.service.file`` does it); every piece of work through the review services as a
demo reviewer or supervisor would do it — claims, verification, checklist assessments,
proposals, four-eyes approvals by the demo supervisor (never the proposer), rejections,
withdrawals, follow-ups, closing. Nothing is written around them: a report's back-dated
arrival, and its case's opening (from which its deadline counts), are intake's own
``received_at``.

The simulation runs on a clock of its own over the last twelve months: reports arrive in time
order, and each piece of work is done when its simulated moment comes, in order, through the
services' own ``now``/``today`` arguments. What is back-dated is therefore the business time of
the records — a report's ``received_at``, a case's ``opened_at`` (and so its deadline), and the
moments assessments, verification steps, decisions, approvals, follow-ups, notes and closings
record — while everything about the run itself stays true: the audit events' ``at`` is when the
demo wrote them, in the order it did, and data keys and accounts are dated now. Work whose
moment is still in the future when the run catches up with today is left undone: the recent
cases wait in the queue, proposals wait for approval, measures run.

Writes are batched: one unit-of-work block per ``batch`` reports or pieces of work. The reports
that arrive within ``window`` (simulated time) of each other are filed together, in one
``file_many``, before the work that falls due among them; so a piece of work can be done up to
``window`` after a report that arrived later (a repeat report may still link to a case that
would have closed a few hours before it came). The work goes through ``review.batch.Batch``:
the review services' checks and writes, on the block's cases loaded once, flushed once, the
block's audit events appended in one step (``OneByOne`` does it through the services one call
at a time; a test shows both store the same). A call the rules refuse writes nothing, and ends
that piece of work; what the reviewer did before it stands, as when each step is a request.
"""

from __future__ import annotations

import heapq
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit, demo, scoring
from . import demo_texts as texts
from .demo_synth import Planned, Synth, pick
from .errors import DomainError
from .intake import bulk, schema
from .intake.service import Filed
from .models import AuditEvent, Case, Decision, Report, User
from .review import assessments
from .review.batch import Batch, OneByOne
from .review.rules import ReviewRules
from .uow import UnitOfWork
from .vocab import (
    DecisionStatus,
    Region,
    RiskLevel,
    Role,
    SourceKind,
    Verification,
)

#: Reports or pieces of work per transaction. Big: the cases' rows are keyed by random ids, so
#: a transaction writes a page of each index for nearly every row it adds, and fewer, larger
#: transactions write each page once for many rows (5,000 reports on SQLite: 250 a block wrote
#: 1,062 MiB, 3,000 a block 223 MiB, and ran 1.8× as fast).
BATCH = 5000
#: SQLite's page cache for the demo's connections, in KiB (SQLite's default is 2 MiB): the
#: indexes keyed by random ids are written all over, and a page still in the cache from an
#: earlier block is not read again (20,000 reports: 12 % faster with 128 MiB).
PAGE_CACHE_KIB = 131_072
#: Reports that arrive within this much simulated time of the first of them are filed together
#: (``intake.bulk.file_many``), before the work that falls due among them.
WINDOW = timedelta(hours=12)
#: The most ``triage demo --reports`` makes in one run.
MAX_REPORTS = 1_000_000
#: The caseworker of the national hotline, who takes the calls from every region.
HOTLINE = ("caseworker.hotline", Role.CASEWORKER, None)


def staff_accounts() -> tuple[tuple[str, Role, Region | None], ...]:
    """Accounts the demo at scale adds to ``demo.DEMO_ACCOUNTS``: the hotline's caseworker and a
    reviewer for every region the demo reviewers do not cover."""
    covered = {r for _, role, r in demo.DEMO_ACCOUNTS if role is Role.REVIEWER}
    reviewers = tuple(
        (f"reviewer.{region.value}", Role.REVIEWER, region)
        for region in Region
        if region not in covered
    )
    return (HOTLINE, *reviewers)


def ensure_staff(session: Session) -> list[demo.DemoAccount]:
    """The extra accounts (``staff_accounts``), created or given fresh passwords."""
    return demo.ensure(session, staff_accounts())


@dataclass
class Staff:
    """The demo accounts that do the work, loaded in the current transaction."""

    caseworkers: dict[Region | None, User]
    reviewers: dict[Region, User]
    supervisor: User

    @classmethod
    def load(cls, session: Session) -> Staff:
        names = [n for n, _, _ in (*demo.DEMO_ACCOUNTS, *staff_accounts())]
        found = {
            u.username: u for u in session.scalars(select(User).where(User.username.in_(names)))
        }
        caseworkers: dict[Region | None, User] = {}
        reviewers: dict[Region, User] = {}
        for name, role, region in (*demo.DEMO_ACCOUNTS, *staff_accounts()):
            user = found.get(name)
            if user is None:
                raise LookupError(f"the demo account {name} is missing: run ensure_staff first")
            if role is Role.CASEWORKER:
                caseworkers[region] = user
            elif role is Role.REVIEWER and region is not None:
                reviewers[region] = user
        return cls(caseworkers, reviewers, found["supervisor"])

    def caseworker_for(self, region: Region) -> User:
        return self.caseworkers.get(region) or self.caseworkers[None]


@dataclass
class Track:
    """What the simulation remembers of an open case between its pieces of work."""

    case_id: str
    region: Region
    sources: set[SourceKind]
    categories: set[str]
    items: set[int]
    refused: set[str]
    consents: bool
    #: Proposals waiting for the supervisor.
    pending: set[str] = field(default_factory=set)
    #: A measure (other than "no measure") took effect.
    measures_taken: bool = False


@dataclass
class Outcome:
    """What a run did: counts, and how long it took."""

    reports: int = 0
    linked: int = 0
    work: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.reports / self.seconds if self.seconds else 0.0

    @property
    def refused(self) -> dict[str, int]:
        """Pieces of work the rules refused (and that were undone), by the error's name."""
        return {
            k.removeprefix("refused."): n for k, n in self.work.items() if k.startswith("refused.")
        }


#: A piece of work waiting for its moment: when, in what order, on which case, what.
Act = Callable[[datetime], None]
#: How the work is written: ``Batch`` (the default) or ``OneByOne`` (the services themselves).
Desk = Batch | OneByOne
Event = tuple[datetime, int, "Track", Act]


class Simulation:
    """Files ``count`` synthetic reports and works on their cases, on a simulated clock."""

    def __init__(
        self,
        uow: UnitOfWork,
        count: int,
        *,
        seed: int | str = 1,
        now: datetime | None = None,
        rules: ReviewRules | None = None,
        batch: int = BATCH,
        window: timedelta = WINDOW,
        desk: Callable[[Session, ReviewRules], Desk] = Batch,
    ) -> None:
        self.uow = uow
        self.make_desk = desk
        self.count = count
        self.window = window
        self.now = (now or datetime.now(UTC)).astimezone(UTC)
        self.rules = rules or ReviewRules()
        self.batch = batch
        with uow.read() as session:
            already = session.scalar(select(func.count()).select_from(Report)) or 0
        # A second run on the same database draws other people and other links.
        self.synth = Synth(f"{seed}:{already}", self.now)
        self.serial0 = already
        self.rng: random.Random = self.synth.rng
        self.events: list[Event] = []
        self.scheduled = 0
        self.tracks: dict[str, Track] = {}
        self.outcome = Outcome()
        self.staff: Staff
        self.desk: Desk
        #: The newest checklist, read once (``assessments.current_checklist`` lists its folder).
        self.checklist = assessments.current_checklist()

    # -- the loop ---------------------------------------------------------------------------

    def run(self, progress: Callable[[int], None] | None = None) -> Outcome:
        started = time.perf_counter()
        arrivals = self.synth.arrival_times(self.count)
        index = 0
        while index < len(arrivals) or self._due():
            with self.uow.begin() as session, self.make_desk(session, self.rules) as desk:
                _big_page_cache(session)
                self.staff, self.desk = Staff.load(session), desk
                desk.load(self._due_cases())
                before, steps = index, 0
                while steps < self.batch:
                    arrival = arrivals[index] if index < len(arrivals) else None
                    if arrival is not None and (not self.events or arrival <= self.events[0][0]):
                        end = index + 1
                        last = min(len(arrivals), index + self.batch - steps)
                        while end < last and arrivals[end] - arrival <= self.window:
                            end += 1
                        group = range(index, end)
                        self._file(
                            session,
                            [self.synth.report(arrivals[k], self.serial0 + k) for k in group],
                        )
                        steps, index = steps + len(group), end
                    elif self._due():
                        at, _, track, act = heapq.heappop(self.events)
                        self._perform(at, track, act)
                        steps += 1
                    else:
                        break
            if progress is not None and index > before:
                progress(index - before)
        self.outcome.seconds = time.perf_counter() - started
        return self.outcome

    def _due(self) -> bool:
        return bool(self.events) and self.events[0][0] <= self.now

    def _due_cases(self) -> set[str]:
        """The cases of the next ``batch`` pieces of work due, for the desk to load at once."""
        taken: list[Event] = []
        while len(taken) < self.batch and self._due():
            taken.append(heapq.heappop(self.events))
        for event in taken:
            heapq.heappush(self.events, event)
        return {track.case_id for _, _, track, _ in taken if track.case_id in self.tracks}

    def _at(self, at: datetime, track: Track, act: Act) -> None:
        """Schedule ``act`` on the track's case at ``at``; work due after "now" is not done."""
        if at <= self.now:
            heapq.heappush(self.events, (at, self.scheduled, track, act))
            self.scheduled += 1

    def _perform(self, at: datetime, track: Track, act: Act) -> None:
        """Do one piece of work. A step the rules refuse writes nothing and ends the piece of
        work (what was done before it stands, as a reviewer's earlier requests would); it is
        counted (``refused.<error>``) instead of ending the run: rules change, and a year of
        cases should not stop at the ten-thousandth. (The tests want none.)"""
        if track.case_id not in self.tracks:  # closed meanwhile: nothing left to do
            return
        try:
            act(at)
        except DomainError as refused:
            self.outcome.work[f"refused.{type(refused).__name__}"] += 1

    # -- filing -----------------------------------------------------------------------------

    def _file(self, session: Session, group: list[Planned]) -> None:
        """File reports that arrive close together in one batch, each by the caseworker who
        took it (direct reports) or by the system (media and online). A report that probably
        concerns an open case is linked to it, as the form asks the caseworker to do."""
        items = []
        for planned in group:
            direct = planned.source_kind is SourceKind.DIRECT
            filer = self.staff.caseworker_for(planned.region) if direct else None
            actor, filed_by = (str(filer.id), filer.id) if filer else (audit.SYSTEM_ACTOR, None)
            items.append(
                bulk.Item(
                    schema.parse(planned.raw),
                    actor,
                    filed_by=filed_by,
                    attested=direct,
                    received_at=planned.received_at,
                )
            )
        filed = bulk.file_many(session, items, on_match="link", rules=self.rules)
        self.desk.filed(filed)
        for planned, one in zip(group, filed, strict=True):
            self._filed(planned, one)

    def _filed(self, planned: Planned, filed: Filed) -> None:
        """Remember the filed report's case, and schedule a reviewer's first look at it."""
        self.outcome.reports += 1
        if filed.linked:
            self.outcome.linked += 1
            track = self.tracks.get(filed.case.id)
            if track is not None:
                track.sources.add(planned.source_kind)
                track.categories.update(planned.categories)
                track.items.update(planned.items)
                track.refused.update(planned.refused)
                track.consents |= planned.consents
            return
        case = filed.case
        track = Track(
            case.id,
            planned.region,
            {planned.source_kind},
            set(planned.categories),
            set(planned.items),
            set(planned.refused),
            planned.consents,
        )
        self.tracks[case.id] = track
        if self.rng.random() < 0.04:  # never looked at: the backlog
            return
        at = planned.received_at
        self._at(at + self._response_time(RiskLevel(case.risk_level)), track, self._work(track))

    def _response_time(self, level: RiskLevel) -> timedelta:
        rng = self.rng
        on_time, late = {
            RiskLevel.HIGH: ((1, 20), (24, 72)),
            RiskLevel.MEDIUM: ((4, 60), (72, 170)),
            RiskLevel.STANDARD: ((24, 150), (170, 480)),
        }[level]
        low, high = on_time if rng.random() < 0.85 else late
        return timedelta(hours=rng.uniform(low, high))

    # -- a reviewer's session on a case -----------------------------------------------------

    def _work(self, track: Track) -> Act:
        def act(at: datetime) -> None:
            rng = self.rng
            reviewer = self.staff.reviewers[track.region]
            case = self.desk.claim(reviewer, track.case_id, now=at)
            unverified = case.verification == Verification.UNVERIFIED.value
            if unverified and rng.random() < 0.8 and not self._verify(reviewer, case, track, at):
                self.outcome.work["unfounded"] += 1
                self.tracks.pop(track.case_id, None)
                return
            assess = 0.85 if SourceKind.DIRECT in track.sources else 0.65
            if rng.random() < assess:
                self._assess(reviewer, case, track, at)
            last = at
            for measure in self._measures(case, track):
                last = max(last, self._propose(reviewer, case, track, measure, at))
            if last == at and not track.pending and rng.random() < 0.3:
                self._close_now(reviewer, case, track, at)  # nothing left to wait for
                return
            self.desk.release(reviewer, case.id, now=at)
            if rng.random() < 0.75:
                self._at(last + timedelta(days=rng.uniform(3, 40)), track, self._close(track))

        return act

    def _verify(self, reviewer: User, case: Case, track: Track, at: datetime) -> bool:
        """Corroborate the case (``True``), or find it unfounded (``False``: it closes)."""
        rng = self.rng
        corroborated = rng.random() < 0.8
        method = None
        if corroborated:
            direct = SourceKind.DIRECT in track.sources
            method = pick(rng, _METHODS_DIRECT if direct else _METHODS_PUBLISHED)
            note = rng.choice(texts.CORROBORATION_NOTES[method])
        else:
            note = rng.choice(texts.UNFOUNDED_REASONS)
        self.desk.record_verification(
            reviewer,
            case.id,
            version=case.version,
            outcome="corroborated" if corroborated else "unfounded",
            method=method,
            note=note,
            now=at,
        )
        if corroborated:
            self.outcome.work["corroborated"] += 1
        return corroborated

    def _assess(self, reviewer: User, case: Case, track: Track, at: datetime) -> None:
        rng = self.rng
        answers: dict[int, str] = {}
        for number in range(1, 23):
            if number in track.items:
                answers[number] = "yes" if rng.random() < 0.9 else "unknown"
            else:
                noise = 15 if number in _COMMON_ITEMS else 4  # what a report need not say
                answers[number] = pick(rng, (("yes", noise), ("no", 66), ("unknown", 30)))
        checklist = self.checklist
        computed = scoring.score(checklist, answers).level
        level, reason = computed, None
        roll = rng.random()
        if roll < 0.03 and computed is not RiskLevel.HIGH:
            level = RiskLevel.HIGH if computed is RiskLevel.MEDIUM else RiskLevel.MEDIUM
            reason = rng.choice(texts.OVERRIDE_REASONS)
        elif roll < 0.06 and computed is RiskLevel.HIGH:
            level, reason = RiskLevel.MEDIUM, rng.choice(texts.OVERRIDE_REASONS)
        assessment = self.desk.record_assessment(
            reviewer,
            case.id,
            version=case.version,
            answers=answers,
            level=level.value,
            reason=reason,
            checklist=checklist,
            now=at,
        )
        self.outcome.work["assessed"] += 1
        if assessment.override_status is not None:  # a lowering of high: four eyes
            decide_at = at + timedelta(hours=rng.uniform(2, 30))
            self._at(decide_at, track, self._override(assessment.id))

    def _override(self, assessment_id: str) -> Act:
        def act(at: datetime) -> None:
            approve = self.rng.random() < 0.65
            self.desk.decide_override(
                self.staff.supervisor,
                assessment_id,
                approve=approve,
                reason=None if approve else self.rng.choice(texts.REJECTION_REASONS),
                now=at,
            )
            self.outcome.work["override_approved" if approve else "override_rejected"] += 1

        return act

    # -- measures ---------------------------------------------------------------------------

    def _measures(self, case: Case, track: Track) -> list[str]:
        """The measures a reviewer would propose for the case as it stands."""
        rng = self.rng
        level = RiskLevel(case.risk_level)
        chosen: list[str] = []
        if "contact_victim" not in track.refused:
            if rng.random() < 0.55:
                chosen.append("contact_victim")
        elif level is RiskLevel.HIGH and rng.random() < 0.3:  # against her wishes, with a reason
            chosen.append("contact_victim")
        if level is not RiskLevel.STANDARD and rng.random() < 0.3:
            chosen.append("safety_plan")
        if track.consents and "refer_support" not in track.refused and rng.random() < 0.4:
            chosen.append("refer_support")
        if case.verification == Verification.CORROBORATED.value:
            harm = bool(
                track.categories
                & {"battery", "minor_harm", "serious_harm", "threat", "persecution", "killing"}
            )
            options: dict[RiskLevel, tuple[tuple[str, float], ...]] = {
                RiskLevel.HIGH: (
                    ("protective_order", 0.6),
                    ("criminal_referral", 0.35 if harm else 0.0),
                    ("special_requirements", 0.5 if 11 in track.items else 0.08),
                    ("administrative_detention", 0.1),
                ),
                RiskLevel.MEDIUM: (
                    ("preventive_talk", 0.45),
                    ("protective_order", 0.25),
                    ("preventive_registration", 0.2),
                    ("administrative_detention", 0.1 if "battery" in track.categories else 0.0),
                ),
                RiskLevel.STANDARD: (("preventive_talk", 0.35),),
            }
            chosen += [m for m, p in options[level] if rng.random() < p]
            if 15 in track.items and rng.random() < 0.15:
                chosen.append("compulsory_assistance")
        if not chosen and rng.random() < 0.7:
            chosen.append("no_action")
        return chosen[:3]

    def _propose(
        self,
        reviewer: User,
        case: Case,
        track: Track,
        measure: str,
        at: datetime,
    ) -> datetime:
        """Propose ``measure``; schedule its approval or its follow-up. Returns when the last
        piece of work it brings is due."""
        rng = self.rng
        ends_on = None
        if measure == "special_requirements":
            ends_on = at.date() + timedelta(days=rng.choice((90, 180, 364)))
        decision = self.desk.propose(
            reviewer,
            case.id,
            version=case.version,
            measure=measure,
            rationale=texts.RATIONALES[measure],
            grounds=self._grounds(measure, track),
            ends_on=ends_on,
            wishes_reason=texts.AGAINST_WISHES if measure in track.refused else None,
            today=at.date(),
            now=at,
        )
        self.outcome.work[f"proposed.{measure}"] += 1
        if decision.status == DecisionStatus.AWAITING_APPROVAL.value:
            track.pending.add(decision.id)
            wait = rng.uniform(1, 48) if rng.random() < 0.85 else rng.uniform(48, 170)
            decide_at = at + timedelta(hours=wait)
            self._at(decide_at, track, self._decide(track, decision.id))
            return decide_at + self._follow_up_after(decision.follow_up_on, decide_at)
        track.measures_taken |= measure != "no_action"
        if decision.follow_up_on is not None:
            return self._schedule_follow_up(track, decision.id, decision.follow_up_on)
        return at

    def _grounds(self, measure: str, track: Track) -> list[str]:
        """The legal grounds a reviewer picks from those the decision form offers for
        ``measure`` (``rules.legal``): the article of the measure itself — for a referral to
        investigators, the articles of what the report describes — often with the general
        article of individual prevention, sometimes with the sanction for a breach."""
        rng = self.rng
        offered = [g.code for g in self.rules.legal.for_measure(measure)]
        if not offered:
            return []
        if measure == "criminal_referral":
            named = [texts.CRIMINAL_GROUNDS[c] for c in sorted(track.categories)
                     if c in texts.CRIMINAL_GROUNDS]  # fmt: skip
            chosen = [c for c in dict.fromkeys(named) if c in offered][:2]
            return chosen or [rng.choice(offered)]
        specific = min(offered, key=lambda c: len(self.rules.legal.grounds[c].measures))
        chosen = [specific]
        for code in offered:
            if code != specific and rng.random() < 0.35:
                chosen.append(code)
        return [c for c in offered if c in chosen][:3]

    def _follow_up_after(self, follow_up_on: date | None, at: datetime) -> timedelta:
        if follow_up_on is None:
            return timedelta(0)
        return max(timedelta(0), _morning(follow_up_on) - at) + timedelta(days=3)

    def _schedule_follow_up(self, track: Track, decision_id: str, on: date) -> datetime:
        at = _morning(on) + timedelta(hours=self.rng.uniform(0, 72))
        if self.rng.random() < 0.85:
            self._at(at, track, self._follow_up(track, decision_id))
        return at

    def _decide(self, track: Track, decision_id: str) -> Act:
        def act(at: datetime) -> None:
            track.pending.discard(decision_id)
            decision = self.desk.decision(decision_id)
            if decision is None or decision.status != DecisionStatus.AWAITING_APPROVAL.value:
                return
            roll = self.rng.random()
            supervisor = self.staff.supervisor
            if roll < 0.82:
                self.desk.approve(supervisor, decision_id, version=decision.version, now=at)
                self.outcome.work["approved"] += 1
                track.measures_taken = True
                if decision.follow_up_on is not None:
                    self._schedule_follow_up(track, decision_id, decision.follow_up_on)
            elif roll < 0.92:
                self.desk.reject(
                    supervisor,
                    decision_id,
                    version=decision.version,
                    reason=self.rng.choice(texts.REJECTION_REASONS),
                    now=at,
                )
                self.outcome.work["rejected"] += 1
            else:
                proposer = self.staff.reviewers[track.region]
                self.desk.withdraw(proposer, decision_id, version=decision.version)
                self.outcome.work["withdrawn"] += 1

        return act

    def _follow_up(self, track: Track, decision_id: str) -> Act:
        def act(at: datetime) -> None:
            decision = self.desk.decision(decision_id)
            if decision is None or decision.status != DecisionStatus.IN_EFFECT.value:
                return
            reviewer = self.staff.reviewers[track.region]
            self.desk.claim(reviewer, track.case_id, now=at)
            self.desk.record_follow_up(
                reviewer, decision_id, note=self.rng.choice(texts.FOLLOW_UP_NOTES), now=at
            )
            self.desk.release(reviewer, track.case_id, now=at)
            self.outcome.work["followed_up"] += 1

        return act

    def _close(self, track: Track) -> Act:
        def act(at: datetime) -> None:
            if track.pending:  # proposals still wait for the supervisor: come back later
                self._at(at + timedelta(days=2), track, self._close(track))
                return
            reviewer = self.staff.reviewers[track.region]
            case = self.desk.claim(reviewer, track.case_id, now=at)
            self._close_now(reviewer, case, track, at)

        return act

    def _close_now(self, reviewer: User, case: Case, track: Track, at: datetime) -> None:
        """Close the case the reviewer holds, with an outcome that fits what was decided."""
        rng = self.rng
        self.desk.close_case(
            reviewer,
            case.id,
            version=case.version,
            outcome=pick(rng, _OUTCOMES_MEASURES if track.measures_taken else _OUTCOMES_NONE),
            note=rng.choice(texts.CLOSING_NOTES) or None,
            now=at,
        )
        self.outcome.work["closed"] += 1
        self.tracks.pop(track.case_id, None)


#: Checklist items often true though no report mentions them: escalation, earlier police
#: calls, alcohol, unemployment.
_COMMON_ITEMS = frozenset({5, 13, 15, 21})
#: How a case ends: after measures took effect, or without any.
_OUTCOMES_MEASURES = (("measures_taken", 85), ("referred_elsewhere", 15))
_OUTCOMES_NONE = (("no_measure_needed", 60), ("victim_declined", 25), ("referred_elsewhere", 15))
#: How a report is corroborated: one a person made, or one that was published.
_METHODS_DIRECT = (("police_check", 40), ("victim_contact", 45), ("records", 15))
_METHODS_PUBLISHED = (
    ("second_source", 30),
    ("police_check", 35),
    ("victim_contact", 25),
    ("records", 10),
)


def _big_page_cache(session: Session) -> None:
    """On SQLite, give the block's connection ``PAGE_CACHE_KIB`` of page cache. The connection
    keeps it when it goes back to the pool (a smaller cache would drop the pages the next block
    needs): the demo's process holds up to that much more memory per connection until it ends."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql(f"PRAGMA cache_size = -{PAGE_CACHE_KIB}")


def _morning(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC)


# -- what is in the database -------------------------------------------------------------------


@dataclass(frozen=True)
class Census:
    """Counts of what the database holds, by the plain columns only (nothing is decrypted)."""

    reports: Counter[str]
    cases: Counter[str]
    decisions: Counter[str]
    events: int

    def lines(self) -> Iterable[str]:
        def join(counts: Counter[str], prefix: str) -> str:
            found = {k.removeprefix(prefix): v for k, v in counts.items() if k.startswith(prefix)}
            return ", ".join(f"{k} {v}" for k, v in sorted(found.items()))

        yield f"Reports: {self.reports['all']} ({join(self.reports, 'source.')})"
        yield f"Cases: {self.cases['all']} ({join(self.cases, 'status.')})"
        yield f"  levels: {join(self.cases, 'level.')}"
        yield f"  verification: {join(self.cases, 'verification.')}"
        yield f"Decisions: {self.decisions['all']} ({join(self.decisions, 'status.')})"
        yield f"Audit events: {self.events}"


def census(session: Session) -> Census:
    reports: Counter[str] = Counter()
    for kind, region, n in session.execute(
        select(Report.source_kind, Report.region, func.count()).group_by(
            Report.source_kind, Report.region
        )
    ):
        reports["all"] += n
        reports[f"source.{kind}"] += n
        reports[f"region.{region}"] += n
    cases: Counter[str] = Counter()
    for status, level, verified, n in session.execute(
        select(Case.status, Case.risk_level, Case.verification, func.count()).group_by(
            Case.status, Case.risk_level, Case.verification
        )
    ):
        cases["all"] += n
        cases[f"status.{status}"] += n
        cases[f"level.{level}"] += n
        cases[f"verification.{verified}"] += n
    found: Counter[str] = Counter()
    for status, measure, n in session.execute(
        select(Decision.status, Decision.measure, func.count()).group_by(
            Decision.status, Decision.measure
        )
    ):
        found["all"] += n
        found[f"status.{status}"] += n
        found[f"measure.{measure}"] += n
    events = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    return Census(reports, cases, found, events)


def populate(
    uow: UnitOfWork,
    count: int,
    *,
    seed: int | str = 1,
    now: datetime | None = None,
    rules: ReviewRules | None = None,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
) -> Outcome:
    """File ``count`` synthetic reports over the last year and work on their cases (see the
    module's docstring). The demo accounts and ``staff_accounts`` must exist."""
    simulation = Simulation(uow, count, seed=seed, now=now, rules=rules, batch=batch)
    return simulation.run(progress)
