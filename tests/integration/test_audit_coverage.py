"""Audit coverage: every action the code records is a registered, documented action, and every
state-changing route writes at least one audit event when it succeeds.

A new POST route fails ``test_every_state_changing_route_has_a_scenario`` until a scenario here
shows what a successful request looks like; the scenario then proves it is audited.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.conftest import Account, AuthActions
from tests.integration import public_helpers
from tests.integration.test_two_step import enrol, forget_last_step, secret_on_page
from triage import audit
from triage.models import AuditEvent
from triage.vocab import Region, Role
from triage.web.deps import uow_of

ROOT = Path(__file__).resolve().parents[2]
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}

#: POST routes that change nothing, with the reason.
READ_ONLY_POSTS = {
    "audit.verify_export": "checks an uploaded export against the public key; stores nothing",
    "home.language": "keeps the chosen interface language in the session; stores nothing",
    "oversight.find": "looks a case up by its code and redirects to its view (which is audited)",
}

Scenario = Callable[[FlaskClient, AuthActions, dict[Role, Account]], Any]


def _post(
    client: FlaskClient, auth: AuthActions, path: str, form_page: str, data: dict[str, Any]
) -> Any:
    return client.post(path, data={"csrf_token": auth.csrf_token(form_page), **data})


def _login(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    return auth.login(accounts[Role.REVIEWER].username)


def _logout(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    auth.login_as(accounts[Role.REVIEWER])
    return auth.logout()


def _password(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    auth.login_as(accounts[Role.CASEWORKER])
    new = "a new and longer passphrase"
    data = {"current": accounts[Role.CASEWORKER].password, "new": new, "confirm": new}
    return _post(client, auth, "/account/password", "/account/password", data)


def _user_new(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    auth.login_as(accounts[Role.ADMIN])
    data = {
        "username": "new.reviewer",
        "password": "long enough password",
        "role": "reviewer",
        "active": "y",
    }
    return _post(client, auth, "/admin/users/new", "/admin/users/new", data)


def _user_edit(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    auth.login_as(accounts[Role.ADMIN])
    target = accounts[Role.REVIEWER].id
    data = {"role": "supervisor", "region": "", "active": "y"}
    return _post(client, auth, f"/admin/users/{target}", f"/admin/users/{target}", data)


def _user_reset(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    auth.login_as(accounts[Role.ADMIN])
    target = accounts[Role.REVIEWER].id
    data = {"reset-password": "another long password"}
    return _post(client, auth, f"/admin/users/{target}/password", f"/admin/users/{target}", data)


def _login_code(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    reviewer = accounts[Role.REVIEWER]
    secret = enrol(client.application, reviewer)
    auth.login(reviewer.username)
    return _post(client, auth, "/login/code", "/login/code", {"code": pyotp.TOTP(secret).now()})


def _two_step_start(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    auth.login_as(accounts[Role.CASEWORKER])
    token = auth.csrf_token("/account/two-step")
    return client.post("/account/two-step/start", data={"start-csrf_token": token})


def _two_step_confirm(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    _two_step_start(client, auth, accounts)
    code = pyotp.TOTP(secret_on_page(client)).now()
    token = auth.csrf_token("/account/two-step")
    return client.post(
        "/account/two-step/confirm", data={"confirm-csrf_token": token, "confirm-code": code}
    )


def _two_step_disable(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    reviewer = accounts[Role.REVIEWER]
    secret = enrol(client.application, reviewer)
    auth.login(reviewer.username)
    _post(client, auth, "/login/code", "/login/code", {"code": pyotp.TOTP(secret).now()})
    forget_last_step(client.application, reviewer)
    token = auth.csrf_token("/account/two-step")
    data = {
        "disable-csrf_token": token,
        "disable-password": reviewer.password,
        "disable-code": pyotp.TOTP(secret).now(),
    }
    return client.post("/account/two-step/disable", data=data)


def _user_reset_two_step(
    client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]
) -> Any:
    target = accounts[Role.REVIEWER]
    enrol(client.application, target)
    auth.login_as(accounts[Role.ADMIN])
    token = auth.csrf_token(f"/admin/users/{target.id}")
    return client.post(f"/admin/users/{target.id}/two-step", data={"two_step-csrf_token": token})


def _audit_verify(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    auth.login_as(accounts[Role.AUDITOR])
    return _post(client, auth, "/audit/verify", "/audit/", {})


def _audit_export(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    auth.login_as(accounts[Role.AUDITOR])
    token = auth.csrf_token("/audit/")
    response = client.post(
        "/audit/export", data={"export-csrf_token": token, "export-fmt": "jsonl"}
    )
    response.get_data()  # stream it all
    return response


_MEDIA = {
    "outlet": "Example news",
    "url": "https://news.example.kz/coverage",
    "language": "en",
    "headline": "A headline",
    "text": "A man beat his wife, neighbours said.",
}


def _file_media(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    auth.login_as(accounts[Role.CASEWORKER])
    return _post(client, auth, "/reports/new/media", "/reports/new/media", _MEDIA)


def _add_information(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    location = _file_media(client, auth, accounts).headers["Location"]
    return _post(client, auth, f"{location}/information", location, {"text": "more"})


def _link_report(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    auth.login_as(accounts[Role.CASEWORKER])
    direct = {
        "reporter": "neighbour",
        "victim_name": "Coverage Person",
        "victim_birth_date": "1990-01-01",
        "relationship": "spouse",
        "region": "karaganda",
        "categories": ["battery"],
        "narrative": "n",
    }
    _post(client, auth, "/reports/new/direct", "/reports/new/direct", direct)
    second = _post(
        client, auth, "/reports/new/direct", "/reports/new/direct", {**direct, "link_to": "new"}
    )
    location = second.headers["Location"]
    page = client.get(location).get_data(as_text=True)
    case_id = re.search(r'name="case_id" value="([^"]+)"', page)
    assert case_id, "no probable match offered"
    return _post(client, auth, f"{location}/link", location, {"case_id": case_id.group(1)})


# -- review (the reviewer queue, triage/views/review.py) -----------------------------------------


def _review_case(
    client: FlaskClient,
    claimer: Account | None = None,
    *,
    corroborated: bool = False,
    proposal: str | None = None,
    lowered_by: Account | None = None,
) -> tuple[str, dict[str, Any]]:
    """A Karaganda case, set up through the review services; returns its code and ids."""
    from triage.models import Case, User
    from triage.reports import file_report
    from triage.review import assessments, claims, decisions, triaging, verification
    from triage.vocab import SourceKind

    app = client.application
    ids: dict[str, Any] = {}
    with app.app_context(), uow_of(app).begin() as session:
        report = file_report(
            session,
            source_kind=SourceKind.MEDIA,
            payload={"headline": "Invented", "text": "Invented"},
            actor="system",
            region=Region.KARAGANDA,
        )
        triaging.triage_new_cases(session)
        found = session.get(Case, report.case_id)
        assert found is not None
        holder = session.get(User, claimer.id) if claimer else None
        if holder is not None:
            claims.claim(session, holder, found.id)
            if corroborated:
                verification.record_verification(
                    session,
                    holder,
                    found.id,
                    version=found.version,
                    outcome="corroborated",
                    method="police_check",
                    note="Checked.",
                )
            if proposal:
                decision = decisions.propose(
                    session,
                    holder,
                    found.id,
                    version=found.version,
                    measure=proposal,
                    rationale="Invented.",
                    legal_basis="Art. 54",
                    ends_on=None,
                )
                ids["decision"] = decision.id
                ids["decision_version"] = decision.version
        if lowered_by is not None:
            assessor = session.get(User, lowered_by.id)
            assert assessor is not None
            claims.claim(session, assessor, found.id)
            a = assessments.record_assessment(
                session,
                assessor,
                found.id,
                version=found.version,
                answers={**dict.fromkeys(range(1, 23), "no"), 3: "yes"},  # complete: it may lower
                level="medium",
                reason="Judgement.",
            )
            ids["assessment"] = a.id
        return found.code, ids


def _review_version(client: FlaskClient, code: str) -> int:
    from triage.models import Case

    app = client.application
    with app.app_context(), uow_of(app).begin() as session:
        return int(session.scalar(select(Case.version).where(Case.code == code)) or 0)


def _take_next(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    _review_case(client)
    auth.login_as(accounts[Role.REVIEWER])
    return _post(client, auth, "/cases/take-next", "/cases/", {})


def _claim(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    code, _ = _review_case(client)
    auth.login_as(accounts[Role.REVIEWER])
    return _post(client, auth, f"/cases/{code}/claim", "/cases/", {})


def _release(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    code, _ = _review_case(client, accounts[Role.REVIEWER])
    auth.login_as(accounts[Role.REVIEWER])
    return _post(client, auth, f"/cases/{code}/release", "/cases/", {})


def _reassign(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    code, _ = _review_case(client)
    auth.login_as(accounts[Role.SUPERVISOR])
    data = {"to_user": str(accounts[Role.REVIEWER].id)}
    return _post(client, auth, f"/cases/{code}/reassign", "/cases/", data)


def _assess(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    code, _ = _review_case(client, accounts[Role.REVIEWER])
    auth.login_as(accounts[Role.REVIEWER])
    data = {"version": _review_version(client, code), "item_1": "yes"}
    return _post(client, auth, f"/cases/{code}/assess", "/cases/", data)


def _verify(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    code, _ = _review_case(client, accounts[Role.REVIEWER])
    auth.login_as(accounts[Role.REVIEWER])
    data = {
        "version": _review_version(client, code),
        "outcome": "corroborated",
        "method": "second_source",
        "note": "Checked.",
    }
    return _post(client, auth, f"/cases/{code}/verify", "/cases/", data)


def _decide(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    code, _ = _review_case(client, accounts[Role.REVIEWER])
    auth.login_as(accounts[Role.REVIEWER])
    data = {"version": _review_version(client, code), "measure": "safety_plan", "rationale": "x"}
    return _post(client, auth, f"/cases/{code}/decide", "/cases/", data)


def _note(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    code, _ = _review_case(client, accounts[Role.REVIEWER])
    auth.login_as(accounts[Role.REVIEWER])
    return _post(client, auth, f"/cases/{code}/note", "/cases/", {"text": "A note."})


def _close(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    code, _ = _review_case(client, accounts[Role.REVIEWER])
    auth.login_as(accounts[Role.REVIEWER])
    data = {"version": _review_version(client, code), "outcome": "no_measure_needed"}
    return _post(client, auth, f"/cases/{code}/close", "/cases/", data)


def _proposal(client: FlaskClient, accounts: dict[Role, Account], measure: str) -> dict[str, Any]:
    _, ids = _review_case(client, accounts[Role.REVIEWER], corroborated=True, proposal=measure)
    return ids


def _approve(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    ids = _proposal(client, accounts, "preventive_talk")
    auth.login_as(accounts[Role.SUPERVISOR])
    path = f"/cases/decisions/{ids['decision']}/approve"
    return _post(client, auth, path, "/cases/", {"version": ids["decision_version"]})


def _reject(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    ids = _proposal(client, accounts, "preventive_talk")
    auth.login_as(accounts[Role.SUPERVISOR])
    path = f"/cases/decisions/{ids['decision']}/reject"
    data = {"version": ids["decision_version"], "reason": "Not yet."}
    return _post(client, auth, path, "/cases/", data)


def _withdraw(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    ids = _proposal(client, accounts, "preventive_talk")
    auth.login_as(accounts[Role.REVIEWER])
    path = f"/cases/decisions/{ids['decision']}/withdraw"
    return _post(client, auth, path, "/cases/", {"version": ids["decision_version"]})


def _follow_up(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    ids = _proposal(client, accounts, "safety_plan")
    auth.login_as(accounts[Role.REVIEWER])
    path = f"/cases/decisions/{ids['decision']}/follow-up"
    return _post(client, auth, path, "/cases/", {"note": "Followed up."})


def _override_approve(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    _, ids = _review_case(client, lowered_by=accounts[Role.REVIEWER])
    auth.login_as(accounts[Role.SUPERVISOR])
    return _post(client, auth, f"/cases/assessments/{ids['assessment']}/approve", "/cases/", {})


def _override_reject(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    _, ids = _review_case(client, lowered_by=accounts[Role.REVIEWER])
    auth.login_as(accounts[Role.SUPERVISOR])
    path = f"/cases/assessments/{ids['assessment']}/reject"
    return _post(client, auth, path, "/cases/", {"reason": "Keep it high."})


def _move_report(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    """Two cases about one victim; the reviewer holding the newer moves its report into the
    older one from the case page's probable matches."""
    from triage.models import Case, Report, User
    from triage.review import claims

    auth.login_as(accounts[Role.CASEWORKER])
    direct = {
        "reporter": "neighbour",
        "victim_name": "Moved Person",
        "victim_birth_date": "1991-02-03",
        "relationship": "spouse",
        "region": "karaganda",
        "categories": ["battery"],
        "narrative": "n",
    }
    _post(client, auth, "/reports/new/direct", "/reports/new/direct", direct)
    _post(client, auth, "/reports/new/direct", "/reports/new/direct", {**direct, "link_to": "new"})
    auth.logout()
    app = client.application
    with app.app_context(), uow_of(app).begin() as session:
        older, newer = session.scalars(select(Case).order_by(Case.opened_at, Case.id)).all()[-2:]
        reviewer = session.get(User, accounts[Role.REVIEWER].id)
        assert reviewer is not None
        claims.claim(session, reviewer, newer.id)
        report_id = session.scalar(select(Report.id).where(Report.case_id == newer.id))
        source, target, version = newer.code, older.code, newer.version
    auth.login_as(accounts[Role.REVIEWER])
    path = f"/cases/{source}/reports/{report_id}/move"
    return _post(client, auth, path, f"/cases/{source}", {"version": version, "target": target})


def _api_client_new(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    auth.login_as(accounts[Role.ADMIN])
    data = {"name": "Media Monitor", "scopes": ["media", "online"]}
    return _post(client, auth, "/admin/api-clients/new", "/admin/api-clients/new", data)


def _api_client_revoke(
    client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]
) -> Any:
    from triage.intake import api_clients

    app = client.application
    with app.app_context(), uow_of(app).begin() as session:
        made, _ = api_clients.create_client(session, name="M", scopes=["media"], actor="system")
        url = f"/admin/api-clients/{made.id}/revoke"
    auth.login_as(accounts[Role.ADMIN])
    return _post(client, auth, url, url, {"confirm": "y"})


def _api_report(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    from triage.intake import api_clients

    app = client.application
    with app.app_context(), uow_of(app).begin() as session:
        _, token = api_clients.create_client(session, name="M", scopes=["media"], actor="system")
    body = {
        "source_kind": "media",
        "outlet": "Example News",
        "url": "https://news.example.kz/audit-coverage",
        "language": "ru",
        "headline": "Муж избил жену",
        "text": "Мужчина избил жену.",
    }
    return client.post("/api/v1/reports", json=body, headers={"Authorization": f"Bearer {token}"})


def _promote_screened(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    """A feed item kept as screened out, promoted by a reviewer without a region scope (items
    have no region)."""
    from datetime import timedelta

    from tests.conftest import make_user
    from triage import screening
    from triage.intake import schema, screened

    app = client.application
    text = "The council approved a new budget for road repairs on Tuesday."
    with app.app_context(), uow_of(app).begin() as session:
        incoming = schema.parse(
            {
                "source_kind": "media",
                "outlet": "Example news",
                "url": "https://news.example.kz/screened-coverage",
                "language": "en",
                "headline": "Road budget",
                "text": text,
            }
        )
        assert isinstance(incoming, schema.MediaReport)
        item = screened.keep(
            session,
            "Example news",
            incoming,
            screening.screen(text),
            expires_at=screened.utcnow() + timedelta(days=30),
        )
        path = f"/screened/{item.id}"
    auth.login_as(make_user(app, "reviewer.unscoped", Role.REVIEWER))
    return _post(client, auth, f"{path}/promote", path, {})


def _waiting_handover(client: FlaskClient, accounts: dict[Role, Account]) -> tuple[str, Any]:
    """A case the reviewer holds, with a hand-over to the police asked for without her consent."""
    from triage import handover
    from triage.models import User
    from triage.review.rules import ReviewRules

    code, _ = _review_case(client, accounts[Role.REVIEWER], corroborated=True)
    app = client.application
    with app.app_context(), uow_of(app).begin() as session:
        reviewer = session.get(User, accounts[Role.REVIEWER].id)
        assert reviewer is not None
        made = handover.request(
            session,
            reviewer,
            code,
            recipient="kar-police-women",
            language="ru",
            reason="She is in danger and cannot be asked.",
            directory=ReviewRules().recipients,
        )
        return code, (made.id, made.version)


def _consent(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    code, _ = _review_case(client, accounts[Role.REVIEWER])
    auth.login_as(accounts[Role.REVIEWER])
    data = {"recipient_kind": "support_service", "answer": "yes", "method": "phone"}
    return _post(client, auth, f"/cases/{code}/consent", "/cases/", data)


def _handover(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    code, _ = _review_case(client, accounts[Role.REVIEWER], corroborated=True)
    auth.login_as(accounts[Role.REVIEWER])
    data = {"recipient": "kar-police-women", "language": "kk", "reason": "Urgent."}
    return _post(client, auth, f"/cases/{code}/handover", "/cases/", data)


def _handover_approve(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    _code, (handover_id, version) = _waiting_handover(client, accounts)
    auth.login_as(accounts[Role.SUPERVISOR])
    path = f"/handovers/{handover_id}/approve"
    return _post(client, auth, path, "/cases/", {"version": version})


def _handover_reject(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    _code, (handover_id, version) = _waiting_handover(client, accounts)
    auth.login_as(accounts[Role.SUPERVISOR])
    path = f"/handovers/{handover_id}/reject"
    return _post(client, auth, path, "/cases/", {"version": version, "reason": "Ask her first."})


def _handover_withdraw(
    client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]
) -> Any:
    _code, (handover_id, version) = _waiting_handover(client, accounts)
    auth.login_as(accounts[Role.REVIEWER])
    path = f"/handovers/{handover_id}/withdraw"
    return _post(client, auth, path, "/cases/", {"version": version})


def _issue_document(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    from triage.models import User
    from triage.review import decisions

    ids = _proposal(client, accounts, "criminal_referral")
    app = client.application
    with app.app_context(), uow_of(app).begin() as session:
        supervisor = session.get(User, accounts[Role.SUPERVISOR].id)
        assert supervisor is not None
        decisions.approve(session, supervisor, ids["decision"], version=ids["decision_version"])
    auth.login_as(accounts[Role.SUPERVISOR])
    path = f"/cases/decisions/{ids['decision']}/document"
    return _post(client, auth, path, "/cases/", {"language": "ru"})


def _check_document(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    auth.login_as(accounts[Role.AUDITOR])
    token = auth.csrf_token("/documents/check")
    return client.post(
        "/documents/check",
        data={"csrf_token": token, "file": (io.BytesIO(b"%PDF-1.7 not ours"), "x.pdf")},
        content_type="multipart/form-data",
    )


def _delivery_retry(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    """A webhook delivery that failed its only attempt (nothing listens at its address), put
    back by the admin."""
    from datetime import UTC, datetime

    from tests.integration.test_notify import SECRET, config_for, free_port, overdue_case
    from triage.models import Delivery
    from triage.notify import run
    from triage.web import deps

    app = client.application
    overdue_case(app)
    with app.app_context():
        settings = deps.settings()
    hook = f"http://127.0.0.1:{free_port()}/hook"
    config = config_for(settings, notify_max_attempts=1, webhook_url=hook, webhook_secret=SECRET)
    assert run(uow_of(app), config, clock=lambda: datetime.now(UTC)).dead == 1
    with app.app_context(), uow_of(app).read() as session:
        delivery_id = session.scalar(select(Delivery.id))
    auth.login_as(accounts[Role.ADMIN])
    path = f"/admin/deliveries/{delivery_id}/retry"
    return _post(client, auth, path, "/admin/deliveries/", {})


def _end_own_sessions(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    auth.login_as(accounts[Role.REVIEWER])
    return _post(
        client,
        auth,
        "/account/sessions/end",
        "/account/sessions",
        {"session": "others", "password": accounts[Role.REVIEWER].password},
    )


def _end_user_sessions(
    client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]
) -> Any:
    target = accounts[Role.REVIEWER].id
    auth.login_as(accounts[Role.ADMIN])
    token = auth.csrf_token(f"/admin/users/{target}")
    return client.post(f"/admin/users/{target}/sessions/end", data={"sessions-csrf_token": token})


def _user_unlock(client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]) -> Any:
    target = accounts[Role.REVIEWER]
    for _ in range(5):
        auth.login(target.username, "not the password")
    auth.login_as(accounts[Role.ADMIN])
    token = auth.csrf_token(f"/admin/users/{target.id}")
    return client.post(f"/admin/users/{target.id}/unlock", data={"unlock-csrf_token": token})


SCENARIOS: dict[str, Scenario] = {
    "account.session_end": _end_own_sessions,
    "admin.user_end_sessions": _end_user_sessions,
    "admin.user_unlock": _user_unlock,
    "screened.promote": _promote_screened,
    "api.create_report": _api_report,
    "api_clients.client_new": _api_client_new,
    "api_clients.client_revoke": _api_client_revoke,
    "intake.new": _file_media,
    "intake.add_information": _add_information,
    "intake.link": _link_report,
    "auth.login": _login,
    "auth.logout": _logout,
    "auth.login_code": _login_code,
    "account.two_step_start": _two_step_start,
    "account.two_step_confirm": _two_step_confirm,
    "account.two_step_disable": _two_step_disable,
    "admin.user_reset_two_step": _user_reset_two_step,
    "account.password": _password,
    "admin.user_new": _user_new,
    "admin.user_edit": _user_edit,
    "admin.user_reset_password": _user_reset,
    "audit.verify": _audit_verify,
    "audit.export": _audit_export,
    "review.take_next": _take_next,
    "review.claim": _claim,
    "review.release": _release,
    "review.reassign": _reassign,
    "review.assess": _assess,
    "review.verify": _verify,
    "review.decide": _decide,
    "review.note": _note,
    "review.close": _close,
    "review.decision_approve": _approve,
    "review.decision_reject": _reject,
    "review.decision_withdraw": _withdraw,
    "review.follow_up": _follow_up,
    "review.override_approve": _override_approve,
    "review.override_reject": _override_reject,
    "review.move_report": _move_report,
    "outcomes.consent_page": _consent,
    "outcomes.handover_page": _handover,
    "outcomes.handover_approve": _handover_approve,
    "outcomes.handover_reject": _handover_reject,
    "outcomes.handover_withdraw": _handover_withdraw,
    "outcomes.issue_document": _issue_document,
    "outcomes.check": _check_document,
    "notify.retry": _delivery_retry,
    "public.submit": public_helpers.public_submit_scenario,
    "public.follow_up_read": public_helpers.public_read_scenario,
    "public.follow_up_add": public_helpers.public_add_scenario,
    "public_replies.reply": public_helpers.public_reply_scenario,
}


def _state_changing_endpoints(app: Flask) -> set[str]:
    return {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if STATE_CHANGING & set(rule.methods or ()) and rule.endpoint not in READ_ONLY_POSTS
    }


def _event_count(app: Flask) -> int:
    with app.app_context(), uow_of(app).read() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def test_every_state_changing_route_has_a_scenario(app: Flask) -> None:
    missing = _state_changing_endpoints(app) - set(SCENARIOS)
    assert not missing, f"state-changing routes with no audit scenario: {sorted(missing)}"
    stale = set(SCENARIOS) - _state_changing_endpoints(app)
    assert not stale, f"scenarios for routes that no longer exist: {sorted(stale)}"


@pytest.mark.parametrize("endpoint", sorted(SCENARIOS))
def test_every_state_changing_route_writes_an_event(
    endpoint: str, app: Flask, client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]
) -> None:
    # Scenarios sign in first, and sign-in is itself audited: the route under test must write an
    # event of its own besides any auth.login.
    scenario = SCENARIOS[endpoint]
    before = _event_count(app)
    response = scenario(client, auth, accounts)
    assert response.status_code < 400, response.get_data(as_text=True)[:500]
    with app.app_context(), uow_of(app).read() as session:
        actions = [e["action"] for e in audit.iter_events(session, first_seq=before + 1)]
    own = actions if endpoint == "auth.login" else [a for a in actions if a != "auth.login"]
    assert own, f"{endpoint} succeeded but wrote no audit event of its own (saw {actions})"


def _actions_in_code() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "triage").rglob("*.py"):
        found |= set(re.findall(r'action="([a-z][a-z0-9_.]*)"', path.read_text(encoding="utf-8")))
    return found


def test_every_action_in_the_code_is_registered() -> None:
    found = _actions_in_code()
    assert found, "the scan found no actions: the pattern is wrong"
    unregistered = found - set(audit.ACTIONS)
    assert not unregistered, f"actions appended but not in audit.ACTIONS: {sorted(unregistered)}"


def test_every_registered_action_is_documented() -> None:
    docs = (ROOT / "docs" / "audit.md").read_text(encoding="utf-8")
    undocumented = [a for a in audit.ACTIONS if f"`{a}`" not in docs]
    assert not undocumented, f"actions missing from docs/audit.md: {undocumented}"


def test_upload_check_is_really_read_only(app, client, accounts, auth) -> None:
    auth.login_as(accounts[Role.AUDITOR])
    before = _event_count(app)
    response = _post(
        client,
        auth,
        "/audit/verify-export",
        "/audit/",
        {"data": (io.BytesIO(b"{}\n"), "e.jsonl"), "manifest": (io.BytesIO(b"{}"), "m.json")},
    )
    assert response.status_code in (200, 422)
    assert _event_count(app) == before
