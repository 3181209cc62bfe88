"""The tables, one module per area. Plain columns hold only what sorting, counting and routing
need; whatever identifies or describes a person lives in a sealed ``payload`` (``triage.sealed``).

Table names avoid SQL keywords (``case``, ``user``), so raw SQL in migrations and dumps reads
plainly. Importing this package registers every table on ``Base.metadata``.
"""

from . import intake  # noqa: F401  (registers its tables on Base.metadata)
from .base import SealedMixin, UTCDateTime, enum_check, new_id, utcnow
from .core import AuditEvent, Case, DataKey, InstanceMeta, Report, ReportIndex, User
from .review import Assessment, Decision

__all__ = [
    "Assessment",
    "AuditEvent",
    "Case",
    "DataKey",
    "Decision",
    "InstanceMeta",
    "Report",
    "ReportIndex",
    "SealedMixin",
    "UTCDateTime",
    "User",
    "enum_check",
    "new_id",
    "utcnow",
]
