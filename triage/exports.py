"""Writing a signed export of the audit log to files: what ``triage audit export`` and the
worker's daily export (``triage.jobs.export_day``) share.

The export is recorded first (``audit.exported``, so the export holds the event that says it was
taken), the chain's head is signed into the checkpoints when it can be, then the events stream to
the file in constant memory and the signed manifest is written beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import audit, audit_export, checkpoints
from .config import Settings
from .models import utcnow
from .uow import UnitOfWork


@dataclass(frozen=True)
class Written:
    summary: audit_export.Summary
    out_path: Path
    manifest_path: Path
    #: Why the export carries no signed checkpoint, or why its webhook failed ("" if neither).
    warning: str = ""


def write_export(
    uow: UnitOfWork,
    settings: Settings,
    out_path: Path,
    *,
    fmt: str = "jsonl",
    manifest_path: Path | None = None,
    from_seq: int | None = None,
    to_seq: int | None = None,
    since: str | None = None,
    until: str | None = None,
    actor: str = audit.SYSTEM_ACTOR,
    via: str = "cli",
    progress: Callable[[Iterator[dict[str, Any]], int], Iterable[dict[str, Any]]] | None = None,
) -> Written:
    """Export a range of the chain to ``out_path`` with its signed manifest (``OUT.manifest.json``
    unless named). ``progress`` may wrap the stream of events (given it and their count)."""
    manifest_path = manifest_path or out_path.with_name(out_path.name + ".manifest.json")
    with uow.begin() as session:
        span = audit.resolve_range(
            session, from_seq=from_seq, to_seq=to_seq, since=since, until=until
        )
        exported = audit.record_export(session, span, fmt=fmt, actor=actor, via=via)
        head = checkpoints.Head.of(exported)
    signed, warning = _signed_head(settings, uow, head)
    with uow.read() as session, out_path.open("wb") as out:
        events: Iterable[dict[str, Any]] = audit.iter_events(
            session, first_seq=span.first_seq, last_seq=span.last_seq, parsed=False
        )
        if progress is not None:
            events = progress(iter(events), span.count)
        summary = audit_export.write(events, fmt, out)
    manifest = audit_export.make_manifest(
        summary,
        fmt=fmt,
        file_name=out_path.name,
        requested=span.requested,
        created_at=audit.format_time(utcnow()),
        created_by=actor,
        ring=uow.keyring.current,
        checkpoint=signed,
    )
    manifest_path.write_text(audit_export.manifest_text(manifest), encoding="utf-8")
    return Written(summary, out_path, manifest_path, warning)


def _signed_head(
    settings: Settings, uow: UnitOfWork, head: checkpoints.Head
) -> tuple[dict[str, Any] | None, str]:
    """The signed head an export carries, or ``None`` and why: the export itself still goes to
    the auditor, whose checkpoints will then refuse it."""
    try:
        with uow.read() as reader:
            published = checkpoints.publish(settings, uow.keyring.current, head, reader)
    except checkpoints.CheckpointError as exc:
        return None, f"the export carries no checkpoint: {exc}"
    return published.as_dict(), published.webhook_error
