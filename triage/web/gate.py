"""The gate every request passes, and who the request acts for.

The gate denies by default: a route is reachable only if it was declared ``@public`` or
``@requires(permission)``, and the signed-in user's role grants that permission
(``triage.permissions``). A refusal of a signed-in user is audited.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, current_user
from werkzeug.wrappers import Response as WerkzeugResponse

from .. import audit
from ..models import User
from ..permissions import Permission, allows
from .deps import settings, unit_of_work

log = logging.getLogger("triage")
login_manager = LoginManager()

F = TypeVar("F", bound=Callable[..., Any])
_PERMISSION_ATTR = "_triage_permission"
_PUBLIC = "public"


def requires(permission: Permission) -> Callable[[F], F]:
    """Declare the one permission a route needs; the gate enforces it before the view runs."""

    def mark(view: F) -> F:
        setattr(view, _PERMISSION_ATTR, permission)
        return view

    return mark


def public(view: F) -> F:
    """Declare a route open to everyone, signed in or not."""
    setattr(view, _PERMISSION_ATTR, _PUBLIC)
    return view


def declared_permission(view: Callable[..., Any]) -> Permission | str | None:
    return getattr(view, _PERMISSION_ATTR, None)


def actor_id() -> str:
    """The audit ``actor`` for the current request."""
    if current_user.is_authenticated:
        return str(current_user.id)
    return audit.SYSTEM_ACTOR


def me() -> User:
    """The signed-in user, as loaded at the start of the request (detached: read its fields;
    services that change the account load it again in their own session)."""
    user: User = current_user._get_current_object()
    return user


@login_manager.user_loader  # type: ignore[untyped-decorator]
def _load_user(user_key: str) -> User | None:
    try:
        user_id, epoch = (int(part) for part in user_key.split(":"))
    except ValueError:
        return None
    with unit_of_work().read() as session:
        user = session.get(User, user_id)
    if user is None or not user.active or user.session_epoch != epoch:
        return None
    return user


@login_manager.unauthorized_handler  # type: ignore[untyped-decorator]
def _unauthorized() -> WerkzeugResponse:
    if request.path.startswith("/api/"):
        abort(401)
    return redirect(url_for("auth.login", next=request.full_path if request.args else request.path))


#: What a signed-in user without two-step sign-in may still reach when it is required.
_ENROLMENT_ENDPOINTS = frozenset(
    {"account.two_step", "account.two_step_start", "account.two_step_confirm", "auth.logout"}
)


def gate() -> WerkzeugResponse | None:
    """``before_request``: refuse unless the route's declared permission is granted."""
    if request.endpoint is None:
        return None  # no route matched: Flask answers 404
    view = current_app.view_functions.get(request.endpoint)
    permission = declared_permission(view) if view else None
    if permission == _PUBLIC:
        return None
    if permission is None:
        log.error("route %s declares no permission; refused", request.endpoint)
        abort(403)
    if not current_user.is_authenticated:
        return login_manager.unauthorized()  # type: ignore[no-any-return]
    if (
        settings().require_two_step
        and not current_user.totp_enabled
        and request.endpoint not in _ENROLMENT_ENDPOINTS
    ):
        flash(_("Set up two-step sign-in before you go on."), "info")
        return redirect(url_for("account.two_step"))
    assert isinstance(permission, Permission)
    if not allows(current_user.role, permission):
        with unit_of_work().begin() as session:
            audit.append(
                session,
                actor=actor_id(),
                action="access.denied",
                object_type="route",
                object_id=request.endpoint,
                details={"permission": permission.value, "method": request.method},
            )
        abort(403)
    return None


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    app.before_request(gate)
