"""Alerts, end to end on both engines: a real SMTP server (aiosmtpd) and a real HTTP receiver
that checks the signature, each in a thread on a free local port. What falls due reaches its
people once; a webhook that answers 500 or hangs and an SMTP server that refuses are retried
after their backoff; the last failure goes to the dead-letter list, which the admin sees and
can put back; a dry run changes nothing; and no address or person's data reaches a message, a
log line or the audit log."""

from __future__ import annotations

import email
import email.header
import hashlib
import hmac
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select, text

from tests.conftest import Account, Database, facts, make_user
from triage import audit, users
from triage.cli import main
from triage.config import ConfigError, Settings
from triage.models import Alert, AuditEvent, Case, Decision, Delivery, User, new_id
from triage.notify import NotifyConfig, run
from triage.notify.due import due
from triage.notify.service import preview
from triage.reports import file_report
from triage.review import claims, triaging
from triage.review.rules import ReviewRules
from triage.vocab import DecisionStatus, MeasureTier, Region, RiskLevel, Role, SourceKind
from triage.web.deps import uow_of

SECRET = "a webhook secret of some length"
BASE_URL = "https://triage.example.kz"
#: What the reports say about the people in them: none of it may leave in an alert.
PERSONAL = ("Aigerim Zhaksylykova-Test", "+7 701 555 01 99", "Karaganda, Bukhar-Zhyrau 77")
ADDRESSES = {
    "reviewer": "reviewer.alerts@example.kz",
    "supervisor": "supervisor.alerts@example.kz",
    "elsewhere": "almaty.supervisor@example.kz",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- the SMTP server ---------------------------------------------------------------------------


@dataclass
class Mailbox:
    """An aiosmtpd handler: keeps what it accepts; refuses the next ``refuse_data`` messages at
    DATA, and recipients while ``refuse_rcpt`` is on, quoting the address back as servers do."""

    messages: list[tuple[str, list[str], Message]] = field(default_factory=list)
    refuse_data: int = 0
    refuse_rcpt: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_rcpt:
            return f"550 5.1.1 <{address}>: Recipient address rejected"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.refuse_data > 0:
                self.refuse_data -= 1
                return f"550 5.7.1 Message for {envelope.rcpt_tos[0]} refused"
            parsed = email.message_from_bytes(envelope.content)
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    handler = Mailbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


# -- the webhook's receiver --------------------------------------------------------------------


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    valid: bool


@dataclass
class Receiver:
    """A webhook receiver that checks the signature as docs/alerts.md tells receivers to (its own
    HMAC, not triage's code), then answers the next status of ``answers`` (200 once they run
    out), after hanging for ``hang`` seconds on the first ``hangs`` requests."""

    url: str = ""
    answers: list[int] = field(default_factory=list)
    hangs: int = 0
    hang: float = 0.0
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, header: str, body: bytes) -> bool:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
        wanted = hmac.new(
            SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
        ).hexdigest()
        fresh = abs(time.time() - timestamp) <= 300
        return fresh and hmac.compare_digest(wanted, parts["v1"])

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with state.lock:
                hang = state.hangs > 0
                state.hangs -= 1 if hang else 0
                valid = state.check(self.headers.get("X-Triage-Signature", ""), body)
                headers = {k.lower(): v for k, v in self.headers.items()}
                state.requests.append(Received(headers, body, valid))
                status = state.answers.pop(0) if state.answers else 200
            if hang:
                time.sleep(state.hang)
            try:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass  # the sender gave up waiting

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/triage"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


# -- set-up ------------------------------------------------------------------------------------


def config_for(
    settings: Settings,
    *,
    smtp_port: int | None = None,
    webhook: Receiver | None = None,
    **extra: Any,
) -> NotifyConfig:
    values: dict[str, Any] = {"base_url": BASE_URL, "webhook_timeout_seconds": 1, **extra}
    if smtp_port is not None:
        values |= {
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "smtp_tls": "none",
            "smtp_from": "triage@example.kz",
            "smtp_timeout_seconds": 5,
        }
    if webhook is not None:
        values |= {"webhook_url": webhook.url, "webhook_secret": SECRET}
    return NotifyConfig.from_settings(settings.with_overrides(values))


def give_email(app: Flask, account: Account, address: str) -> None:
    with app.app_context(), uow_of(app).begin() as session:
        user = session.get(User, account.id)
        assert user is not None
        users.set_email(session, user, address, actor="system")


def overdue_case(
    app: Flask,
    *,
    holder: Account | None = None,
    region: Region = Region.KARAGANDA,
    level: RiskLevel = RiskLevel.HIGH,
    hours_ago: int = 30,
) -> tuple[str, str]:
    """A case about a person (sealed), opened ``hours_ago`` at ``level``: with the default
    24-hour deadline of a high-risk case, overdue. Held by ``holder`` if given."""
    with app.app_context(), uow_of(app).begin() as session:
        report = file_report(
            session,
            source_kind=SourceKind.DIRECT,
            payload={
                "victim": {"name": PERSONAL[0], "phone": PERSONAL[1], "address": PERSONAL[2]},
                "narrative": f"{PERSONAL[0]} was hurt at home.",
            },
            actor="system",
            region=region,
        )
        found = session.get(Case, report.case_id)
        assert found is not None
        found.opened_at = datetime.now(UTC) - timedelta(hours=hours_ago)
        triaging.set_level(found, level, ReviewRules(), provisional=False)
        session.flush()
        if holder is not None:
            user = session.get(User, holder.id)
            assert user is not None
            claims.claim(session, user, found.id)
        return found.id, found.code


def add_decision(
    app: Flask,
    case_id: str,
    *,
    status: DecisionStatus,
    proposed_by: int,
    proposed_hours_ago: int = 1,
    follow_up_on: date | None = None,
    ends_on: date | None = None,
) -> str:
    with app.app_context(), uow_of(app).begin() as session:
        decision = Decision(
            id=new_id(),
            case_id=case_id,
            measure="protective_order",
            tier=MeasureTier.COERCIVE.value,
            grounds=[],
            status=status.value,
            proposed_by=proposed_by,
            proposed_at=datetime.now(UTC) - timedelta(hours=proposed_hours_ago),
            follow_up_on=follow_up_on,
            ends_on=ends_on,
            payload_version=1,
        )
        session.add(decision)
        return decision.id


def events(app: Flask, action: str | None = None) -> list[dict[str, Any]]:
    with app.app_context(), uow_of(app).read() as session:
        query = select(AuditEvent).order_by(AuditEvent.seq)
        if action:
            query = query.where(AuditEvent.action == action)
        return [facts(audit.event_fields(e)) for e in session.scalars(query)]


def audit_text(app: Flask) -> str:
    return json.dumps(events(app), ensure_ascii=False)


def deliveries(app: Flask) -> list[Delivery]:
    with app.app_context(), uow_of(app).read() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.created_at, Delivery.id)))


def count(app: Flask, model: type) -> int:
    with app.app_context(), uow_of(app).read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def triage_log(caplog: pytest.LogCaptureFixture) -> str:
    """What triage itself logged (the test servers' own logs quote addresses, as servers do)."""
    return "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("triage"))


def assert_nothing_personal(text_: str, *, addresses: bool = True) -> None:
    for value in PERSONAL:
        assert value not in text_
    if addresses:
        for address in ADDRESSES.values():
            assert address not in text_


@pytest.fixture
def people(app: Flask, accounts: dict[Role, Account]) -> dict[str, Account]:
    """The Karaganda reviewer (with an address), the Karaganda supervisor (without), and an
    Almaty supervisor with an address, whom no Karaganda alert may reach."""
    elsewhere = make_user(app, "almaty.supervisor", Role.SUPERVISOR, Region.ALMATY)
    give_email(app, accounts[Role.REVIEWER], ADDRESSES["reviewer"])
    give_email(app, elsewhere, ADDRESSES["elsewhere"])
    return {
        "reviewer": accounts[Role.REVIEWER],
        "supervisor": accounts[Role.SUPERVISOR],
        "elsewhere": elsewhere,
    }


# -- one alert, once ---------------------------------------------------------------------------


def test_an_overdue_high_risk_case_sends_one_email_and_one_signed_webhook_and_never_twice(
    app, settings, people, mailbox, receiver, caplog
):
    caplog.set_level(logging.DEBUG)
    box, port = mailbox
    case_id, code = overdue_case(app, holder=people["reviewer"])
    config = config_for(settings, smtp_port=port, webhook=receiver)

    summary = run(uow_of(app), config)

    assert (summary.raised, summary.deliveries, summary.sent, summary.failed) == (1, 2, 2, 0)
    assert summary.without_address == 1, "the Karaganda supervisor has no address"
    [(sender, recipients, message)] = box.messages
    assert (sender, recipients) == ("triage@example.kz", [ADDRESSES["reviewer"]])
    body = message.get_payload(decode=True).decode("utf-8")
    link = f"{BASE_URL}/cases/{code}"
    subject = str(email.header.make_header(email.header.decode_header(message["Subject"])))
    assert subject.startswith(f"triage {code}: ")
    assert link in body
    for words in ("Case", "По делу", "ісі"):  # English, Russian and Kazakh
        assert words in body
    assert_nothing_personal(body + str(message), addresses=False)
    assert message["Auto-Submitted"] == "auto-generated"

    [call] = receiver.requests
    assert call.valid, "the signature does not check out"
    assert call.headers["content-type"].startswith("application/json")
    [alert] = receiver.bodies
    assert alert["type"] == "triage.alert"
    assert (alert["kind"], alert["case_code"], alert["link"]) == ("deadline", code, link)
    assert alert["due_at"].endswith("Z")
    webhook_delivery = next(d for d in deliveries(app) if d.channel == "webhook")
    assert call.headers["x-triage-delivery"] == webhook_delivery.id
    assert_nothing_personal(call.body.decode("utf-8"))

    again = run(uow_of(app), config)

    assert (again.raised, again.deliveries, again.sent) == (0, 0, 0)
    assert len(box.messages) == 1 and len(receiver.requests) == 1
    assert count(app, Alert) == 1
    assert {d.status for d in deliveries(app)} == {"sent"}

    sent = events(app, "alert.sent")
    assert sorted(e["details"]["channel"] for e in sent) == ["email", "webhook"]
    assert {e["details"]["case_id"] for e in sent} == {case_id}
    assert {e["details"]["kind"] for e in sent} == {"deadline"}
    [read] = [
        e for e in events(app, "payload.decrypted") if e["details"]["purpose"] == "notify.address"
    ]
    assert (read["object_type"], read["object_id"]) == ("user_account", str(people["reviewer"].id))
    assert_nothing_personal(audit_text(app))
    assert_nothing_personal(triage_log(caplog))


def test_a_deadline_that_moves_is_a_new_occasion(app, settings, accounts, receiver):
    case_id, _ = overdue_case(app)
    config = config_for(settings, webhook=receiver)
    assert run(uow_of(app), config).raised == 1
    with app.app_context(), uow_of(app).begin() as session:
        found = session.get(Case, case_id)
        assert found is not None
        found.opened_at -= timedelta(hours=1)  # the same level, counted from another opening
        triaging.set_level(found, RiskLevel.HIGH, ReviewRules(), provisional=False)

    moved = run(uow_of(app), config)

    assert (moved.raised, moved.sent) == (1, 1)
    assert run(uow_of(app), config).raised == 0
    assert [b["kind"] for b in receiver.bodies] == ["deadline", "deadline"]


def test_the_people_told_are_the_holder_the_proposer_and_the_supervisors_in_scope(
    app, accounts, people
):
    reviewer, supervisor = people["reviewer"], people["supervisor"]
    unscoped = make_user(app, "national.supervisor", Role.SUPERVISOR)
    other_reviewer = make_user(app, "second.reviewer", Role.REVIEWER, Region.KARAGANDA)
    gone = make_user(app, "gone.supervisor", Role.SUPERVISOR, Region.KARAGANDA)
    with app.app_context(), uow_of(app).begin() as session:
        users.update_user(
            session,
            session.get(User, gone.id),
            role="supervisor",
            region="karaganda",
            active=False,
            actor="system",
        )
    deadline_case, _ = overdue_case(app, holder=reviewer)
    followed, _ = overdue_case(app, level=RiskLevel.MEDIUM, holder=reviewer)
    measure = add_decision(
        app,
        followed,
        status=DecisionStatus.IN_EFFECT,
        proposed_by=other_reviewer.id,
        follow_up_on=date.today() - timedelta(days=1),
    )
    waiting_case, _ = overdue_case(app, level=RiskLevel.STANDARD)
    waiting = add_decision(
        app,
        waiting_case,
        status=DecisionStatus.AWAITING_APPROVAL,
        proposed_by=supervisor.id,
        proposed_hours_ago=30,
    )
    # Nothing due: a fresh proposal, a decided overdue case, a medium overdue case, a closed one.
    add_decision(
        app,
        waiting_case,
        status=DecisionStatus.AWAITING_APPROVAL,
        proposed_by=reviewer.id,
        proposed_hours_ago=2,
    )
    decided, _ = overdue_case(app)
    add_decision(app, decided, status=DecisionStatus.IN_EFFECT, proposed_by=reviewer.id)
    overdue_case(app, level=RiskLevel.MEDIUM, hours_ago=100)
    closed, _ = overdue_case(app)
    with app.app_context(), uow_of(app).begin() as session:
        session.execute(
            text("UPDATE case_file SET status = 'closed' WHERE id = :id"), {"id": closed}
        )
    future, _ = overdue_case(app, level=RiskLevel.MEDIUM)
    add_decision(
        app,
        future,
        status=DecisionStatus.IN_EFFECT,
        proposed_by=reviewer.id,
        follow_up_on=date.today() + timedelta(days=3),
    )

    with app.app_context(), uow_of(app).read() as session:
        found = {(d.kind, d.object_id): d.recipients for d in due(session, now=datetime.now(UTC))}

    assert found == {
        ("deadline", deadline_case): (reviewer.id, supervisor.id, unscoped.id),
        ("follow_up", measure): (reviewer.id, other_reviewer.id, supervisor.id, unscoped.id),
        # Never the proposer, though she supervises the region.
        ("approval", waiting): (unscoped.id,),
    }
    assert people["elsewhere"].id not in {uid for r in found.values() for uid in r}


# -- failures and retries ----------------------------------------------------------------------


def test_a_webhook_answering_500_is_retried_after_its_backoff_then_sent(
    app, settings, accounts, receiver
):
    receiver.answers = [500]
    overdue_case(app)
    config = config_for(settings, webhook=receiver)
    start = datetime.now(UTC)

    first = run(uow_of(app), config, clock=lambda: start)

    assert (first.sent, first.failed, dict(first.errors)) == (0, 1, {"http_500": 1})
    [delivery] = deliveries(app)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 1, "http_500")
    assert delivery.next_attempt_at == start + timedelta(seconds=60)
    [failed] = events(app, "alert.failed")
    assert failed["details"]["error"] == "http_500"
    assert failed["details"]["next_attempt_at"] == audit.format_time(start + timedelta(seconds=60))

    early = run(uow_of(app), config, clock=lambda: start + timedelta(seconds=30))
    assert (early.sent, early.failed) == (0, 0), "tried again before its backoff was over"
    assert len(receiver.requests) == 1

    later = run(uow_of(app), config, clock=lambda: start + timedelta(seconds=61))

    assert (later.sent, later.failed) == (1, 0)
    assert len(receiver.requests) == 2 and all(r.valid for r in receiver.requests)
    assert receiver.bodies[0] == receiver.bodies[1], "a retry sends the same alert"
    [delivery] = deliveries(app)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 2, None)
    [sent] = events(app, "alert.sent")
    assert sent["details"]["attempt"] == 2


def test_a_webhook_that_hangs_times_out_and_is_retried(app, settings, accounts, receiver):
    receiver.hangs, receiver.hang = 1, 3.0
    overdue_case(app)
    config = config_for(settings, webhook=receiver)  # waits 1 second
    start = datetime.now(UTC)

    began = time.monotonic()
    first = run(uow_of(app), config, clock=lambda: start)
    took = time.monotonic() - began

    assert dict(first.errors) == {"timeout": 1}
    assert took < 2.9, "the sender waited for the hanging receiver instead of timing out"
    assert deliveries(app)[0].status == "failed"
    later = run(uow_of(app), config, clock=lambda: start + timedelta(minutes=2))
    assert later.sent == 1
    assert deliveries(app)[0].status == "sent"


@pytest.mark.parametrize("where", ["data", "rcpt"])
def test_an_smtp_server_that_refuses_is_failed_then_retried(
    app, settings, people, mailbox, caplog, where
):
    caplog.set_level(logging.DEBUG)
    box, port = mailbox
    if where == "data":
        box.refuse_data = 1
    else:
        box.refuse_rcpt = True
    overdue_case(app, holder=people["reviewer"])
    config = config_for(settings, smtp_port=port)
    start = datetime.now(UTC)

    first = run(uow_of(app), config, clock=lambda: start)

    assert (first.sent, first.failed, dict(first.errors)) == (0, 1, {"smtp_550": 1})
    assert box.messages == []
    [delivery] = deliveries(app)
    assert (delivery.status, delivery.last_error) == ("failed", "smtp_550")
    # The refusal quoted the address back; neither the log nor the audit log repeats it.
    assert_nothing_personal(triage_log(caplog))
    assert_nothing_personal(audit_text(app))

    box.refuse_rcpt = False
    later = run(uow_of(app), config, clock=lambda: start + timedelta(minutes=1, seconds=1))

    assert later.sent == 1
    [(_, recipients, _)] = box.messages
    assert recipients == [ADDRESSES["reviewer"]]


def test_an_smtp_server_that_is_not_there_is_a_connection_failure(app, settings, people):
    overdue_case(app, holder=people["reviewer"])
    config = config_for(settings, smtp_port=free_port())

    summary = run(uow_of(app), config)

    assert dict(summary.errors) == {"connection": 1}
    assert deliveries(app)[0].status == "failed"


# -- the dead-letter list ----------------------------------------------------------------------


def test_after_the_last_attempt_a_dead_letter_is_shown_to_the_admin_who_puts_it_back(
    app, settings, accounts, receiver, client, auth
):
    receiver.answers = [503, 503]
    _, code = overdue_case(app)
    config = config_for(settings, webhook=receiver, notify_max_attempts=2)
    start = datetime.now(UTC)

    run(uow_of(app), config, clock=lambda: start)
    last = run(uow_of(app), config, clock=lambda: start + timedelta(minutes=5))

    assert (last.dead, last.failed) == (1, 0)
    [delivery] = deliveries(app)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("dead", 2, None)
    [dead] = events(app, "alert.dead")
    assert dead["object_id"] == delivery.id and dead["details"]["error"] == "http_503"
    assert run(uow_of(app), config, clock=lambda: start + timedelta(days=1)).dead == 0

    auth.login_as(accounts[Role.ADMIN])
    page = client.get("/admin/deliveries/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    listed = html.split('id="dead-letters"')[1].split("</table>")[0]
    assert code in listed and "http_503" in listed
    assert 'href="/admin/deliveries/"' in client.get("/").get_data(as_text=True)

    refused = client.post(f"/admin/deliveries/{delivery.id}/retry", data={})
    assert refused.status_code == 400, "no CSRF token"
    token = auth.csrf_token("/admin/deliveries/")
    missing = client.post("/admin/deliveries/no-such-id/retry", data={"csrf_token": token})
    assert missing.status_code == 404
    put_back = client.post(f"/admin/deliveries/{delivery.id}/retry", data={"csrf_token": token})
    assert put_back.status_code == 302
    again = client.post(f"/admin/deliveries/{delivery.id}/retry", data={"csrf_token": token})
    assert again.status_code == 409, "only a dead letter can be put back"

    [retried] = events(app, "alert.retried")
    assert retried["actor"] == str(accounts[Role.ADMIN].id)
    assert retried["details"]["attempts_before"] == 2
    [delivery] = deliveries(app)
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    done = run(uow_of(app), config, clock=lambda: start + timedelta(days=1))
    assert done.sent == 1 and len(receiver.requests) == 3


def test_the_deliveries_page_is_for_admins_only(app, accounts, client, auth):
    auth.login_as(accounts[Role.SUPERVISOR])
    assert client.get("/admin/deliveries/").status_code == 403


# -- the command -------------------------------------------------------------------------------


def cli_env(settings: Settings, port: int | None, hook: Receiver | None) -> dict[str, str]:
    env = {
        "TRIAGE_INSTANCE_PATH": str(settings.instance_path),
        "TRIAGE_DATABASE_URL": settings.database_url,
        "TRIAGE_KEYRING_PATH": settings.keyring_path,
        "TRIAGE_BASE_URL": BASE_URL,
    }
    if port is not None:
        env |= {
            "TRIAGE_SMTP_HOST": "127.0.0.1",
            "TRIAGE_SMTP_PORT": str(port),
            "TRIAGE_SMTP_TLS": "none",
            "TRIAGE_SMTP_FROM": "triage@example.kz",
        }
    if hook is not None:
        env |= {"TRIAGE_WEBHOOK_URL": hook.url, "TRIAGE_WEBHOOK_SECRET": SECRET}
    return env


def test_dry_run_lists_what_is_due_and_sends_and_records_nothing(
    app, settings, people, mailbox, receiver
):
    box, port = mailbox
    _, code = overdue_case(app, holder=people["reviewer"])
    env = cli_env(settings, port, receiver)
    before = len(events(app))

    dry = CliRunner().invoke(main, ["notify", "--dry-run"], env=env)

    assert dry.exit_code == 0, dry.output
    assert "Alerts to raise: 1" in dry.output
    assert f"deadline {code}" in dry.output
    assert f"e-mail to users {people['reviewer'].id}" in dry.output
    assert f"no address: users {people['supervisor'].id}" in dry.output
    assert_nothing_personal(dry.output)
    assert box.messages == [] and receiver.requests == []
    assert (count(app, Alert), count(app, Delivery), len(events(app))) == (0, 0, before)

    sent = CliRunner().invoke(main, ["notify"], env=env)

    assert sent.exit_code == 0, sent.output
    assert "Alerts raised: 1 (2 deliveries). Sent: 2" in sent.output
    assert len(box.messages) == 1 and len(receiver.requests) == 1
    quiet = CliRunner().invoke(main, ["notify", "--dry-run"], env=env)
    assert "Alerts to raise: 0" in quiet.output and "Deliveries to try now: 0" in quiet.output


def test_a_failed_delivery_waiting_for_retry_shows_in_the_dry_run(
    app, settings, accounts, receiver
):
    receiver.answers = [500]
    _, code = overdue_case(app)
    config = config_for(settings, webhook=receiver)
    start = datetime.now(UTC)
    run(uow_of(app), config, clock=lambda: start)

    waiting = preview(uow_of(app), config, clock=lambda: start + timedelta(seconds=10))
    due_now = preview(uow_of(app), config, clock=lambda: start + timedelta(seconds=61))

    assert waiting.sending == [] and waiting.planned == []
    [row] = due_now.sending
    assert (row.case_code, row.channel, row.attempts) == (code, "webhook", 1)


def test_notify_refuses_to_run_without_a_channel_or_a_base_url(app, settings, accounts):
    runner = CliRunner()
    bare = cli_env(settings, None, None)
    hook = {"TRIAGE_WEBHOOK_URL": "https://hooks.example.kz/triage"}

    nothing = runner.invoke(main, ["notify"], env=bare)
    assert nothing.exit_code == 1
    assert "No alert channel is configured" in nothing.output

    no_link = runner.invoke(
        main,
        ["notify"],
        env={**bare, **hook, "TRIAGE_BASE_URL": "", "TRIAGE_WEBHOOK_SECRET": SECRET},
    )
    assert no_link.exit_code == 1 and "TRIAGE_BASE_URL" in no_link.output
    weak = runner.invoke(main, ["notify"], env={**bare, **hook, "TRIAGE_WEBHOOK_SECRET": "short"})
    assert weak.exit_code == 1 and "TRIAGE_WEBHOOK_SECRET" in weak.output
    assert "Traceback" not in nothing.output + no_link.output + weak.output


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("smtp_tls", "maybe", "TRIAGE_SMTP_TLS"),
        ("smtp_from", "", "TRIAGE_SMTP_FROM"),
        ("smtp_from", "not an address", "TRIAGE_SMTP_FROM"),
        ("base_url", "ftp://triage.example.kz", "TRIAGE_BASE_URL"),
        ("notify_max_attempts", 0, "TRIAGE_NOTIFY_MAX_ATTEMPTS"),
    ],
)
def test_a_wrong_setting_is_named(settings, setting, value, named) -> None:
    values = {"smtp_host": "mail.example.kz", "smtp_from": "triage@example.kz", setting: value}
    with pytest.raises(ConfigError, match=named):
        NotifyConfig.from_settings(settings.with_overrides(values))


# -- two runs at once --------------------------------------------------------------------------


def test_two_runs_at_once_send_every_delivery_exactly_once(
    app, settings, people, mailbox, receiver
):
    box, port = mailbox
    codes = {overdue_case(app, holder=people["reviewer"])[1] for _ in range(4)}
    config = config_for(settings, smtp_port=port, webhook=receiver)
    summaries: list[Any] = []
    failures: list[BaseException] = []
    gate = threading.Barrier(2)

    def one_run() -> None:
        try:
            gate.wait()
            summaries.append(run(uow_of(app), config))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert failures == []
    assert sum(s.raised for s in summaries) == 4, "an alert was raised twice"
    assert sum(s.sent for s in summaries) == 8
    ids = [m["Message-ID"] for _, _, m in box.messages]
    assert len(ids) == 4 and len(set(ids)) == 4
    assert sorted(b["case_code"] for b in receiver.bodies) == sorted(codes)
    assert count(app, Alert) == 4 and count(app, Delivery) == 8
    assert len(events(app, "alert.sent")) == 8


# -- staff addresses ---------------------------------------------------------------------------


def test_an_admin_sets_a_sealed_address_that_is_never_shown_again(
    app, accounts, client, auth, database: Database
):
    auth.login_as(accounts[Role.ADMIN])
    token = auth.csrf_token("/admin/users/new")
    made = client.post(
        "/admin/users/new",
        data={
            "csrf_token": token,
            "username": "new.supervisor",
            "password": "long enough password",
            "role": "supervisor",
            "region": "karaganda",
            "active": "y",
            "email": "New.Supervisor@Example.KZ",
        },
    )
    assert made.status_code == 302, made.get_data(as_text=True)
    with app.app_context(), uow_of(app).begin() as session:
        user = users.find(session, "new.supervisor")
        assert user.has_email
        assert users.email_of(session, user, actor="test", purpose="test") == (
            "New.Supervisor@example.kz"
        )
        uid = user.id
    page = client.get(f"/admin/users/{uid}").get_data(as_text=True)
    assert "An e-mail address for alerts is set" in page
    assert "example.kz" not in page.lower(), "the edit page shows the sealed address"
    [changed] = events(app, "user.email_changed")
    assert changed["details"] == {"set": True}
    assert "example.kz" not in audit_text(app).lower()
    if database.path is not None:
        assert b"New.Supervisor" not in database.path.read_bytes()

    token = auth.csrf_token(f"/admin/users/{uid}")
    wrong = client.post(
        f"/admin/users/{uid}",
        data={
            "csrf_token": token,
            "role": "supervisor",
            "region": "karaganda",
            "active": "y",
            "email": "someone@@nowhere",
        },
    )
    assert wrong.status_code == 422
    assert "Enter an e-mail address such as name@example.kz." in wrong.get_data(as_text=True)
    assert "someone@@nowhere" not in wrong.get_data(as_text=True).split("<form")[0]

    removed = client.post(
        f"/admin/users/{uid}",
        data={
            "csrf_token": token,
            "role": "supervisor",
            "region": "karaganda",
            "active": "y",
            "remove_email": "y",
        },
    )
    assert removed.status_code == 302
    with app.app_context(), uow_of(app).read() as session:
        user = session.get(User, uid)
        assert user is not None
        assert (user.has_email, user.payload, user.data_key_id) == (False, None, None)


def test_an_address_and_a_two_step_secret_live_side_by_side(app, accounts):
    from tests.integration.test_two_step import enrol

    reviewer = accounts[Role.REVIEWER]
    give_email(app, reviewer, ADDRESSES["reviewer"])
    secret = enrol(app, reviewer)
    with app.app_context(), uow_of(app).begin() as session:
        user = session.get(User, reviewer.id)
        assert user is not None and user.totp_enabled and user.has_email
        assert users.email_of(session, user, actor="t", purpose="t") == ADDRESSES["reviewer"]
        users.set_email(session, user, "changed@example.kz", actor="system")
    with app.app_context(), uow_of(app).begin() as session:
        user = session.get(User, reviewer.id)
        assert user is not None
        from triage.two_step import totp_secret

        assert totp_secret(session, user, actor="t", purpose="t") == secret
        users.reset_two_step(session, user, actor="admin")
    with app.app_context(), uow_of(app).begin() as session:
        user = session.get(User, reviewer.id)
        assert user is not None
        assert (user.totp_enabled, user.totp_pending, user.has_email) == (False, False, True)
        assert users.email_of(session, user, actor="t", purpose="t") == "changed@example.kz"


# -- the migration -----------------------------------------------------------------------------


def test_the_downgrade_shreds_payloads_holding_only_an_address(app, accounts, settings):
    from triage.instance import migrate

    reviewer, supervisor = accounts[Role.REVIEWER], accounts[Role.SUPERVISOR]
    give_email(app, reviewer, ADDRESSES["reviewer"])
    from tests.integration.test_two_step import enrol

    enrol(app, supervisor)
    give_email(app, supervisor, ADDRESSES["supervisor"])
    engine = uow_of(app).engine

    migrate(engine, "0007", downgrade=True)

    with engine.connect() as connection:
        rows = {
            r.id: r
            for r in connection.execute(
                text("SELECT id, payload, data_key_id, totp_enabled FROM user_account")
            )
        }
    assert (rows[reviewer.id].payload, rows[reviewer.id].data_key_id) == (None, None)
    assert rows[supervisor.id].payload is not None, "the secret beside an address was kept"
    migrate(engine)
