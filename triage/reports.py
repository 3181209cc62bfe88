"""Filing a report: store it sealed, index it blindly, open its case, audit it — in one transaction.

The forms, the JSON API and feed import all end here. What identifies or describes a person goes
into ``payload``; the keyword arguments are the plain sorting and counting fields.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, sealed
from .crypto import Keyring
from .models import Case, Report, ReportIndex, new_id
from .vocab import Region, ReportStatus, SourceKind, Verification

_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: no I, L, O, U


def new_case_code() -> str:
    """A pseudonymous case code such as ``C-7K3Q-M9XD``: random, so it reveals nothing."""
    chars = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    return f"C-{chars[:4]}-{chars[4:]}"


@dataclass(frozen=True)
class IndexValue:
    """One identifying value to blind-index: its kind (``phone``, ``url``, …) and normal form."""

    kind: str
    normalised: str


def _unique_code(session: Session) -> str:
    while True:
        code = new_case_code()
        if session.scalar(select(Case.id).where(Case.code == code)) is None:
            return code


def file_report(
    session: Session,
    *,
    source_kind: SourceKind,
    payload: Mapping[str, Any],
    actor: str,
    filed_by: int | None = None,
    region: Region | None = None,
    occurred_on: date | None = None,
    categories: Iterable[str] = (),
    victim_complaint: bool = False,
    verification: Verification = Verification.UNVERIFIED,
    indexes: Iterable[IndexValue] = (),
    case: Case | None = None,
    ring: Keyring | None = None,
) -> Report:
    """Store a report and put it in ``case``, or in a new case of its own."""
    ring = ring or sealed.keyring(session)
    if case is None:
        case = Case(
            id=new_id(),
            code=_unique_code(session),
            region=region.value if region else None,
            verification=verification.value,
            victim_complaint=victim_complaint,
        )
        session.add(case)
        session.flush()
        audit.append(
            session, actor=actor, action="case.opened", object_type="case", object_id=case.id
        )
    report = Report(
        id=new_id(),
        case_id=case.id,
        source_kind=source_kind.value,
        region=region.value if region else None,
        occurred_on=occurred_on,
        categories=sorted(set(categories)),
        status=ReportStatus.RECEIVED.value,
        verification=verification.value,
        filed_by=filed_by,
        payload_version=1,
    )
    session.add(report)
    sealed.seal(session, report, payload, ring=ring)
    tokens = {(v.kind, ring.blind_index(v.kind, v.normalised)) for v in indexes if v.normalised}
    for kind, token in sorted(tokens):
        session.add(ReportIndex(report_id=report.id, kind=kind, token=token))
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="report.filed",
        object_type="report",
        object_id=report.id,
        details={"source_kind": source_kind.value, "case_id": case.id, "indexes": len(tokens)},
    )
    return report
