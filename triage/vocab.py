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

    @property
    def label(self) -> str:
        labels = {
            "unverified": _l("Unverified"),
            "corroborated": _l("Corroborated"),
            "unfounded": _l("Unfounded"),
        }
        return str(labels[self.value])


class RiskLevel(StrEnum):
    STANDARD = "standard"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def label(self) -> str:
        return str(
            {"standard": _l("Standard"), "medium": _l("Medium"), "high": _l("High")}[self.value]
        )

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

    @property
    def label(self) -> str:
        labels = {
            "received": _l("Received"),
            "linked": _l("Linked to a case"),
            "closed": _l("Closed"),
        }
        return str(labels[self.value])


#: What a probable match was found on (blind-index kinds), as people read it.
MATCH_KIND_LABELS = {
    "victim": _l("the victim's name and birth date"),
    "aggressor": _l("the alleged aggressor's name and birth date"),
    "iin": _l("an IIN"),
    "phone": _l("a phone number"),
}


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

    @property
    def label(self) -> str:
        return str(_REPORTER_LABELS[self])


_REPORTER_LABELS = {
    ReporterKind.VICTIM: _l("The victim herself or himself"),
    ReporterKind.RELATIVE: _l("A relative"),
    ReporterKind.NEIGHBOUR: _l("A neighbour"),
    ReporterKind.WITNESS: _l("A witness"),
    ReporterKind.PROFESSIONAL: _l("A professional (doctor, teacher, social worker, hotline)"),
    ReporterKind.ANONYMOUS: _l("Anonymous"),
}


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

    @property
    def label(self) -> str:
        return str(_CATEGORY_LABELS[self])


_CATEGORY_LABELS = {
    Category.BATTERY: _l("Battery (beatings)"),
    Category.MINOR_HARM: _l("Minor harm to health"),
    Category.SERIOUS_HARM: _l("Moderate or serious harm"),
    Category.KILLING: _l("Attempted or completed killing"),
    Category.THREAT: _l("Threat (to kill, to harm, with a weapon)"),
    Category.PERSECUTION: _l("Persecution (stalking, following, monitoring, unwanted contact)"),
    Category.SEXUAL_HARASSMENT: _l("Sexual harassment"),
    Category.SEXUAL_VIOLENCE: _l("Sexual violence"),
    Category.PSYCHOLOGICAL: _l("Psychological violence (humiliation, intimidation, control)"),
    Category.ECONOMIC: _l("Economic violence (taking money or documents, denying means)"),
    Category.CHILDREN: _l("Violence witnessed by or directed at children"),
}


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

    @property
    def label(self) -> str:
        return str(_RELATIONSHIP_LABELS[self])


_RELATIONSHIP_LABELS = {
    Relationship.SPOUSE: _l("Spouse"),
    Relationship.FORMER_SPOUSE: _l("Former spouse"),
    Relationship.PARTNER: _l("Partner living together"),
    Relationship.FORMER_PARTNER: _l("Former partner"),
    Relationship.COMMON_CHILD: _l("Person with a common child"),
    Relationship.PARENT: _l("Parent"),
    Relationship.ADULT_CHILD: _l("Child (adult)"),
    Relationship.SIBLING: _l("Sibling"),
    Relationship.OTHER_RELATIVE: _l("Other relative"),
    Relationship.IN_LAW: _l("In-law"),
    Relationship.GUARDIAN: _l("Guardian or carer"),
    Relationship.HOUSEHOLD_MEMBER: _l("Other household member"),
}


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

    @property
    def label(self) -> str:
        names = {
            "vk": "VK",
            "x": "X",
            "tiktok": "TikTok",
            "youtube": "YouTube",
            "whatsapp": "WhatsApp",
        }
        return names.get(self.value, self.value.capitalize())


class Language(StrEnum):
    RU = "ru"
    KK = "kk"
    EN = "en"
    OTHER = "other"

    @property
    def label(self) -> str:
        return str(
            {"ru": _l("Russian"), "kk": _l("Kazakh"), "en": _l("English"), "other": _l("Other")}[
                self.value
            ]
        )
