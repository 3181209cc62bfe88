"""Retention and erasure: `triage purge` destroys the data keys of closed cases past retention
(or of one case on request); their payloads and attachments can never be opened again, the plain
statistics stay, open cases are never touched, and each destroyed key is an audit event."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select

from triage import audit, sealed
from triage.cli import main
from triage.config import Settings
from triage.intake import attachments, schema, service
from triage.models import Attachment, Case, DataKey, Report, ReportIndex, utcnow
from triage.web.deps import uow_of

PDF = b"%PDF-1.4\n%%EOF\n"


def _env(settings: Settings) -> dict[str, str]:
    return {
        "TRIAGE_INSTANCE_PATH": str(settings.instance_path),
        "TRIAGE_DATABASE_URL": settings.database_url,
        "TRIAGE_KEYRING_PATH": settings.keyring_path,
    }


def _file(app: Flask, url: str, *, closed_days_ago: int | None) -> str:
    with app.app_context(), uow_of(app).begin() as session:
        incoming = schema.parse(
            {
                "source_kind": "media",
                "outlet": "Example",
                "url": url,
                "language": "en",
                "headline": "Husband beat his wife",
                "text": "Neighbours say Dana Example-Person was beaten by her husband.",
            }
        )
        filed = service.file(
            session,
            incoming,
            actor="system",
            new_case=True,
            uploads=[attachments.Upload("a.pdf", PDF)],
        )
        if closed_days_ago is not None:
            filed.case.status = "closed"
            filed.case.outcome = "no_action_needed"
            filed.case.closed_at = utcnow() - timedelta(days=closed_days_ago)
        return filed.case.code


def _opens(app: Flask, code: str) -> bool:
    with app.app_context(), uow_of(app).begin() as session:
        case = session.scalar(select(Case).where(Case.code == code))
        report = session.scalar(select(Report).where(Report.case_id == case.id))  # type: ignore[union-attr]
        try:
            sealed.open_payload(session, report, actor="system", purpose="test")  # type: ignore[arg-type]
        except sealed.PayloadShredded:
            return False
        return True


def test_purge_by_retention(app: Flask, settings: Settings) -> None:
    old = _file(app, "https://example.kz/old", closed_days_ago=400)
    recent = _file(app, "https://example.kz/recent", closed_days_ago=10)
    still_open = _file(app, "https://example.kz/open", closed_days_ago=None)
    runner = CliRunner()

    dry = runner.invoke(
        main, ["purge", "--older-than-days", "365", "--dry-run"], env=_env(settings)
    )
    assert dry.exit_code == 0 and old in dry.output and recent not in dry.output
    assert _opens(app, old)

    done = runner.invoke(main, ["purge", "--older-than-days", "365", "--yes"], env=_env(settings))
    assert done.exit_code == 0, done.output
    assert "Purged 1 sealed records in 1 cases." in done.output
    assert not _opens(app, old)
    assert _opens(app, recent) and _opens(app, still_open)

    with app.app_context(), uow_of(app).begin() as session:
        case = session.scalar(select(Case).where(Case.code == old))
        report = session.scalar(select(Report).where(Report.case_id == case.id))  # type: ignore[union-attr]
        assert report is not None and report.source_kind == "media" and report.data_key_id is None
        attachment = session.scalar(select(Attachment).where(Attachment.report_id == report.id))
        with pytest.raises(sealed.PayloadShredded):
            attachments.open_attachment(session, report, attachment, actor="system")  # type: ignore[arg-type]
        assert session.scalar(select(func.count()).select_from(DataKey)) == 2
        # Nothing left to tell that someone was in the erased case: no blind-index tokens.
        assert not session.scalar(
            select(func.count()).select_from(ReportIndex).where(ReportIndex.report_id == report.id)
        )
        assert session.scalar(select(func.count()).select_from(ReportIndex)) == 2
        events = [e for e in audit.iter_events(session) if e["action"] == "record.purged"]
        assert len(events) == 1 and events[0]["details"] == {
            "case_id": case.id,
            "reason": "retention",
        }  # type: ignore[union-attr]

    again = runner.invoke(main, ["purge", "--older-than-days", "365", "--yes"], env=_env(settings))
    assert "Cases to purge (retention): none" in again.output


def test_erasure_of_one_case_refuses_open_cases(app: Flask, settings: Settings) -> None:
    open_case = _file(app, "https://example.kz/a", closed_days_ago=None)
    closed = _file(app, "https://example.kz/b", closed_days_ago=1)
    runner = CliRunner()
    refused = runner.invoke(main, ["purge", "--case", open_case, "--yes"], env=_env(settings))
    assert refused.exit_code == 1 and "is open" in refused.output
    assert _opens(app, open_case)
    erased = runner.invoke(main, ["purge", "--case", closed.lower(), "--yes"], env=_env(settings))
    assert erased.exit_code == 0, erased.output
    assert not _opens(app, closed)
    missing = runner.invoke(main, ["purge", "--case", "C-0000-0000", "--yes"], env=_env(settings))
    assert missing.exit_code == 1 and "There is no case" in missing.output


def test_an_erased_report_page_says_so(app: Flask, client, accounts, auth) -> None:
    from triage.vocab import Role

    auth.login_as(accounts[Role.CASEWORKER])
    token = auth.csrf_token("/reports/new/media")
    filed = client.post(
        "/reports/new/media",
        data={
            "csrf_token": token,
            "outlet": "Example",
            "url": "https://example.kz/erased",
            "language": "en",
            "headline": "Husband beat his wife",
            "text": "Neighbours say Dana Example-Person was beaten.",
        },
    )
    path = filed.headers["Location"]
    with app.app_context(), uow_of(app).begin() as session:
        report = session.get(Report, path.rsplit("/", 1)[-1])
        case = session.get(Case, report.case_id)  # type: ignore[union-attr]
        case.status, case.closed_at = "closed", utcnow()  # type: ignore[union-attr]
        from triage import retention

        retention.purge_case(session, case, actor="system", reason="erasure_request")  # type: ignore[arg-type]
    page = client.get(path)
    assert page.status_code == 410
    html = page.get_data(as_text=True)
    assert "erased" in html and "Dana" not in html and "Traceback" not in html
