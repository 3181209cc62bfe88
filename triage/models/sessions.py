"""What the web layer keeps between requests in the shared database: server-side sessions
(``triage.web.sessions``) and rate-limit counters (``triage.web.limit_storage``).

Neither holds anything about a person. A session row is keyed by the SHA-256 of the cookie's
session id, so a copy of the database cannot be replayed as a cookie; its client column is a
coarse browser and system name, never an address. A counter row is keyed by the SHA-256 of the
limit's key, so a username (or a password typed into the username field) never lands here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base
from .base import UTCDateTime


class WebSession(Base):
    """One signed-in (or anonymous, holding a CSRF token) browser session."""

    __tablename__ = "sessions"

    #: Hex SHA-256 of the session id the cookie carries.
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: The account signed in with it; ``None`` before sign-in.
    user_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    #: Flask-Session's serialised session (msgpack): ids, flags and the CSRF token.
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The earlier of the idle limit and the absolute limit; past it the row is dead.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: "Firefox on Windows": enough for a user to tell her sessions apart, nothing more.
    client: Mapped[str | None] = mapped_column(String(64))


class RateLimitCounter(Base):
    """A fixed-window counter of Flask-Limiter, shared by every worker on the database."""

    __tablename__ = "rate_limit"

    #: Hex SHA-256 of the limit's key.
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    #: When the window ends, in seconds since the epoch (as the ``limits`` library counts).
    expires_at: Mapped[float] = mapped_column(Float, index=True)
