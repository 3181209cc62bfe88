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

A process remembers the tokens it verified (``verify``, at most ``TOKEN_CACHE_SIZE`` for
``TOKEN_CACHE_SECONDS``), so a client's requests do not each open a transaction to look the
token up. This never delays a revocation: every request's own block reads the client's row
again (``_standing``) and refuses a token revoked since, so a revoked token stops working with
the next request, in every worker. Only tokens that were valid are remembered: an unknown one is
looked up every time (and counted as a failed authentication), so guessing cannot fill memory.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema
from sqlalchemy import and_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import audit
from ..errors import N_, Conflict, DomainError, InvalidInput, NotFound
from ..models import ApiClient, Case, IdempotencyKey, Report, utcnow
from ..review.rules import ReviewRules
from ..uow import UnitOfWork
from ..vocab import ReportStatus, RiskLevel, SourceKind, Verification
from . import schema, service
from .schema import InvalidReport

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
#: Verified tokens a process remembers (``verify``), and for how long (a bound on memory and
#: on how stale a client's name and scopes can be; revocation is checked on every request).
TOKEN_CACHE_SIZE = 1024
TOKEN_CACHE_SECONDS = 300.0


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


@dataclass(frozen=True)
class _Known:
    """What a process remembers of a verified token's client (never the token itself)."""

    client_id: int
    name: str
    token_prefix: str
    token_hash: str
    scopes: tuple[str, ...]
    until: float

    def client(self) -> ApiClient:
        """A fresh, transient copy of the client: no session holds it, no caller shares it."""
        return ApiClient(
            id=self.client_id,
            name=self.name,
            token_prefix=self.token_prefix,
            token_hash=self.token_hash,
            scopes=list(self.scopes),
        )


class _TokenCache:
    """Token digest → ``_Known``, the oldest dropped past ``TOKEN_CACHE_SIZE``; thread-safe."""

    def __init__(self) -> None:
        self._known: OrderedDict[str, _Known] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: str) -> ApiClient | None:
        with self._lock:
            known = self._known.get(digest)
            if known is None:
                return None
            if known.until <= time.monotonic():
                del self._known[digest]
                return None
            self._known.move_to_end(digest)
        return known.client()

    def put(self, client: ApiClient) -> None:
        known = _Known(
            client.id,
            client.name,
            client.token_prefix,
            client.token_hash,
            tuple(client.scopes),
            time.monotonic() + TOKEN_CACHE_SECONDS,
        )
        with self._lock:
            self._known[client.token_hash] = known
            self._known.move_to_end(client.token_hash)
            while len(self._known) > TOKEN_CACHE_SIZE:
                self._known.popitem(last=False)

    def __len__(self) -> int:
        return len(self._known)

    def forget(self, client_id: int) -> None:
        with self._lock:
            for digest in [d for d, k in self._known.items() if k.client_id == client_id]:
                del self._known[digest]


#: One cache per unit of work (so per app and database), gone with it.
_CACHES: weakref.WeakKeyDictionary[UnitOfWork, _TokenCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def _cache(uow: UnitOfWork) -> _TokenCache:
    with _CACHES_LOCK:
        cache = _CACHES.get(uow)
        if cache is None:
            cache = _CACHES[uow] = _TokenCache()
    return cache


def verify(uow: UnitOfWork, token: str | None) -> ApiClient:
    """``authenticate`` with the process's memory of tokens it verified before: the client,
    or ``TokenRejected``. What it returns is a transient copy, for the request's checks and
    counts; the request's own block checks the client's row again (``record_use``)."""
    if token and token_prefix(token) is not None:
        known = _cache(uow).get(hash_token(token))
        if known is not None:
            return known
    with uow.read() as session:
        client = authenticate(session, token)
    _cache(uow).put(client)
    return client


def record_use(session: Session, client: ApiClient) -> None:
    """Record in ``last_used_at`` (to the minute) that ``client`` made a request, in the caller's
    transaction; a token revoked since it was authenticated is refused here."""
    _standing(session, client, None)


def _standing(session: Session, client: ApiClient, key: str | None) -> _Earlier | None:
    """``record_use`` and the lookup of the client's earlier request with idempotency ``key``,
    in one read of the client's row (joined to the key's, if any): a token revoked since it was
    authenticated is refused, and ``last_used_at`` is written only when a minute has passed."""
    columns = [ApiClient.revoked_at, ApiClient.last_used_at]
    query = select(*columns).where(ApiClient.id == client.id)
    if key is not None:
        query = query.add_columns(IdempotencyKey.request_hash, IdempotencyKey.report_id).outerjoin(
            IdempotencyKey,
            and_(IdempotencyKey.client_id == ApiClient.id, IdempotencyKey.key == key),
        )
    row = session.execute(query).first()
    if row is None or row.revoked_at is not None:
        rejected = TokenRejected(
            "revoked", N_("The token was revoked."), prefix=client.token_prefix
        )
        rejected.client_id = client.id
        raise rejected
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_GRANULARITY:
        session.execute(update(ApiClient).where(ApiClient.id == client.id).values(last_used_at=now))
    if key is None or row.request_hash is None:
        return None
    return _Earlier(row.request_hash, row.report_id)


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
    if refused.reason == "revoked":
        _cache(uow).forget(refused.client_id)
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


@dataclass(frozen=True)
class _Earlier:
    """The request that an idempotency key was first used with: its body's hash, its report."""

    request_hash: str
    report_id: str


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
    return _replayed(session, _Earlier(earlier.request_hash, earlier.report_id), digest)


def _replayed(session: Session, earlier: _Earlier, digest: str) -> Submitted:
    """The answer to a request that repeats ``earlier``: its report, if the body is the same."""
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


@dataclass(frozen=True)
class _Parsed:
    """A body parsed and prepared for filing before the transaction opens, or why it could not
    be (raised in the transaction, after an earlier request with the same key is looked for)."""

    digest: str
    incoming: service.Incoming | None = None
    ready: service.Prepared | None = None
    invalid: InvalidReport | None = None
    #: a readable source kind outside the client's scopes
    out_of_scope: str | None = None


def _parse(uow: UnitOfWork, client: ApiClient, body: Mapping[str, Any]) -> _Parsed:
    """Everything the filing needs from the body alone: the scope check of a readable source
    kind, the body's hash, the validated report, its screening and blind-index tokens. None of it
    touches the database, so none of it is done while the filing's transaction holds locks.
    Nothing is refused here: the block first checks the token is still valid (``_standing``)."""
    kind = body.get("source_kind")
    digest = request_hash(body)
    if (
        isinstance(kind, str)
        and kind in {k.value for k in SourceKind}
        and kind not in client.scopes
    ):
        return _Parsed(digest, out_of_scope=kind)
    try:
        incoming = schema.parse(body)
    except InvalidReport as exc:
        return _Parsed(digest, invalid=exc)
    return _Parsed(digest, incoming, service.prepare(incoming, uow.keyring.current))


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

    The body is validated, screened and blind-indexed before the block opens (``_parse``). An
    idempotent retry can race the request it repeats: both look the key up before either
    commits. The one that loses at the unique key (client, key) leaves its block rolled back,
    and a second block answers it with the winner's report.
    """
    parsed = _parse(uow, client, body)
    try:
        with uow.begin() as session:
            return _file(session, client, parsed, idempotency_key, rules)
    except IntegrityError:
        if idempotency_key is None:
            raise
        with uow.read() as session:
            replayed = _replay(session, client, idempotency_key, parsed.digest)
        if replayed is None:
            raise
        return replayed


def _file(
    session: Session,
    client: ApiClient,
    parsed: _Parsed,
    idempotency_key: str | None,
    rules: ReviewRules | None,
) -> Submitted:
    """The filing itself, in the caller's transaction.

    The client's use is recorded and its token checked again (``_standing``: a token revoked
    since it was verified is refused here, before anything else), then its scope. With an
    idempotency key seen before, the first report is returned and nothing is filed. A probable
    match never stops a machine client and is never told to it: the report opens a case of its
    own and reviewers see the matches on the case page. A source URL already on record raises
    ``SourceOnRecord``, naming the first report only when this client posted it.
    """
    earlier = _standing(session, client, idempotency_key)
    if parsed.out_of_scope is not None:
        raise OutOfScope(client, parsed.out_of_scope)
    if earlier is not None:
        return _replayed(session, earlier, parsed.digest)
    if parsed.invalid is not None:
        raise parsed.invalid
    incoming, ready = parsed.incoming, parsed.ready
    assert incoming is not None and ready is not None
    if incoming.source_kind not in client.scopes:  # a kind the check before could not read
        raise OutOfScope(client, incoming.source_kind)
    try:
        filed = service.file(
            session,
            incoming,
            actor=actor_of(client),
            api_client_id=client.id,
            new_case=True,
            rules=rules,
            prepared=ready,
        )
    except service.DuplicateSource as exc:
        if idempotency_key is not None:
            # A concurrent request with the same key may have filed this very source: on
            # PostgreSQL this one waited for the source URL's lock until that one committed,
            # so its key is visible now (READ COMMITTED). Answer as the retry it is.
            replayed = _replay(session, client, idempotency_key, parsed.digest)
            if replayed is not None:
                return replayed
        raise _source_on_record(session, client, exc) from None
    if idempotency_key is not None:  # written by the block's commit, with the rest
        session.add(
            IdempotencyKey(
                client_id=client.id,
                key=idempotency_key,
                request_hash=parsed.digest,
                report_id=filed.report.id,
                created_at=utcnow(),
            )
        )
    return Submitted(state_of(session, filed.report), replayed=False)


def _source_on_record(
    session: Session, client: ApiClient, duplicate: service.DuplicateSource
) -> SourceOnRecord:
    first = session.get(Report, duplicate.report_id)
    if first is None or first.api_client_id != client.id:
        return SourceOnRecord()
    return SourceOnRecord(first.id, duplicate.case_code)
