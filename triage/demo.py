"""Demo accounts of every role and a few invented reports from all three sources.

For trying triage out, never for production: the accounts get fresh random passwords each run
(printed once), and the reports are made-up stories from the sample articles.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import users
from .intake import schema, service
from .models import Report, User
from .review.rules import ReviewRules
from .vocab import Region, Role

DEMO_ACCOUNTS: tuple[tuple[str, Role, Region | None], ...] = (
    ("caseworker", Role.CASEWORKER, Region.KARAGANDA),
    ("reviewer", Role.REVIEWER, Region.KARAGANDA),
    ("reviewer.shymkent", Role.REVIEWER, Region.SHYMKENT),
    ("reviewer.astana", Role.REVIEWER, Region.ASTANA),
    ("reviewer.almaty", Role.REVIEWER, Region.ALMATY),
    ("supervisor", Role.SUPERVISOR, None),
    # A second supervisor, so that four eyes on a supervisor's own proposal can be tried.
    ("supervisor2", Role.SUPERVISOR, None),
    ("auditor", Role.AUDITOR, None),
    ("admin", Role.ADMIN, None),
)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: Role
    region: Region | None


_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def _password() -> str:
    """Four groups of four: about 79 bits, easy to read off a terminal."""
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(4))


def ensure_accounts(session: Session) -> list[DemoAccount]:
    """Create the demo accounts, or give existing ones a fresh password; return the credentials."""
    return ensure(session, DEMO_ACCOUNTS)


def ensure(session: Session, specs: Iterable[tuple[str, Role, Region | None]]) -> list[DemoAccount]:
    """Create these accounts (username, role, region), or give existing ones a fresh password."""
    accounts = []
    for username, role, region in specs:
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


def _demo_reports(today: date) -> list[dict[str, Any]]:
    """Made-up reports of every source kind; two direct ones concern the same woman."""
    en_headline, en_body = _article("en-incident.txt")
    ru_headline, ru_body = _article("ru-incident.txt")
    kk_headline, kk_body = _article("kk-incident.txt")
    victim = {
        "name": "Aigerim Demo-Nurlanova",
        "birth_date": "1991-04-12",
        "phone": "+7 701 555 0101",
    }
    return [
        {
            "source_kind": "media",
            "region": "karaganda",
            "occurred_on": today - timedelta(days=2),
            "categories": ["battery", "threat", "minor_harm", "children"],
            "outlet": "Example regional news",
            "url": "https://news.example.kz/2026/11/01/en-incident",
            "language": "en",
            "headline": en_headline,
            "text": en_body,
            "people": ["the woman (36)", "her husband (41)"],
        },
        {
            "source_kind": "online",
            "region": "shymkent",
            "occurred_on": today - timedelta(days=1),
            "categories": ["battery", "threat"],
            "platform": "telegram",
            "post_url": "https://t.me/example_channel/4821",
            "author_handle": "@sosedka_shym",
            "captured_at": f"{today - timedelta(days=1)}T21:40:00Z",
            "captured_text": f"{ru_headline}. {ru_body}",
        },
        {
            "source_kind": "media",
            "region": "pavlodar",
            "occurred_on": today - timedelta(days=3),
            "categories": ["threat", "children"],
            "outlet": "Example regional news",
            "url": "https://news.example.kz/2026/11/03/kk-incident",
            "language": "kk",
            "headline": kk_headline,
            "text": kk_body,
        },
        {
            "source_kind": "direct",
            "region": "karaganda",
            "occurred_on": today,
            "categories": ["psychological", "persecution"],
            "reporter": "victim",
            "victim": victim,
            "aggressor": {"name": "Timur Demo-Nurlanov", "age": 38},
            "relationship": "former_spouse",
            "narrative": "Invented demo story: her former husband follows her to work and calls "
            "dozens of times a day, threatening to take the children.",
            "victim_complaint": True,
            "may_contact": "yes",
            "safe_contact": "text message only, after 18:00",
            "consent_support_services": "yes",
            "wishes": "She wants him to stop calling; she does not want him arrested.",
        },
        {
            "source_kind": "direct",
            "region": "karaganda",
            "occurred_on": today,
            "categories": ["persecution"],
            "reporter": "neighbour",
            "victim": {"name": "Айгерим Демо-Нурланова", "phone": "8 (701) 555-01-01"},
            "aggressor": {"name": "Тимур Демо-Нурланов"},
            "relationship": "former_spouse",
            "narrative": "Invented demo story: a neighbour saw the former husband waiting outside "
            "her door at night.",
        },
    ]


def ensure_reports(
    session: Session, caseworker_id: int, *, rules: ReviewRules | None = None
) -> int:
    """File the demo reports once, through intake like any report; later runs add nothing.

    The neighbour's report names the same woman (in Cyrillic, with her phone typed differently):
    intake finds the probable match and the demo links it to her case, as a caseworker would.
    """
    if session.scalar(select(func.count()).select_from(Report)):
        return 0
    actor = str(caseworker_id)
    filed = 0
    for raw in _demo_reports(date.today()):
        incoming = schema.parse(raw)
        try:
            service.file(
                session, incoming, actor=actor, filed_by=caseworker_id, attested=True, rules=rules
            )
        except service.ConfirmLink as asked:
            service.file(
                session,
                incoming,
                actor=actor,
                filed_by=caseworker_id,
                link_case_id=asked.matches[0].case_id,
                attested=True,
                rules=rules,
            )
        filed += 1
    return filed
