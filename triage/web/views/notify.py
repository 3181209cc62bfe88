"""The admins' view of alerts: the dead-letter list (deliveries that failed their last allowed
attempt) with a button to put one back, and the latest deliveries of every status. Rows show a
case code, a channel, a staff username and an error code — never an address."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from ...errors import DomainError
from ...models import utcnow
from ...notify import deliveries
from ...permissions import Permission
from ..deps import unit_of_work
from ..errors import message_of
from ..forms.notify import RetryForm
from ..gate import actor_id, requires

bp = Blueprint("notify", __name__, url_prefix="/admin/deliveries")


def _page(form: RetryForm | None = None, status: int = 200) -> tuple[str, int]:
    with unit_of_work().read() as db:
        dead = deliveries.dead_letters(db)
        recent = deliveries.recent(db)
        counts = deliveries.counts(db)
    return render_template(
        "admin/deliveries.html",
        dead=dead,
        recent=recent,
        counts=counts,
        form=form or RetryForm(),
    ), status


@bp.route("/")
@requires(Permission.NOTIFY_MANAGE)
def delivery_list() -> tuple[str, int]:
    return _page()


@bp.route("/<delivery_id>/retry", methods=["POST"])
@requires(Permission.NOTIFY_MANAGE)
def retry(delivery_id: str) -> Response | tuple[str, int]:
    form = RetryForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    try:
        with unit_of_work().begin() as db:
            deliveries.retry(db, delivery_id, actor=actor_id(), now=utcnow())
    except DomainError as exc:
        form.form_errors.append(message_of(exc))
        return _page(form, int(exc.status))
    flash(_("The delivery will be sent again at the next run of triage notify."), "info")
    return redirect(url_for("notify.delivery_list"))
