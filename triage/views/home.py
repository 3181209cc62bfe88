"""The home page: what the signed-in role can do, and the work waiting for it."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from ..auth import requires
from ..permissions import Permission

bp = Blueprint("home", __name__)


@bp.route("/")
@requires(Permission.HOME)
def index() -> str:
    return render_template("home.html", role=current_user.role_enum)
