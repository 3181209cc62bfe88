"""The auditor's view of a case: look one up by its code, and read its plain facts and the
audit events about it (``triage.oversight``). Nothing sealed is opened: the page is built in a
read-only block, and each view is then recorded (``audit.case_viewed``) in a block of its own
before the page is sent."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from werkzeug.wrappers import Response

from ... import oversight
from ...errors import DomainError
from ...permissions import Permission
from ..converters import int_arg
from ..deps import unit_of_work
from ..errors import message_of
from ..forms.oversight import CaseLookupForm
from ..gate import actor_id, me, requires

bp = Blueprint("oversight", __name__, url_prefix="/audit/cases")


@bp.route("/", methods=["GET", "POST"])
@requires(Permission.AUDIT_CASE_READ)
def find() -> Response | tuple[str, int]:
    """The lookup form; a case found opens its view. Looking a case up stores nothing (the
    view it opens is what is audited), and a refusal does not repeat what was typed: it may be
    anything, a name included."""
    form = CaseLookupForm()
    status = 200
    if form.validate_on_submit():
        try:
            with unit_of_work().read() as db:
                code = oversight.find(db, me(), form.ref.data)
        except DomainError as exc:
            form.ref.errors.append(message_of(exc))
            form.ref.raw_data, form.ref.data = [], ""  # what was typed is not shown back
            status = int(exc.status)
        else:
            return redirect(url_for("oversight.case", ref=code))
    elif form.errors:
        status = 400
    return render_template("audit/case_find.html", form=form), status


@bp.route("/<ref>")
@requires(Permission.AUDIT_CASE_READ)
def case(ref: str) -> str:
    uow = unit_of_work()
    with uow.read() as db:
        view = oversight.case_audit(db, me(), ref, page=int_arg("page", 1))
    with uow.begin() as db:
        oversight.record_view(db, view.case.id, actor=actor_id(), page=view.timeline.page)
    return render_template("audit/case.html", view=view, case=view.case)
