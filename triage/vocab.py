"""The controlled vocabularies of the domain (DOMAIN.md): roles, regions, source kinds, states.

Each is a ``StrEnum`` whose value is what the database stores and whose ``label`` is what people
read. Names here are the names used in code, templates, docs and the UI alike.
"""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Role(StrEnum):
    CASEWORKER = "caseworker"
    REVIEWER = "reviewer"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return str(_ROLE_LABELS[self])


_ROLE_LABELS = {
    Role.CASEWORKER: _l("Caseworker"),
    Role.REVIEWER: _l("Reviewer"),
    Role.SUPERVISOR: _l("Supervisor"),
    Role.AUDITOR: _l("Auditor"),
    Role.ADMIN: _l("Administrator"),
}


class Region(StrEnum):
    """Kazakhstan's seventeen regions and three cities of republican significance."""

    ABAI = "abai"
    AKMOLA = "akmola"
    AKTOBE = "aktobe"
    ALMATY_REGION = "almaty_region"
    ATYRAU = "atyrau"
    EAST_KAZAKHSTAN = "east_kazakhstan"
    JAMBYL = "jambyl"
    JETISU = "jetisu"
    KARAGANDA = "karaganda"
    KOSTANAY = "kostanay"
    KYZYLORDA = "kyzylorda"
    MANGYSTAU = "mangystau"
    NORTH_KAZAKHSTAN = "north_kazakhstan"
    PAVLODAR = "pavlodar"
    TURKISTAN = "turkistan"
    ULYTAU = "ulytau"
    WEST_KAZAKHSTAN = "west_kazakhstan"
    ASTANA = "astana"
    ALMATY = "almaty"
    SHYMKENT = "shymkent"

    @property
    def label(self) -> str:
        return str(_REGION_LABELS[self])


_REGION_LABELS = {
    Region.ABAI: _l("Abai Region"),
    Region.AKMOLA: _l("Akmola Region"),
    Region.AKTOBE: _l("Aktobe Region"),
    Region.ALMATY_REGION: _l("Almaty Region"),
    Region.ATYRAU: _l("Atyrau Region"),
    Region.EAST_KAZAKHSTAN: _l("East Kazakhstan Region"),
    Region.JAMBYL: _l("Jambyl Region"),
    Region.JETISU: _l("Jetisu Region"),
    Region.KARAGANDA: _l("Karaganda Region"),
    Region.KOSTANAY: _l("Kostanay Region"),
    Region.KYZYLORDA: _l("Kyzylorda Region"),
    Region.MANGYSTAU: _l("Mangystau Region"),
    Region.NORTH_KAZAKHSTAN: _l("North Kazakhstan Region"),
    Region.PAVLODAR: _l("Pavlodar Region"),
    Region.TURKISTAN: _l("Turkistan Region"),
    Region.ULYTAU: _l("Ulytau Region"),
    Region.WEST_KAZAKHSTAN: _l("West Kazakhstan Region"),
    Region.ASTANA: _l("Astana (city)"),
    Region.ALMATY: _l("Almaty (city)"),
    Region.SHYMKENT: _l("Shymkent (city)"),
}


class SourceKind(StrEnum):
    DIRECT = "direct"
    MEDIA = "media"
    ONLINE = "online"

    @property
    def label(self) -> str:
        return str(
            {"direct": _l("Direct"), "media": _l("Media"), "online": _l("Online")}[self.value]
        )


class Verification(StrEnum):
    UNVERIFIED = "unverified"
    CORROBORATED = "corroborated"
    UNFOUNDED = "unfounded"


class RiskLevel(StrEnum):
    STANDARD = "standard"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        """Higher is more urgent; the queue sorts on it."""
        return {"standard": 0, "medium": 1, "high": 2}[self.value]


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ReportStatus(StrEnum):
    RECEIVED = "received"
    LINKED = "linked"
    CLOSED = "closed"


class DecisionStatus(StrEnum):
    PROPOSED = "proposed"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    IN_EFFECT = "in_effect"
    ENDED = "ended"
    WITHDRAWN = "withdrawn"


class MeasureTier(StrEnum):
    SUPPORTIVE = "supportive"
    PREVENTIVE = "preventive"
    COERCIVE = "coercive"
    NONE = "none"
