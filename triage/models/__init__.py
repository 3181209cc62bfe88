"""The tables, one module per area. Plain columns hold only what sorting, counting and routing
need; whatever identifies or describes a person lives in a sealed ``payload`` (``triage.sealed``).

Table names avoid SQL keywords (``case``, ``user``), so raw SQL in migrations and dumps reads
plainly. Importing this package registers every table on ``Base.metadata``.
"""

from .base import SealedMixin, UTCDateTime, enum_check, new_id, utcnow
from .core import AuditEvent, Case, DataKey, InstanceMeta, Report, ReportIndex, User
from .intake import ApiClient, Attachment, IdempotencyKey
from .review import (
    Assessment,
    CaseNote,
    CorroborationMethod,
    Decision,
    NoteKind,
    OverrideStatus,
    VerificationOutcome,
    VerificationStep,
)
from .screened import ScreenedItem

__all__ = [
    "ApiClient",
    "Assessment",
    "Attachment",
    "AuditEvent",
    "Case",
    "CaseNote",
    "CorroborationMethod",
    "DataKey",
    "Decision",
    "IdempotencyKey",
    "InstanceMeta",
    "NoteKind",
    "OverrideStatus",
    "Report",
    "ReportIndex",
    "ScreenedItem",
    "SealedMixin",
    "UTCDateTime",
    "User",
    "VerificationOutcome",
    "VerificationStep",
    "enum_check",
    "new_id",
    "utcnow",
]
