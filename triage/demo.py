"""Demo accounts of every role and a few invented reports from all three sources.

For trying triage out, never for production: the accounts get fresh random passwords each run
(printed once), and the reports are made-up stories from the sample articles.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import normalise, users
from .models import Report, User
from .reports import IndexValue, file_report
from .review.demo import triage_demo_cases
from .vocab import Region, Role, SourceKind, Verification

DEMO_ACCOUNTS: tuple[tuple[str, Role, Region | None], ...] = (
    ("caseworker", Role.CASEWORKER, Region.KARAGANDA),
    ("reviewer", Role.REVIEWER, Region.KARAGANDA),
    ("reviewer.shymkent", Role.REVIEWER, Region.SHYMKENT),
    ("supervisor", Role.SUPERVISOR, None),
    ("auditor", Role.AUDITOR, None),
    ("admin", Role.ADMIN, None),
)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: Role
    region: Region | None


def _password() -> str:
    return "-".join(secrets.token_urlsafe(6) for _ in range(3))


def ensure_accounts(session: Session) -> list[DemoAccount]:
    """Create the demo accounts, or give existing ones a fresh password; return the credentials."""
    accounts = []
    for username, role, region in DEMO_ACCOUNTS:
        password = _password()
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            users.create_user(
                session,
                username=username,
                password=password,
                role=role.value,
                region=region.value if region else None,
                actor="system",
            )
        else:
            users.set_password(session, user, password, actor="system")
        accounts.append(DemoAccount(username, password, role, region))
    return accounts


def _article(name: str) -> tuple[str, str]:
    text = resources.files("triage").joinpath("demo_data", name).read_text(encoding="utf-8")
    headline, _, body = text.partition("\n\n")
    return headline.strip(), body.strip()


def ensure_reports(session: Session, caseworker_id: int) -> int:
    """File the demo reports once; later runs add nothing. Returns how many were filed now."""
    if session.scalar(select(func.count()).select_from(Report)):
        return 0
    today = date.today()
    actor = str(caseworker_id)
    headline, body = _article("en-incident.txt")
    file_report(
        session,
        source_kind=SourceKind.MEDIA,
        region=Region.KARAGANDA,
        occurred_on=today - timedelta(days=2),
        categories=["battery", "threat", "minor_harm", "children"],
        actor=actor,
        filed_by=caseworker_id,
        payload={
            "outlet": "Example regional news",
            "url": "https://news.example.kz/2026/11/01/en-incident",
            "language": "en",
            "headline": headline,
            "text": body,
            "people": ["the woman (36)", "her husband (41)"],
        },
        indexes=[
            IndexValue("url", normalise.url("https://news.example.kz/2026/11/01/en-incident"))
        ],
    )
    headline, body = _article("ru-incident.txt")
    file_report(
        session,
        source_kind=SourceKind.ONLINE,
        region=Region.SHYMKENT,
        occurred_on=today - timedelta(days=1),
        categories=["battery", "threat"],
        actor=actor,
        filed_by=caseworker_id,
        payload={
            "platform": "telegram",
            "post_url": "https://t.me/example_channel/4821",
            "author_handle": "@sosedka_shym",
            "captured_text": f"{headline}. {body}",
        },
        indexes=[IndexValue("url", normalise.url("https://t.me/example_channel/4821"))],
    )
    file_report(
        session,
        source_kind=SourceKind.DIRECT,
        region=Region.KARAGANDA,
        occurred_on=today,
        categories=["psychological", "persecution"],
        actor=actor,
        filed_by=caseworker_id,
        victim_complaint=True,
        verification=Verification.CORROBORATED,
        payload={
            "reporter": "victim",
            "victim": {
                "name": "Aigerim Demo-Nurlanova",
                "birth_date": "1991-04-12",
                "phone": "+7 701 555 0101",
            },
            "aggressor": {"name": "Timur Demo-Nurlanov", "age": 38},
            "relationship": "former_spouse",
            "narrative": "Invented demo story: her former husband follows her to work and calls "
            "dozens of times a day, threatening to take the children.",
            "may_contact": True,
            "safe_contact": "text message only, after 18:00",
            "consent_support_services": True,
        },
        indexes=[
            IndexValue(
                "victim", normalise.name_and_birth("Aigerim Demo-Nurlanova", date(1991, 4, 12))
            ),
            IndexValue("phone", normalise.phone("+7 701 555 0101")),
        ],
    )
    triage_demo_cases(session)
    return 3
