"""API clients of the intake API: their tokens, what each may post, and the filing of a report
sent by one, with idempotent retries.

Each write runs in a block of the unit of work (``triage.uow``): ``submit`` opens its own (and a
second one to answer a retry that lost a race), ``refuse`` puts a refused request on record in a
block of its own, after the request's block has rolled back.

A token is 256 random bits, shown once when it is made; only its SHA-256 is kept (a hash of a
random secret of that size needs no salt or slow hash: nothing can be guessed). Its first
characters, the *prefix*, are not secret: they name the token in the list of clients and in
audit events, and so must never be what grants anything (rate limits count a client by its id,
once its token is verified). A client may post only the source kinds in its scopes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import audit
from ..errors import N_, Conflict, DomainError, InvalidInput, NotFound
from ..models import ApiClient, Case, IdempotencyKey, Report, utcnow
from ..review.rules import ReviewRules
from ..uow import UnitOfWork
from ..vocab import ReportStatus, RiskLevel, SourceKind, Verification
from . import schema, service

log = logging.getLogger("triage")

#: Every token starts so, so that secret scanners and people recognise one.
TOKEN_MARK = "trg_"  # noqa: S105 (a marker, not a secret)
#: Characters of the token kept in clear: the mark and 8 random characters (48 bits).
PREFIX_LENGTH = len(TOKEN_MARK) + 8
_TOKEN_BYTES = 32
_TOKEN = re.compile(rf"^{TOKEN_MARK}[A-Za-z0-9_-]{{43}}$")
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
NAME_MAX = 100
#: ``last_used_at`` is written at most this often per client, so reads stay cheap.
LAST_USED_GRANULARITY = timedelta(minutes=1)
ACTOR_PREFIX = "api:"


class TokenRejected(DomainError):
    """No usable token: missing, not a triage token, unknown, or revoked (HTTP 401)."""

    status = HTTPStatus.UNAUTHORIZED
    title = N_("Authentication required")

    def __init__(
        self, reason: str, message: str, *, prefix: str | None = None, **params: object
    ) -> None:
        self.reason = reason
        self.prefix = prefix
        self.client_id: int | None = None
        super().__init__(message, **params)


class OutOfScope(DomainError):
    """The token is good, but its client may not post this source kind (HTTP 403)."""

    status = HTTPStatus.FORBIDDEN
    title = N_("Not allowed for this token")

    def __init__(self, client: ApiClient, source_kind: str) -> None:
        self.reason = "out_of_scope"
        self.prefix: str | None = client.token_prefix
        self.client_id: int | None = client.id
        self.source_kind = source_kind
        if client.scopes:
            super().__init__(
                N_("This token may post %(scopes)s, not %(kind)s."),
                scopes=", ".join(client.scopes),
                kind=source_kind,
            )
        else:
            super().__init__(N_("This token may post nothing, not %(kind)s."), kind=source_kind)


class IdempotencyKeyReused(InvalidInput):
    """The ``Idempotency-Key`` was used before with a different request body."""

    title = N_("Idempotency key reused")


class InvalidIdempotencyKey(InvalidInput):
    status = HTTPStatus.BAD_REQUEST
    title = N_("Invalid Idempotency-Key header")


class SourceOnRecord(Conflict):
    """The source URL is on record already (HTTP 409). The first report is named only to the
    client that posted it: to anyone else, its id and case would reveal another's report."""

    title = N_("Source already reported")

    def __init__(self, report_id: str | None = None, case_code: str | None = None) -> None:
        self.report_id = report_id
        self.case_code = case_code
        super().__init__(
            N_(
                "This source URL was reported before by this client; the first report is named "
                "here."
            )
            if report_id
            else N_("This source URL is already on record; it need not be sent again.")
        )


# -- tokens ------------------------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return TOKEN_MARK + secrets.token_urlsafe(_TOKEN_BYTES)


def token_prefix(token: str | None) -> str | None:
    """The clear prefix of something shaped like a triage token; ``None`` for anything else, so
    that no arbitrary text a caller sends ends up in a log, a counter key or an audit event."""
    if token is None or not _TOKEN.match(token):
        return None
    return token[:PREFIX_LENGTH]


def actor_of(client: ApiClient) -> str:
    """The audit ``actor`` of what a client does."""
    return f"{ACTOR_PREFIX}{client.id}"


def _scopes(values: Iterable[str]) -> list[str]:
    chosen = set(values)
    unknown = chosen - {k.value for k in SourceKind}
    if unknown:
        raise InvalidInput(N_("Scopes must be source kinds: direct, media or online."))
    if not chosen:
        raise InvalidInput(N_("Choose at least one source kind the client may post."))
    return [k.value for k in SourceKind if k.value in chosen]


def create_client(
    session: Session,
    *,
    name: str,
    scopes: Iterable[str],
    actor: str,
    created_by: int | None = None,
) -> tuple[ApiClient, str]:
    """Make a client and its token. The token is returned here and nowhere ever again."""
    name = " ".join(name.split())
    if not name:
        raise InvalidInput(N_("Give the client a name."))
    if len(name) > NAME_MAX:
        raise InvalidInput(N_("The name may have at most %(n)d characters."), n=NAME_MAX)
    kinds = _scopes(scopes)
    token = new_token()
    client = ApiClient(
        name=name,
        token_prefix=token[:PREFIX_LENGTH],
        token_hash=hash_token(token),
        scopes=kinds,
        created_by=created_by,
        created_at=utcnow(),
    )
    session.add(client)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="token.created",
        object_type="api_client",
        object_id=client.id,
        details={
            "client_id": client.id,
            "scopes": list(kinds),
            "token_prefix": client.token_prefix,
        },
    )
    return client, token


def list_clients(session: Session) -> list[ApiClient]:
    """Active clients first, newest first."""
    return list(
        session.scalars(
            select(ApiClient).order_by(
                ApiClient.revoked_at.is_not(None), ApiClient.created_at.desc(), ApiClient.id.desc()
            )
        )
    )


def get(session: Session, client_id: int) -> ApiClient:
    client = session.get(ApiClient, client_id)
    if client is None:
        raise NotFound(N_("There is no such API client."))
    return client


def revoke(session: Session, client: ApiClient, *, actor: str) -> bool:
    """Revoke the client's token for good; ``False`` if it was revoked already."""
    if client.revoked_at is not None:
        return False
    client.revoked_at = utcnow()
    audit.append(
        session,
        actor=actor,
        action="token.revoked",
        object_type="api_client",
        object_id=client.id,
        details={
            "client_id": client.id,
            "scopes": list(client.scopes),
            "token_prefix": client.token_prefix,
        },
    )
    session.flush()
    return True


def authenticate(session: Session, token: str | None) -> ApiClient:
    """The active client holding ``token``; otherwise ``TokenRejected`` saying why.

    Only reads: the use is recorded (``record_use``) by the block that does the request's work.
    """
    if not token:
        raise TokenRejected(
            "missing_token", N_("Send the client's token: Authorization: Bearer <token>.")
        )
    prefix = token_prefix(token)
    if prefix is None:
        raise TokenRejected("malformed_token", N_("The token is not a triage API token."))
    digest = hash_token(token)
    client = session.scalar(select(ApiClient).where(ApiClient.token_hash == digest))
    if client is None or not hmac.compare_digest(client.token_hash, digest):
        raise TokenRejected("unknown_token", N_("The token is not valid."), prefix=prefix)
    if client.revoked_at is not None:
        rejected = TokenRejected("revoked", N_("The token was revoked."), prefix=prefix)
        rejected.client_id = client.id
        raise rejected
    return client


def record_use(session: Session, client: ApiClient) -> None:
    """Record in ``last_used_at`` (to the minute) that ``client`` made a request, in the caller's
    transaction; a token revoked since it was authenticated is refused here."""
    current = session.get(ApiClient, client.id)
    if current is None or current.revoked_at is not None:
        rejected = TokenRejected(
            "revoked", N_("The token was revoked."), prefix=client.token_prefix
        )
        rejected.client_id = client.id
        raise rejected
    now = utcnow()
    if current.last_used_at is None or now - current.last_used_at >= LAST_USED_GRANULARITY:
        current.last_used_at = now


def refuse(
    uow: UnitOfWork,
    refused: TokenRejected | OutOfScope,
    *,
    endpoint: str,
    method: str,
    address: str | None,
) -> None:
    """Put a refused request on record, in a block of its own: the request's block, if it had
    opened one, has rolled back by now.

    A client on record (a revoked token, a source kind outside its scopes) gets an ``api.rejected``
    event. No token, a malformed or an unknown one gets a log line naming the address and the
    reason, never the token: anyone can send one, so it must not be able to grow the permanent
    audit chain.
    """
    if refused.client_id is None:
        log.warning(
            "API request refused: %s from %s (%s %s)", refused.reason, address, method, endpoint
        )
        return
    with uow.begin() as session:
        record_rejection(session, refused, endpoint=endpoint, method=method)


def record_rejection(
    session: Session, refused: TokenRejected | OutOfScope, *, endpoint: str, method: str
) -> None:
    """Audit a refused request of a known client (a revoked token, or a source kind outside its
    scopes): the reason and the token's prefix, never the token. Tokens that name no client are
    not audited: anyone could send them, and the audit chain is permanent."""
    details: dict[str, str | int | None] = {
        "reason": refused.reason,
        "token_prefix": refused.prefix,
        "endpoint": endpoint,
        "method": method,
    }
    if isinstance(refused, OutOfScope):
        details["source_kind"] = refused.source_kind
    audit.append(
        session,
        actor=audit.SYSTEM_ACTOR
        if refused.client_id is None
        else f"{ACTOR_PREFIX}{refused.client_id}",
        action="api.rejected",
        object_type="api_client",
        object_id=refused.client_id,
        details=details,
    )


# -- reports posted through the API ------------------------------------------------------------


#: A moment as the audit log writes it: UTC, ISO 8601 with microseconds and ``Z``.
Moment = Annotated[
    datetime,
    PlainSerializer(audit.format_time, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class ReportState(BaseModel):
    """What the posting client may know about its report: no personal data, and nothing derived
    from other reports (such as probable matches), which would tell a client whether someone is
    in a case on record."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, Field(description="The report's id.", json_schema_extra={"format": "uuid"})]
    case: Annotated[
        str | None,
        Field(description="The pseudonymous code of the report's case (C-XXXX-XXXX)."),
    ]
    source_kind: SourceKind
    status: ReportStatus
    verification: Verification
    provisional_level: Annotated[
        RiskLevel | None,
        Field(
            description="Risk level from the text's screening signals, until a reviewer "
            "assesses the case."
        ),
    ]
    signals: Annotated[
        list[str], Field(description="Screening signal kinds found in a media or online text.")
    ]
    received_at: Moment

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


@dataclass(frozen=True)
class Submitted:
    state: ReportState
    #: ``True`` when an earlier request with the same idempotency key filed the report.
    replayed: bool


def request_hash(body: Any) -> str:
    """SHA-256 of the body's canonical JSON: a retry that re-serialises the same document (keys
    in another order, other spacing) still counts as the same request."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def check_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not _KEY.match(key):
        raise InvalidIdempotencyKey(
            N_(
                "The Idempotency-Key header must be 1 to 200 visible ASCII characters "
                "(a UUID is a good choice)."
            )
        )
    return key


def state_of(session: Session, report: Report) -> ReportState:
    case = session.get(Case, report.case_id) if report.case_id else None
    return ReportState(
        id=report.id,
        case=case.code if case else None,
        source_kind=SourceKind(report.source_kind),
        status=ReportStatus(report.status),
        verification=Verification(report.verification),
        provisional_level=RiskLevel(report.risk_level) if report.risk_level else None,
        signals=list(report.signals or []),
        received_at=report.received_at,
    )


def own_report(session: Session, client: ApiClient, report_id: str) -> ReportState:
    """A report this client posted, its use recorded; any other id is "not found", so ids reveal
    nothing."""
    record_use(session, client)
    report = session.get(Report, report_id)
    if report is None or report.api_client_id != client.id:
        raise NotFound(N_("This client posted no report with that id."))
    return state_of(session, report)


def _replay(session: Session, client: ApiClient, key: str, digest: str) -> Submitted | None:
    earlier = session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.client_id == client.id, IdempotencyKey.key == key
        )
    )
    if earlier is None:
        return None
    if not hmac.compare_digest(earlier.request_hash, digest):
        raise IdempotencyKeyReused(
            N_(
                "This Idempotency-Key was used before with a different request body; "
                "use a new key for a new report."
            )
        )
    report = session.get(Report, earlier.report_id)
    assert report is not None  # the key row cascades away with its report
    return Submitted(state_of(session, report), replayed=True)


def submit(
    uow: UnitOfWork,
    client: ApiClient,
    body: Mapping[str, Any],
    *,
    idempotency_key: str | None = None,
    rules: ReviewRules | None = None,
) -> Submitted:
    """File a report a client posted, in a block of its own: stored, sealed, audited and its
    idempotency key kept, or nothing.

    An idempotent retry can race the request it repeats: both look the key up before either
    commits. The one that loses at the unique key (client, key) leaves its block rolled back,
    and a second block answers it with the winner's report.
    """
    try:
        with uow.begin() as session:
            record_use(session, client)
            return _file(session, client, body, idempotency_key, rules)
    except IntegrityError:
        if idempotency_key is None:
            raise
        with uow.read() as session:
            replayed = _replay(session, client, idempotency_key, request_hash(body))
        if replayed is None:
            raise
        return replayed


def _file(
    session: Session,
    client: ApiClient,
    body: Mapping[str, Any],
    idempotency_key: str | None,
    rules: ReviewRules | None,
) -> Submitted:
    """The filing itself, in the caller's transaction.

    The client must hold the source kind in its scopes (``OutOfScope``). With an idempotency key
    seen before, the first report is returned and nothing is filed. A probable match never stops
    a machine client and is never told to it: the report opens a case of its own and reviewers
    see the matches on the case page. A source URL already on record raises ``SourceOnRecord``,
    naming the first report only when this client posted it.
    """
    kind = body.get("source_kind")
    if (
        isinstance(kind, str)
        and kind in {k.value for k in SourceKind}
        and kind not in client.scopes
    ):
        raise OutOfScope(client, kind)
    digest = request_hash(body)
    if idempotency_key is not None:
        replayed = _replay(session, client, idempotency_key, digest)
        if replayed is not None:
            return replayed
    incoming = schema.parse(body)
    if incoming.source_kind not in client.scopes:  # a kind the check above could not read
        raise OutOfScope(client, incoming.source_kind)
    try:
        filed = service.file(
            session,
            incoming,
            actor=actor_of(client),
            api_client_id=client.id,
            new_case=True,
            rules=rules,
        )
    except service.DuplicateSource as exc:
        if idempotency_key is not None:
            # A concurrent request with the same key may have filed this very source: on
            # PostgreSQL this one waited for the source URL's lock until that one committed,
            # so its key is visible now (READ COMMITTED). Answer as the retry it is.
            replayed = _replay(session, client, idempotency_key, digest)
            if replayed is not None:
                return replayed
        raise _source_on_record(session, client, exc) from None
    if idempotency_key is not None:
        session.add(
            IdempotencyKey(
                client_id=client.id,
                key=idempotency_key,
                request_hash=digest,
                report_id=filed.report.id,
                created_at=utcnow(),
            )
        )
    session.flush()
    state = state_of(session, filed.report)
    return Submitted(state, replayed=False)


def _source_on_record(
    session: Session, client: ApiClient, duplicate: service.DuplicateSource
) -> SourceOnRecord:
    first = session.get(Report, duplicate.report_id)
    if first is None or first.api_client_id != client.id:
        return SourceOnRecord()
    return SourceOnRecord(first.id, duplicate.case_code)
