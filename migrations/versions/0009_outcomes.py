"""What leaves triage: structured legal grounds on decisions, the victim's consent to share her
data, hand-overs to named recipients, and issued documents (their bytes sealed).

``decision.grounds`` is added empty (NULL) on existing decisions: a migration holds no keys, so
it cannot read their typed (sealed) legal basis. `triage init`, which has the keyring, reads it
right after migrating (``review.decisions.migrate_grounds``): every article it finds that the
grounds list has for the decision's measure becomes a ground, the typed text stays as the
addition, and each change is an audit event. The downgrade deletes the data keys of consents,
hand-overs and documents before it drops their tables, so their content is shredded rather than
left under orphaned keys.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = "('support_service', 'police', 'court')"


def _sealed() -> list[sa.Column[object]]:
    return [
        sa.Column("payload_version", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("data_key_id", sa.String(length=36), nullable=True),
    ]


def _key_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["data_key_id"],
        ["data_key.id"],
        name=op.f(f"fk_{table}_data_key_id_data_key"),
        ondelete="SET NULL",
    )


def _user_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["user_account.id"], name=op.f(f"fk_{table}_{column}_user_account")
    )


def _case_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["case_id"], ["case_file.id"], name=op.f(f"fk_{table}_case_id_case_file")
    )


def upgrade() -> None:
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.add_column(sa.Column("grounds", sa.JSON(), nullable=True))

    op.create_table(
        "victim_consent",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("recipient_kind", sa.String(length=24), nullable=False),
        sa.Column("answer", sa.String(length=8), nullable=False),
        sa.Column("method", sa.String(length=24), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        *_sealed(),
        sa.CheckConstraint(
            f"recipient_kind IN {_KINDS}", name=op.f("ck_victim_consent_recipient_kind_valid")
        ),
        sa.CheckConstraint("answer IN ('yes', 'no')", name=op.f("ck_victim_consent_answer_valid")),
        sa.CheckConstraint(
            "method IN ('her_own_report', 'in_person', 'phone', 'written')",
            name=op.f("ck_victim_consent_method_valid"),
        ),
        _case_fk("victim_consent"),
        _user_fk("victim_consent", "recorded_by"),
        _key_fk("victim_consent"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_victim_consent")),
    )
    with op.batch_alter_table("victim_consent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_victim_consent_case_id"), ["case_id"])
        batch_op.create_index(batch_op.f("ix_victim_consent_data_key_id"), ["data_key_id"])

    op.create_table(
        "handover",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("recipient_kind", sa.String(length=24), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("with_consent", sa.Boolean(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        *_sealed(),
        sa.CheckConstraint(
            f"recipient_kind IN {_KINDS}", name=op.f("ck_handover_recipient_kind_valid")
        ),
        sa.CheckConstraint(
            "status IN ('awaiting_approval', 'issued', 'rejected', 'withdrawn')",
            name=op.f("ck_handover_status_valid"),
        ),
        _case_fk("handover"),
        _user_fk("handover", "requested_by"),
        _user_fk("handover", "decided_by"),
        _key_fk("handover"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handover")),
    )
    with op.batch_alter_table("handover", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handover_case_id"), ["case_id"])
        batch_op.create_index(batch_op.f("ix_handover_data_key_id"), ["data_key_id"])
        batch_op.create_index("ix_handover_waiting", ["status", "requested_at"])

    op.create_table(
        "issued_document",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("decision_id", sa.String(length=36), nullable=True),
        sa.Column("handover_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("issued_by", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        *_sealed(),
        sa.CheckConstraint(
            "format IN ('pdf', 'json')", name=op.f("ck_issued_document_format_valid")
        ),
        _case_fk("issued_document"),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decision.id"], name=op.f("fk_issued_document_decision_id_decision")
        ),
        sa.ForeignKeyConstraint(
            ["handover_id"], ["handover.id"], name=op.f("fk_issued_document_handover_id_handover")
        ),
        _user_fk("issued_document", "issued_by"),
        _key_fk("issued_document"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issued_document")),
    )
    with op.batch_alter_table("issued_document", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_issued_document_case_id"), ["case_id"])
        batch_op.create_index(batch_op.f("ix_issued_document_decision_id"), ["decision_id"])
        batch_op.create_index(batch_op.f("ix_issued_document_handover_id"), ["handover_id"])
        batch_op.create_index(batch_op.f("ix_issued_document_sha256"), ["sha256"])
        batch_op.create_index(batch_op.f("ix_issued_document_data_key_id"), ["data_key_id"])


def downgrade() -> None:
    for table in ("issued_document", "handover", "victim_consent"):
        op.execute(
            f"DELETE FROM data_key WHERE id IN "  # noqa: S608 (table names from this file)
            f"(SELECT data_key_id FROM {table} WHERE data_key_id IS NOT NULL)"
        )
    op.drop_table("issued_document")
    op.drop_table("handover")
    op.drop_table("victim_consent")
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_column("grounds")
