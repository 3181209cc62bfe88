"""What an alert says: the e-mail (subject and text, in Kazakh, Russian and English, since staff
accounts have no language of their own) and the webhook's JSON. Pure.

Each carries the case's code, the link to its page, the kind of alert and when it fell due —
nothing about a person. What the case is about is behind the link, for whoever may sign in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from ..audit import format_time
from ..models import AlertKind


@dataclass(frozen=True)
class AlertFacts:
    """The whole of what an alert tells anyone."""

    alert_id: str
    kind: str
    case_code: str
    link: str
    due_at: datetime


#: Short subject lines by kind: Kazakh, Russian, English.
_SUBJECTS: dict[str, tuple[str, str, str]] = {
    AlertKind.DEADLINE: ("мерзімі өтті", "срок истёк", "deadline passed"),
    AlertKind.FOLLOW_UP: ("бақылау мерзімі келді", "срок контроля", "follow-up due"),
    AlertKind.APPROVAL: ("бекітуді күтуде", "ожидает утверждения", "awaiting approval"),
}

#: One sentence by kind and language; ``{code}`` and ``{due}`` are filled in.
_SENTENCES: dict[str, tuple[str, str, str]] = {
    AlertKind.DEADLINE: (
        "Қауіп деңгейі жоғары {code} ісі бойынша жауап беру мерзімі ({due}) өтті, "
        "шешім әлі қабылданған жоқ.",
        "По делу {code} с высоким уровнем риска истёк срок ответа ({due}), решение ещё не принято.",
        "Case {code} is at high risk and has passed its response deadline ({due}) "
        "with no decision yet.",
    ),
    AlertKind.FOLLOW_UP: (
        "{code} ісі бойынша қолданылған шараның орындалуын бақылау мерзімі келді ({due}).",
        "По делу {code} наступил срок контроля исполнения принятой меры ({due}).",
        "The follow-up of a measure in effect on case {code} is due ({due}).",
    ),
    AlertKind.APPROVAL: (
        "{code} ісі бойынша ұсынылған шара {due} бастап басшының бекітуін күтуде.",
        "Предложенная по делу {code} мера ожидает утверждения руководителем с {due}.",
        "A measure proposed on case {code} has waited for a supervisor's approval since {due}.",
    ),
}
_OPEN = ("Істі ашу: {link}", "Открыть дело: {link}", "Open the case: {link}")
_FOOTER = (
    "Бұл хатта дербес деректер жоқ: істі көру үшін жүйеге кіріңіз.",
    "В этом письме нет персональных данных: чтобы увидеть дело, войдите в систему.",
    "This message carries no personal data: sign in to see the case.",
)


def _due_text(facts: AlertFacts) -> str:
    moment = facts.due_at.astimezone(UTC)
    if facts.kind == AlertKind.FOLLOW_UP:
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def subject(facts: AlertFacts) -> str:
    kk, ru, en = _SUBJECTS[facts.kind]
    return f"triage {facts.case_code}: {kk} / {ru} / {en}"


def text(facts: AlertFacts) -> str:
    """The e-mail's body: a paragraph in each language, Kazakh first."""
    due = _due_text(facts)
    paragraphs = [
        "\n".join(
            (
                _SENTENCES[facts.kind][i].format(code=facts.case_code, due=due),
                _OPEN[i].format(link=facts.link),
            )
        )
        for i in range(3)
    ]
    return "\n\n".join(paragraphs) + "\n\n-- \n" + "\n".join(_FOOTER) + "\n"


def email(
    facts: AlertFacts, *, sender: str, to: str, delivery_id: str, now: datetime
) -> EmailMessage:
    """The e-mail for one recipient. Its Message-ID is the delivery's, so a retry of a message
    the server did accept after all reads as the same message to mail clients."""
    message = EmailMessage()
    message["Subject"] = subject(facts)
    message["From"] = sender
    message["To"] = to
    message["Date"] = format_datetime(now.astimezone(UTC))
    message["Message-ID"] = f"<{delivery_id}@{sender.rpartition('@')[2]}>"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Triage-Alert"] = facts.alert_id
    message.set_content(text(facts), cte="quoted-printable")
    return message


def webhook_body(facts: AlertFacts) -> bytes:
    """The webhook's JSON: compact, keys sorted, UTF-8 — the exact bytes that are signed."""
    document = {
        "type": "triage.alert",
        "alert_id": facts.alert_id,
        "kind": facts.kind,
        "case_code": facts.case_code,
        "link": facts.link,
        "due_at": format_time(facts.due_at),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


__all__ = ["AlertFacts", "email", "subject", "text", "webhook_body"]
