"""What every table module shares: id and time helpers, the UTC datetime type, enum checks,
and the columns of a sealed record."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, declared_attr, mapped_column


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on both engines (SQLite drops the zone; we put it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_check(column: str, values: type[Any]) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_valid")


class SealedMixin:
    """Columns of a record that carries a sealed payload."""

    if TYPE_CHECKING:  # every sealed table defines these itself
        id: str
        __tablename__: str

    #: Which payload schema the sealed JSON follows; part of the associated data.
    payload_version: Mapped[int] = mapped_column(Integer, default=1)
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)

    @declared_attr
    def data_key_id(cls) -> Mapped[str | None]:
        return mapped_column(String(36), ForeignKey("data_key.id", ondelete="SET NULL"), index=True)
