"""Administration of intake API clients: list them, make one (its token is shown once, on the
page that answers the form, and never again), revoke one. Admins see names, prefixes and scopes,
never a token after it was shown, and never a report. Each write is one block of the unit of
work; a refused form rolls its block back and shows why."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from ...errors import DomainError
from ...intake import api_clients
from ...permissions import Permission
from ..deps import unit_of_work
from ..errors import message_of
from ..forms.api_clients import ClientForm, RevokeForm
from ..gate import actor_id, me, requires

bp = Blueprint("api_clients", __name__, url_prefix="/admin/api-clients")


@bp.route("/")
@requires(Permission.TOKEN_MANAGE)
def client_list() -> str:
    with unit_of_work().read() as db:
        clients = api_clients.list_clients(db)
    return render_template("admin/api_clients.html", clients=clients)


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.TOKEN_MANAGE)
def client_new() -> tuple[str, int] | str:
    form = ClientForm()
    if form.validate_on_submit():
        try:
            with unit_of_work().begin() as db:
                client, token = api_clients.create_client(
                    db,
                    name=form.name.data,
                    scopes=form.scopes.data,
                    actor=actor_id(),
                    created_by=me().id,
                )
        except DomainError as exc:
            form.form_errors.append(message_of(exc))
            return render_template("admin/api_clients_new.html", form=form), int(exc.status)
        # The only time the token exists outside the client's hands: rendered, never stored or
        # redirected with, and the response is not cached (Cache-Control: no-store).
        return render_template("admin/api_clients_created.html", client=client, token=token), 201
    return render_template("admin/api_clients_new.html", form=form), 400 if form.errors else 200


@bp.route("/<int:client_id>/revoke", methods=["GET", "POST"])
@requires(Permission.TOKEN_MANAGE)
def client_revoke(client_id: int) -> Response | tuple[str, int] | str:
    with unit_of_work().read() as db:
        client = api_clients.get(db, client_id)
    form = RevokeForm()
    if client.revoked_at is None and form.validate_on_submit():
        with unit_of_work().begin() as db:
            api_clients.revoke(db, api_clients.get(db, client_id), actor=actor_id())
        flash(_("The token of %(name)s was revoked.", name=client.name), "info")
        return redirect(url_for("api_clients.client_list"))
    status = 400 if form.errors else 200
    return render_template("admin/api_clients_revoke.html", client=client, form=form), status
