"""Who may do what: the one table that grants permissions to roles. Pure; no Flask.

Every route declares the single permission it needs (``triage.auth.requires``); a route that
declares none is refused for everyone. A role gets exactly the permissions listed here.
"""

from __future__ import annotations

from enum import StrEnum

from .vocab import Region, Role


class Permission(StrEnum):
    HOME = "home"
    ACCOUNT = "account"
    REPORT_FILE = "report.file"
    REPORT_READ_OWN = "report.read_own"
    #: Download an attachment: one's own report's (caseworker) or a case's in scope (reviewers).
    ATTACHMENT_READ = "attachment.read"
    CASE_READ = "case.read"
    CASE_WORK = "case.work"
    DECISION_PROPOSE = "decision.propose"
    DECISION_APPROVE = "decision.approve"
    CASE_REASSIGN = "case.reassign"
    #: The list of feed items screened out: counts, sampling, reading one, promoting it.
    SCREENED_REVIEW = "screened.review"
    #: Issue the document an approved decision needs, and download issued documents.
    DOCUMENT_ISSUE = "document.issue"
    #: Check whether a file is, byte for byte, a document triage issued.
    DOCUMENT_CHECK = "document.check"
    #: Record the victim's consent to share her data, and hand a case over to a recipient.
    HANDOVER_REQUEST = "handover.request"
    #: Approve a hand-over to police or a court without her consent (four eyes).
    HANDOVER_APPROVE = "handover.approve"
    AUDIT_READ = "audit.read"
    AUDIT_EXPORT = "audit.export"
    #: The auditor's view of a case: its plain facts and its audit events, no person's data.
    AUDIT_CASE_READ = "audit.case_read"
    USER_MANAGE = "user.manage"
    TOKEN_MANAGE = "token.manage"  # noqa: S105 (a permission name, not a secret)
    KEY_MANAGE = "key.manage"
    #: See the alerts' deliveries and the dead-letter list, and put a dead letter back.
    NOTIFY_MANAGE = "notify.manage"
    #: The statistics page and its downloads: suppressed counts, never a person's data.
    STATS_READ = "stats.read"


_EVERYONE = {Permission.HOME, Permission.ACCOUNT}
_REVIEWER = {
    Permission.CASE_READ,
    Permission.CASE_WORK,
    Permission.DECISION_PROPOSE,
    Permission.ATTACHMENT_READ,
    Permission.SCREENED_REVIEW,
    Permission.DOCUMENT_ISSUE,
    Permission.DOCUMENT_CHECK,
    Permission.HANDOVER_REQUEST,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CASEWORKER: frozenset(
        _EVERYONE | {Permission.REPORT_FILE, Permission.REPORT_READ_OWN, Permission.ATTACHMENT_READ}
    ),
    Role.REVIEWER: frozenset(_EVERYONE | _REVIEWER),
    Role.SUPERVISOR: frozenset(
        _EVERYONE
        | _REVIEWER
        | {
            Permission.DECISION_APPROVE,
            Permission.CASE_REASSIGN,
            Permission.HANDOVER_APPROVE,
            Permission.STATS_READ,
        }
    ),
    Role.AUDITOR: frozenset(
        _EVERYONE
        | {
            Permission.AUDIT_READ,
            Permission.AUDIT_EXPORT,
            Permission.AUDIT_CASE_READ,
            Permission.DOCUMENT_CHECK,
            Permission.STATS_READ,
        }
    ),
    Role.ADMIN: frozenset(
        _EVERYONE
        | {
            Permission.USER_MANAGE,
            Permission.TOKEN_MANAGE,
            Permission.KEY_MANAGE,
            Permission.NOTIFY_MANAGE,
            Permission.STATS_READ,
        }
    ),
}

#: Permissions that let a user see a person's data, so they are limited by region scope.
PERSONAL_DATA = frozenset(
    {
        Permission.REPORT_READ_OWN,
        Permission.CASE_READ,
        Permission.CASE_WORK,
        Permission.SCREENED_REVIEW,
        Permission.DOCUMENT_ISSUE,
        Permission.HANDOVER_REQUEST,
        Permission.HANDOVER_APPROVE,
    }
)


def allows(role: Role | str, permission: Permission) -> bool:
    try:
        return permission in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False


def in_scope(user_region: str | None, record_region: str | None) -> bool:
    """A user scoped to a region sees records of that region only; an unscoped user sees all.

    A record with no region yet is visible only to unscoped users, so that nothing leaks across
    regions before a caseworker sets it.
    """
    if user_region is None:
        return True
    return record_region is not None and Region(record_region) == Region(user_region)
