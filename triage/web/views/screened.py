"""The reviewers' list of feed items screened out: the counts per feed and the waiting items
(plain columns, nothing decrypted), a random sample to read, one item's page, and the button that
promotes an item to a report.

``triage.intake.screened`` holds the rules (who may open an item, what promoting files and
records); every opening there is an audited decryption, so the sample and item pages run in
``unit_of_work().begin()`` and render after their block has committed. A refused promotion — a
second one (409), an expired item (410) — reaches ``web/errors`` as the domain error it is.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from ...intake import screened
from ...permissions import Permission
from ..converters import int_arg
from ..deps import rules, unit_of_work
from ..forms.review import ActionForm
from ..gate import me, requires

bp = Blueprint("screened", __name__, url_prefix="/screened")


def _page() -> int:
    return int_arg("page", 1)


@bp.route("/")
@requires(Permission.SCREENED_REVIEW)
def index() -> str:
    """Counts per feed and the waiting items, newest first; nothing is decrypted here."""
    feed = request.args.get("feed") or None
    with unit_of_work().read() as db:
        counts = screened.counts(db)
        listing = screened.waiting(db, feed=feed, page=_page())
    return render_template(
        "screened/index.html",
        counts=counts,
        listing=listing,
        may_open=screened.may_open(me()),
        sample_size=screened.SAMPLE_SIZE,
    )


@bp.route("/sample")
@requires(Permission.SCREENED_REVIEW)
def sample() -> str:
    """A few waiting items picked at random, opened: each opening is an audit event."""
    feed = request.args.get("feed") or None
    with unit_of_work().begin() as db:
        opened = screened.sample(db, me(), feed=feed)
    return render_template("screened/sample.html", opened=opened, feed=feed)


@bp.route("/<item_id>")
@requires(Permission.SCREENED_REVIEW)
def item(item_id: str) -> str:
    with unit_of_work().begin() as db:
        opened = screened.open_item(db, me(), item_id)
    return render_template("screened/item.html", opened=opened, button=ActionForm())


@bp.route("/<item_id>/promote", methods=["POST"])
@requires(Permission.SCREENED_REVIEW)
def promote(item_id: str) -> Response:
    """File the item as a report (the normal intake path) and go to its case."""
    if not ActionForm().validate_on_submit():
        return redirect(url_for("screened.item", item_id=item_id))
    with unit_of_work().begin() as db:
        filed = screened.promote(db, me(), item_id, rules=rules())
        code = filed.case.code
    flash(_("Promoted: the item is now a report in case %(code)s.", code=code), "info")
    return redirect(url_for("review.case_page", ref=code))
