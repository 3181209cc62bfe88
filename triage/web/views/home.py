"""The home page: what the signed-in role can do, and the work waiting for it; and the choice of
interface language."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from ...permissions import Permission
from ..gate import public, requires
from ..i18n import LOCALES
from .login import safe_next

bp = Blueprint("home", __name__)


@bp.route("/")
@requires(Permission.HOME)
def index() -> str:
    return render_template("home.html", role=current_user.role_enum)


@bp.route("/language", methods=["POST"])
@public
def language() -> Response:
    """Keep the chosen interface language in the session (signed in or not); nothing is stored."""
    chosen = request.form.get("locale", "")
    if chosen not in LOCALES:
        abort(400)
    session["locale"] = chosen
    return redirect(safe_next(request.form.get("next")) or url_for("home.index"))
