"""The controlled vocabularies of the domain (DOMAIN.md): roles, regions, source kinds, states.

Each is a ``StrEnum`` whose value is what the database stores and what code, templates and docs
name. What people read in its place, in their language, is the web layer's
(``triage.web.labels``): the domain keeps codes.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CASEWORKER = "caseworker"
    REVIEWER = "reviewer"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    ADMIN = "admin"


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


class SourceKind(StrEnum):
    DIRECT = "direct"
    MEDIA = "media"
    ONLINE = "online"


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


class ReporterKind(StrEnum):
    """Who made a direct report."""

    VICTIM = "victim"
    RELATIVE = "relative"
    NEIGHBOUR = "neighbour"
    WITNESS = "witness"
    PROFESSIONAL = "professional"
    ANONYMOUS = "anonymous"


class Category(StrEnum):
    """Incident categories (DOMAIN.md)."""

    BATTERY = "battery"
    MINOR_HARM = "minor_harm"
    SERIOUS_HARM = "serious_harm"
    KILLING = "killing"
    THREAT = "threat"
    PERSECUTION = "persecution"
    SEXUAL_HARASSMENT = "sexual_harassment"
    SEXUAL_VIOLENCE = "sexual_violence"
    PSYCHOLOGICAL = "psychological"
    ECONOMIC = "economic"
    CHILDREN = "children"


class Relationship(StrEnum):
    """The alleged aggressor's relationship to the victim (DOMAIN.md)."""

    SPOUSE = "spouse"
    FORMER_SPOUSE = "former_spouse"
    PARTNER = "partner"
    FORMER_PARTNER = "former_partner"
    COMMON_CHILD = "common_child"
    PARENT = "parent"
    ADULT_CHILD = "adult_child"
    SIBLING = "sibling"
    OTHER_RELATIVE = "other_relative"
    IN_LAW = "in_law"
    GUARDIAN = "guardian"
    HOUSEHOLD_MEMBER = "household_member"


class Platform(StrEnum):
    """Online platforms a post may come from."""

    TELEGRAM = "telegram"
    INSTAGRAM = "instagram"
    FACEBOOK = "facebook"
    VK = "vk"
    TIKTOK = "tiktok"
    X = "x"
    WHATSAPP = "whatsapp"
    THREADS = "threads"
    YOUTUBE = "youtube"
    FORUM = "forum"
    OTHER = "other"


class Language(StrEnum):
    RU = "ru"
    KK = "kk"
    EN = "en"
    OTHER = "other"


class ScreeningVerdict(StrEnum):
    """What screening made of a media or online text (``triage.screening.VERDICTS``)."""

    CANDIDATE = "candidate"
    REVIEW = "review"
    NOT_CANDIDATE = "not_candidate"


class ScreenedStatus(StrEnum):
    """Where a screened-out feed item stands: waiting in the reviewers' list, promoted to a
    report, or expired under the retention rules (its data key destroyed)."""

    WAITING = "waiting"
    PROMOTED = "promoted"
    EXPIRED = "expired"
