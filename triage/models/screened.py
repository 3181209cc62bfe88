"""Feed items that screening read as not a candidate: kept, sealed, for a reviewer to sample and
promote, until they expire under the retention rules."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base
from ..vocab import ScreenedStatus, ScreeningVerdict
from .base import SealedMixin, UTCDateTime, enum_check, new_id, utcnow

__all__ = ["ScreenedItem"]


class ScreenedItem(SealedMixin, Base):
    """One screened-out feed item. Its title, link, publication date, language and text are
    sealed under a data key of its own (``payload``); the plain columns say only which feed it
    came from, what screening made of it, and where it stands. ``url_token`` is the blind index of
    its link (``keyring.blind_index("url", normalise.url(link))``), so a feed imported again does
    not keep it twice."""

    __tablename__ = "screened_item"
    __table_args__ = (
        enum_check("verdict", ScreeningVerdict),
        enum_check("status", ScreenedStatus),
        Index("ix_screened_item_list", "status", "screened_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    #: The feed's (the outlet's) own title: a publisher's name, not a person's.
    feed: Mapped[str] = mapped_column(String(200), index=True)
    url_token: Mapped[str] = mapped_column(String(32), unique=True)
    verdict: Mapped[str] = mapped_column(String(16))
    probability: Mapped[float | None] = mapped_column(Float)
    screened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When `triage purge` destroys its data key, if nobody promoted it before.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(16), default=ScreenedStatus.WAITING.value)
    #: The report it was promoted to, by whom and when.
    report_id: Mapped[str | None] = mapped_column(ForeignKey("report.id"), index=True)
    promoted_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When its data key was destroyed (on promotion or expiry).
    shredded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
