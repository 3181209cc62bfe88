"""The public pages: the report form at ``/report`` and the follow-up with a receipt, open to
anyone without an account; and the reviewer's reply to a public report's reporter.

The public pages keep nothing in a cookie (there is no session until, and none after, a form is
sent): the language is in the address (``?lang=ru``) or the form, the CSRF guard is the form's
own signed token (``triage.public.form_tokens``), and the receipt travels only in a form's body,
never in a URL. Every answer is ``Cache-Control: no-store``, the title is neutral, and every page
has the quick exit (``static/public.js``). Errors here are shown on the public pages' own
template, in the reporter's language, never with the staff pages' header or a cookie.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import refresh
from flask_limiter.util import get_remote_address
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as WerkzeugResponse

from ...errors import N_, DomainError, InvalidInput
from ...intake import attachments, schema
from ...models import utcnow
from ...permissions import Permission
from ...public import form_tokens, images, receipts
from ...public import service as public
from ..deps import rules, settings, unit_of_work
from ..errors import flash_refusal, message_of, not_found_page
from ..extensions import limiter
from ..forms.public import AddForm, PublicReportForm, ReceiptForm, ReplyForm
from ..gate import me, requires
from ..gate import public as open_to_all
from ..i18n import LOCALES, current_language

bp = Blueprint("public", __name__, url_prefix="/report")
#: The staff side: a reviewer's reply from the case page (signed in, with the usual CSRF token).
replies = Blueprint("public_replies", __name__, url_prefix="/cases")

Page = WerkzeugResponse | tuple[str, int] | str

#: Flask-Limiter scopes of the public limits (their counters' names).
GLOBAL_SCOPE = "public.all"


def _address_rate() -> str:
    return settings().public_rate_limit


def _global_rate() -> str:
    return settings().public_global_rate_limit


def _everyone() -> str:
    return "public"


def _counts(response: Response) -> bool:
    """A form sent back to be corrected (422) costs the reporter nothing: she may fix her
    mistakes; every other answer, a filing or a refusal, counts against the limits."""
    return response.status_code != 422


def _limits() -> public.Limits:
    s = settings()
    return public.Limits(
        min_age=timedelta(seconds=s.public_min_seconds),
        max_age=timedelta(minutes=s.public_form_minutes),
    )


def _secret() -> bytes:
    return unit_of_work().keyring.current.session_secret


def _new_token() -> str:
    return form_tokens.issue(_secret(), now=utcnow())


def _checked(token: str | None, *, timed: bool) -> form_tokens.Checked:
    limits = _limits()
    return form_tokens.check(
        _secret(),
        token,
        now=utcnow(),
        min_age=limits.min_age if timed else timedelta(0),
        max_age=limits.max_age,
    )


def _address_language() -> None:
    """The language named in the address, if any: read before the body, which may be too large
    to parse (the 413 page is then in her language too)."""
    lang = request.args.get("lang")
    if lang in LOCALES and g.get("page_locale") != lang:
        g.page_locale = lang
        refresh()


@bp.before_request
def _open_and_language() -> None:
    _address_language()
    if not settings().public_reporting:
        abort(404)
    lang = request.args.get("lang") or request.form.get("lang")
    if lang in LOCALES:
        g.page_locale = lang


@bp.after_request
def _private(response: Response) -> Response:
    """Nothing of these pages is kept by the browser or sent on; no cookie is ever set."""
    response.headers["Cache-Control"] = "no-store, max-age=0"
    response.headers["Pragma"] = "no-cache"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.remove("Set-Cookie")
    response.vary.add("Accept-Language")
    return response


@bp.context_processor
def _page() -> dict[str, object]:
    return {"exit_url": settings().public_exit_url, "lang": current_language()}


def _error_page(status: int, title: str, message: str) -> tuple[str, int]:
    return render_template("public/error.html", title=title, message=message), status


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[str, int]:
    _address_language()
    status = exc.code or 500
    if status == 429:
        return _error_page(
            429,
            _("Too many reports"),
            _(
                "Too many reports were sent from this connection or from everyone at once. Wait "
                "a few minutes and send it again. If someone is in danger now, call 102 or 112."
            ),
        )
    if status == 413:
        return _error_page(
            413,
            _("Too large"),
            _("What you sent is too large. Send fewer or smaller photos."),
        )
    if status == 404:
        return _error_page(404, _("Page not found"), _("There is no such page."))
    return _error_page(
        status,
        _("The request could not be understood"),
        _("The request could not be understood. Reload the page and try again."),
    )


def unknown_page() -> Response:
    """The public 404 for an address under ``/report`` that no route matches: no route means no
    blueprint, so the app's error handler calls this for the public pages' look and privacy."""
    _address_language()
    body = render_template(
        "public/error.html",
        title=_("Page not found"),
        message=_("There is no such page."),
        exit_url=settings().public_exit_url,
        lang=current_language(),
    )
    return _private(Response(body, status=404, mimetype="text/html"))


not_found_page("/report", unknown_page)


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError) -> tuple[str, int]:
    _address_language()
    return _error_page(int(exc.status), _("Not sent"), message_of(exc))


def _expired() -> tuple[str, int]:
    """A form this server did not give (no token, a forged one): nothing was saved."""
    return _error_page(
        400,
        _("Form expired"),
        _(
            "The form was out of date or sent from somewhere else, so nothing was saved. "
            "Open the form again and send it."
        ),
    )


def _photos(
    files: list[FileStorage] | None, *, field: str, limit: int, count: int
) -> list[attachments.Upload]:
    """The photos, each checked (its type by content, its size) and stripped of metadata
    before anything is stored."""
    given = [f for f in files or [] if isinstance(f, FileStorage) and f.filename]
    if len(given) > count:
        raise InvalidInput(N_PHOTOS, field=field, n=count)
    cleaned = []
    for item in given:
        upload = attachments.Upload("photo", item.read(limit + 1))
        attachments.check(upload, field=field, limit=limit)
        cleaned.append(images.clean(upload, field=field))
    return cleaned


N_PHOTOS = N_("at most %(n)d photos can be sent at once")


def _form_page(form: PublicReportForm, status: int = 200) -> tuple[str, int]:
    form.token.data = _new_token()
    form.lang.data = current_language()
    form.website.data = ""
    return render_template(
        "public/report.html", form=form, max_files=settings().public_max_files
    ), status


def _problem(exc: InvalidInput) -> str:
    """A refusal's message as shown beside its field (without the field's name in front)."""
    return message_of(exc).split(": ", 1)[-1]


# -- the report form ---------------------------------------------------------------------------


@bp.route("", methods=["GET"])
@open_to_all
def form() -> tuple[str, int]:
    return _form_page(PublicReportForm(formdata=None))


@bp.route("", methods=["POST"])
@open_to_all
@limiter.limit(_address_rate, key_func=get_remote_address, deduct_when=_counts)
@limiter.shared_limit(_global_rate, scope=GLOBAL_SCOPE, key_func=_everyone, deduct_when=_counts)
def submit() -> Page:
    form = PublicReportForm()
    try:
        checked = _checked(form.token.data, timed=True)
    except form_tokens.BadToken:
        return _expired()
    except (form_tokens.TooFast, form_tokens.Expired) as exc:
        if form.website.data:
            return _quiet_refusal()
        form.form_errors.append(message_of(exc))
        return _form_page(form, 422)
    if form.website.data:  # a bot filled the honeypot: it is told nothing, and nothing is kept
        return _quiet_refusal()
    form_ok = form.validate()
    form_ok = form.check_contact() and form_ok
    try:
        incoming = schema.parse(form.to_data())
    except schema.InvalidReport as exc:
        form.show_errors(exc.problems)
        form_ok = False
    s = settings()
    try:
        uploads = _photos(
            form.photos.data, field="photos", limit=s.attachment_max_bytes, count=s.public_max_files
        )
    except InvalidInput as exc:
        form.photos.errors = [*form.photos.errors, _problem(exc)]
        form_ok = False
    if not form_ok:
        return _form_page(form, 422)
    assert isinstance(incoming, schema.DirectReport)
    try:
        filed = public.submit(
            unit_of_work(),
            incoming,
            danger_now=form.danger,
            uploads=uploads,
            checked=checked,
            limits=_limits(),
            rules=rules(),
        )
    except form_tokens.Replayed as exc:
        return _error_page(409, _("Already sent"), message_of(exc))
    return render_template(
        "public/receipt.html", receipt=filed.receipt.text, danger_now=filed.danger_now
    ), 200


def _quiet_refusal() -> tuple[str, int]:
    """What a bot that filled the honeypot sees: the receipt page, with a receipt that opens
    nothing. Nothing was stored or logged."""
    return render_template(
        "public/receipt.html", receipt=receipts.new_receipt().text, danger_now=False
    ), 200


# -- the follow-up -----------------------------------------------------------------------------


def _receipt_page(form: ReceiptForm, status: int = 200) -> tuple[str, int]:
    form.token.data = _new_token()
    form.lang.data = current_language()
    form.receipt.data = ""
    return render_template("public/follow_up.html", form=form), status


def _thread_page(
    thread: public.Thread,
    typed: str,
    form: AddForm | None = None,
    status: int = 200,
    *,
    added: bool = False,
) -> tuple[str, int]:
    form = form or AddForm(formdata=None)
    form.token.data = _new_token()
    form.lang.data = current_language()
    form.receipt.data = typed
    if status == 200:
        form.text.data = ""
    return render_template("public/thread.html", thread=thread, form=form, added=added), status


@bp.route("/follow-up", methods=["GET"])
@open_to_all
def follow_up() -> tuple[str, int]:
    return _receipt_page(ReceiptForm(formdata=None))


@bp.route("/follow-up", methods=["POST"])
@open_to_all
@limiter.limit(_address_rate, key_func=get_remote_address)
def follow_up_read() -> Page:
    form = ReceiptForm()
    try:
        _checked(form.token.data, timed=False)
    except form_tokens.BadToken:
        return _expired()
    except form_tokens.Expired as exc:
        form.form_errors.append(message_of(exc))
        return _receipt_page(form, 422)
    form.validate()
    typed = (form.receipt.data or "").strip()
    if not typed:
        form.receipt.errors = [_("Type your receipt.")]
        return _receipt_page(form, 422)
    try:
        thread = public.thread(unit_of_work(), typed)
    except public.WrongReceipt as exc:
        form.receipt.errors = [message_of(exc)]
        return _receipt_page(form, 404)
    return _thread_page(thread, typed)


@bp.route("/follow-up/add", methods=["POST"])
@open_to_all
@limiter.limit(_address_rate, key_func=get_remote_address)
def follow_up_add() -> Page:
    form = AddForm()
    try:
        checked = _checked(form.token.data, timed=False)
    except form_tokens.BadToken:
        return _expired()
    except form_tokens.Expired as exc:
        receipt_form = ReceiptForm(formdata=None)
        receipt_form.form_errors.append(message_of(exc))
        return _receipt_page(receipt_form, 422)
    form.validate()
    typed = (form.receipt.data or "").strip()
    s = settings()
    try:
        uploads = _photos(
            form.photos.data, field="photos", limit=s.attachment_max_bytes, count=s.public_max_files
        )
        thread = public.add_information(
            unit_of_work(),
            typed,
            form.text.data or "",
            uploads=uploads,
            checked=checked,
            limits=_limits(),
        )
    except public.WrongReceipt as exc:
        receipt_form = ReceiptForm(formdata=None)
        receipt_form.receipt.errors = [message_of(exc)]
        return _receipt_page(receipt_form, 404)
    except form_tokens.Replayed as exc:
        return _error_page(409, _("Already sent"), message_of(exc))
    except InvalidInput as exc:
        target = form.photos if exc.params.get("field") == "photos" else form.text
        target.errors = [*target.errors, _problem(exc)]
        return _thread_page(public.thread(unit_of_work(), typed), typed, form, 422)
    return _thread_page(thread, typed, added=True)


# -- the reviewer's reply ----------------------------------------------------------------------


@replies.route("/<ref>/reports/<report_id>/reply", methods=["POST"])
@requires(Permission.CASE_WORK)
def reply(ref: str, report_id: str) -> WerkzeugResponse:
    form = ReplyForm()
    if not form.validate_on_submit():
        return redirect(url_for("review.case_page", ref=ref))
    try:
        with unit_of_work().begin() as db:
            public.reply(db, me(), ref, report_id, form.text.data, rules=rules())
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash_refusal(exc)
        return redirect(url_for("review.case_page", ref=ref))
    flash(_("Your reply is waiting for the reporter: she reads it with her receipt."), "info")
    return redirect(url_for("review.case_page", ref=ref) + f"#report-{report_id}")
