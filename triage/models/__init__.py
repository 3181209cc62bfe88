"""The tables, one module per area. Plain columns hold only what sorting, counting and routing
need; whatever identifies or describes a person lives in a sealed ``payload`` (``triage.sealed``).

Table names avoid SQL keywords (``case``, ``user``), so raw SQL in migrations and dumps reads
plainly. Importing this package registers every table on ``Base.metadata``.
"""

from .base import SealedMixin, UTCDateTime, enum_check, new_id, utcnow
from .core import AuditEvent, Case, DataKey, InstanceMeta, Report, ReportIndex, User
from .intake import ApiClient, Attachment, IdempotencyKey
from .notify import Alert, AlertKind, Delivery, DeliveryChannel, DeliveryStatus
from .outcomes import (
    ConsentAnswer,
    ConsentMethod,
    DocumentFormat,
    Handover,
    HandoverStatus,
    IssuedDocument,
    RecipientKind,
    VictimConsent,
)
from .public import MessageDirection, PublicFormToken, PublicMessage, PublicReceipt
from .queue_count import QueueCount
from .review import (
    Assessment,
    AssessmentRescore,
    CaseNote,
    CorroborationMethod,
    Decision,
    NoteKind,
    OverrideStatus,
    VerificationOutcome,
    VerificationStep,
)
from .screened import ScreenedItem
from .sessions import RateLimitCounter, WebSession

__all__ = [
    "Alert",
    "AlertKind",
    "ApiClient",
    "Assessment",
    "AssessmentRescore",
    "Attachment",
    "AuditEvent",
    "Case",
    "CaseNote",
    "ConsentAnswer",
    "ConsentMethod",
    "CorroborationMethod",
    "DataKey",
    "Decision",
    "Delivery",
    "DeliveryChannel",
    "DeliveryStatus",
    "DocumentFormat",
    "Handover",
    "HandoverStatus",
    "IdempotencyKey",
    "InstanceMeta",
    "IssuedDocument",
    "MessageDirection",
    "NoteKind",
    "OverrideStatus",
    "PublicFormToken",
    "PublicMessage",
    "PublicReceipt",
    "QueueCount",
    "RateLimitCounter",
    "RecipientKind",
    "Report",
    "ReportIndex",
    "ScreenedItem",
    "SealedMixin",
    "UTCDateTime",
    "User",
    "VerificationOutcome",
    "VerificationStep",
    "VictimConsent",
    "WebSession",
    "enum_check",
    "new_id",
    "utcnow",
]
