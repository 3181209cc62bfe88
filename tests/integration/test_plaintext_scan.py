"""Nothing about a person is stored in plaintext: file reports with distinctive names, phones,
links and narratives, then search the raw SQLite file (and its WAL) or a ``pg_dump`` of the
PostgreSQL database for every one of them. A control value that is meant to be stored in plain
(the case code, the region) proves the scan would have found them.

The logs too: reports filed through the forms and the API (accepted and refused) with a planted
value in every personal field, then every JSON line triage's handler wrote, the database file
and its WAL (or a pg_dump) are scanned; a value logged on purpose proves the scan sees one."""

from __future__ import annotations

import json
import logging
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import make_url

from tests.conftest import Account, AuthActions, Database
from triage import logging as logs
from triage import normalise, users
from triage.intake import api_clients
from triage.models import Case, DataKey, Report
from triage.reports import IndexValue, file_report
from triage.vocab import Region, Role, SourceKind
from triage.web.deps import uow_of

PG_DUMP = shutil.which("pg_dump") or "/usr/bin/pg_dump"


@dataclass(frozen=True)
class Submission:
    source_kind: SourceKind
    region: Region
    payload: dict[str, Any]
    indexes: list[IndexValue]


REPORTS = [
    Submission(
        SourceKind.DIRECT,
        Region.KARAGANDA,
        {
            "victim": {
                "name": "Гүлнәр Жұмабекқызы",
                "born": "1987-04-19",
                "phone": "+7 701 555 83 19",
                "address": "Караганда, улица Ерубаева, дом 47, квартира 12",
            },
            "aggressor": {"name": "Ерлан Тоқтарұлы", "phone": "8 (777) 902-61-44"},
            "narrative": "Ерлан пышақпен қорқытты, балаларды ұрды. Соседка вызвала полицию.",
        },
        [
            IndexValue(
                "name_birth", normalise.name_and_birth("Гүлнәр Жұмабекқызы", date(1987, 4, 19))
            ),
            IndexValue("phone", normalise.phone("+7 701 555 83 19")),
            IndexValue("phone", normalise.phone("8 (777) 902-61-44")),
        ],
    ),
    Submission(
        SourceKind.MEDIA,
        Region.ALMATY,
        {
            "victim": {"name": "Svetlana Kovalchukova", "phone": "+7 705 318 27 64"},
            "url": "https://www.zhanalyqtar-example.kz/incidents/2026/husband-threat-9931",
            "article": "Neighbours heard Svetlana Kovalchukova screaming; her husband Dmitriy "
            "Kovalchukov threatened her with an axe in the flat on Zheltoksan street.",
        },
        [
            IndexValue("name", normalise.name("Svetlana Kovalchukova")),
            IndexValue("phone", normalise.phone("+7 705 318 27 64")),
            IndexValue(
                "url",
                normalise.url(
                    "https://www.zhanalyqtar-example.kz/incidents/2026/husband-threat-9931"
                ),
            ),
        ],
    ),
    Submission(
        SourceKind.ONLINE,
        Region.SHYMKENT,
        {
            "author_handle": "@tomiris_qyzy_1999",
            "post": "Тұмарис Әбілқайырқызы: ағам мені күнде ұрады, көмектесіңдер!",
            "victim": {"name": "Тұмарис Әбілқайырқызы"},
        },
        [IndexValue("name", normalise.name("Тұмарис Әбілқайырқызы"))],
    ),
]

# Every distinctive piece of personal data above, as typed and in its normal forms.
PLAINTEXTS = [
    "Гүлнәр",
    "Жұмабекқызы",
    "1987-04-19",
    "701 555 83 19",
    "7015558319",
    "Ерубаева",
    "Ерлан",
    "Тоқтарұлы",
    "902-61-44",
    "пышақпен",
    "Соседка вызвала",
    "Svetlana",
    "Kovalchukova",
    "705 318 27 64",
    "zhanalyqtar-example",
    "husband-threat-9931",
    "Zheltoksan",
    "threatened her with an axe",
    "tomiris_qyzy",
    "Тұмарис",
    "Әбілқайырқызы",
    "күнде ұрады",
    normalise.name("Гүлнәр Жұмабекқызы"),
    normalise.name("Svetlana Kovalchukova"),
    normalise.name("Тұмарис Әбілқайырқызы"),
    normalise.phone("+7 701 555 83 19"),
    normalise.phone("8 (777) 902-61-44"),
    normalise.phone("+7 705 318 27 64"),
    normalise.url("https://www.zhanalyqtar-example.kz/incidents/2026/husband-threat-9931"),
]
#: A staff member's address for alerts is a person's data too (sealed in the account).
STAFF_EMAIL = "aizhan.scan-alerts@mail-example.kz"
PLAINTEXTS.append(STAFF_EMAIL)


def _file_all(app: Flask) -> tuple[list[str], list[bytes]]:
    """File the reports; return their case codes and some stored binary values (controls)."""
    with app.app_context(), uow_of(app).begin() as session:
        report_ids = []
        for spec in REPORTS:
            report = file_report(
                session,
                source_kind=spec.source_kind,
                payload=spec.payload,
                actor="system",
                region=spec.region,
                categories=["threat", "battery"],
                indexes=spec.indexes,
            )
            report_ids.append(report.id)
        staff = users.create_user(
            session,
            username="scan.supervisor",
            password="a long enough password",
            role="supervisor",
            actor="system",
        )
        users.set_email(session, staff, STAFF_EMAIL, actor="system")
    with app.app_context(), uow_of(app).begin() as session:
        codes = list(
            session.scalars(
                select(Case.code)
                .join(Report, Report.case_id == Case.id)
                .where(Report.id.in_(report_ids))
            )
        )
        wrapped = [bytes(w) for w in session.scalars(select(DataKey.wrapped))]
    assert len(codes) == len(REPORTS)
    assert len(wrapped) == len(REPORTS) + 1  # and the staff account's
    return codes, wrapped


def _assert_absent(haystack: bytes, where: str) -> None:
    """No plaintext as UTF-8, nor as the hex in which a dump prints binary columns."""
    for plain in PLAINTEXTS:
        for form in {plain, plain.casefold()}:
            raw = form.encode("utf-8")
            assert raw not in haystack, f"{form!r} found in plaintext in {where}"
            assert raw.hex().encode() not in haystack, f"{form!r} found as hex in {where}"


def _sqlite_bytes(path: Path) -> bytes:
    data = b""
    for suffix in ("", "-wal", "-journal"):
        part = Path(f"{path}{suffix}")
        if part.exists():
            data += part.read_bytes()
    return data


def _pg_dump(url: str) -> bytes:
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    done = subprocess.run([PG_DUMP, "--no-owner", libpq], capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def test_no_personal_data_in_the_stored_bytes(
    app: Flask, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    codes, wrapped = _file_all(app)

    if database.engine == "sqlite":
        assert database.path is not None
        before_checkpoint = _sqlite_bytes(database.path)
        with sqlite3.connect(database.path) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        dumps = {
            "the SQLite file and its WAL": before_checkpoint,
            "the checkpointed SQLite file": database.path.read_bytes(),
        }
    else:
        dumps = {"pg_dump": _pg_dump(database.url)}

    for where, data in dumps.items():
        # Controls: values stored in plain on purpose are found, in text and in binary columns.
        for code in codes:
            assert code.encode() in data, f"case code {code} not found in {where}"
        assert b"shymkent" in data
        if database.engine == "postgresql":
            assert wrapped[0].hex().encode() in data
        else:
            assert wrapped[0] in data
        _assert_absent(data, where)

    logged = "\n".join(record.getMessage() for record in caplog.records)
    _assert_absent(logged.encode("utf-8"), "the log")


def test_the_scan_finds_plaintext_when_there_is_some(app: Flask, database: Database) -> None:
    """The negative control: the same scan does see personal data stored in a plain column."""
    _file_all(app)
    with app.app_context(), uow_of(app).begin() as session:
        case = session.scalars(select(Case)).first()
        assert case is not None
        case.outcome = "Тұмарис"  # never done by the app: this is the leak the scan must catch

    if database.engine == "sqlite":
        assert database.path is not None
        data = _sqlite_bytes(database.path)
    else:
        data = _pg_dump(database.url)
    with pytest.raises(AssertionError, match="Тұмарис"):
        _assert_absent(data, "the database")


# -- the logs, through the forms and the API -----------------------------------------------------

#: Planted values, one per personal field, each unique enough that finding it means a leak.
PLANTED = {
    "reporter_name": "Plantedreporter Qyzyrbekova",
    "victim_name": "Plantedvictim Ämirzhanova",
    "victim_phone": "+7 707 414 29 83",
    "victim_iin": "870419450124",
    "victim_address": "Plantedstreet 417, flat 93",
    "aggressor_name": "Plantedaggressor Toqtarov",
    "aggressor_phone": "+7 778 661 05 27",
    "place": "Plantedplace Bukhar-Zhyrau 311",
    "narrative": "Plantednarrative: he struck her with a Plantedbelt near the Plantedkiosk.",
    "safe_contact": "Plantedcontact after 19:40 only",
}
API_PLANTED = {
    "victim": {"name": "Apivictim Seitkhanova", "phone": "+77014471936"},
    "aggressor": {"name": "Apiaggressor Ormanov", "age": 44},
    "narrative": "Apinarrative: threatened with an Apihammer in the Apigarage.",
}
LOG_PLAINTEXTS = [
    "Plantedreporter",
    "Plantedvictim",
    "707 414 29 83",
    "7074142983",
    "870419450124",
    "Plantedstreet",
    "Plantedaggressor",
    "778 661 05 27",
    "Plantedplace",
    "Plantednarrative",
    "Plantedbelt",
    "Plantedcontact",
    "Apivictim",
    "7014471936",
    "Apiaggressor",
    "Apinarrative",
    "Apihammer",
]


def _logged_text(path: Path) -> str:
    """Every line of the JSON log, decoded: JSON escapes non-ASCII (``\\u0410``), so the raw
    bytes alone would hide a Cyrillic leak; each line must be one JSON object."""
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines, "nothing was logged: the scan would prove nothing"
    return "\n".join(json.dumps(json.loads(line), ensure_ascii=False) for line in lines)


def _absent(text: str, where: str, plaintexts: list[str]) -> None:
    for plain in plaintexts:
        assert plain.casefold() not in text.casefold(), f"{plain!r} found in {where}"


def _file_everything(app: Flask, accounts: dict[Role, Account]) -> None:
    """The same report through every way in: the form (and again, refused as a repeat), the
    API (and again, refused), as the caseworker; then the reviewer opens each case page."""
    client = app.test_client()
    auth = AuthActions(client)
    auth.login_as(accounts[Role.CASEWORKER])
    data = {
        "reporter": "neighbour",
        "relationship": "spouse",
        "region": "karaganda",
        "occurred_on": (date.today()).isoformat(),
        "categories": ["battery", "threat"],
        "children_present": "yes",
        "may_contact": "yes",
        "victim_birth_date": "1987-04-19",
        "aggressor_age": "44",
        **PLANTED,
    }
    auth.file_report("direct", data)
    token = auth.csrf_token("/reports/new/direct")
    refused = client.post(
        "/reports/new/direct", data={"csrf_token": token, **data, "region": "mars"}
    )
    assert refused.status_code in (400, 422)
    client.get("/reports/")
    with app.app_context(), uow_of(app).begin() as session:
        _, api_token = api_clients.create_client(
            session, name="scan", scopes=("direct",), actor="system"
        )
    body = {
        "source_kind": "direct",
        "region": "karaganda",
        "reporter": "neighbour",
        "relationship": "spouse",
        "categories": ["battery"],
        "occurred_on": date.today().isoformat(),
        **API_PLANTED,
    }
    headers = {"Authorization": f"Bearer {api_token}", "Content-Type": "application/json"}
    for sent, status in ((body, 201), ({**body, "region": "mars"}, 422)):
        answer = client.post(
            "/api/v1/reports", data=json.dumps(sent, ensure_ascii=False), headers=headers
        )
        assert answer.status_code == status, answer.get_data(as_text=True)
    reviewer = app.test_client()
    AuthActions(reviewer).login_as(accounts[Role.REVIEWER])
    queue = reviewer.get("/cases/").get_data(as_text=True)
    for ref in set(re.findall(r'href="/cases/([A-Z0-9-]+)"', queue)):
        reviewer.get(f"/cases/{ref}")


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """triage's JSON handler writing to a file, at DEBUG, for the whole test."""
    path = tmp_path / "triage.log"
    with path.open("w", encoding="utf-8") as stream:
        logs.configure("DEBUG", "json", stream)
        try:
            yield path
        finally:
            logs.configure("INFO", "json")


def test_no_personal_data_in_the_logs_or_the_database_of_reports_filed_every_way(
    app: Flask, database: Database, accounts: dict[Role, Account], log_file: Path
) -> None:
    _file_everything(app, accounts)

    _absent(_logged_text(log_file), "the log", LOG_PLAINTEXTS)
    if database.engine == "sqlite":
        assert database.path is not None
        stored = _sqlite_bytes(database.path)
    else:
        stored = _pg_dump(database.url)
    for plain in LOG_PLAINTEXTS:
        assert plain.encode("utf-8") not in stored, f"{plain!r} found in the database"
        assert plain.encode("utf-8").hex().encode() not in stored, f"{plain!r} as hex"


def test_the_log_scan_finds_a_value_logged_in_plain(
    app: Flask, accounts: dict[Role, Account], log_file: Path
) -> None:
    """The positive control: a planted value written to the log on purpose is found, Cyrillic
    (escaped by JSON) as well as Latin."""
    _file_everything(app, accounts)
    logging.getLogger("triage").warning("leak on purpose: %s", PLANTED["victim_name"])
    logging.getLogger("triage.request").info("leak on purpose: %s", "Тұмарис Plantedcontact")

    text = _logged_text(log_file)
    with pytest.raises(AssertionError, match="Plantedvictim"):
        _absent(text, "the log", LOG_PLAINTEXTS)
    with pytest.raises(AssertionError, match="Тұмарис"):
        _absent(text, "the log", ["Тұмарис"])
