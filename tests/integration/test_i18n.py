"""The interface in English, Russian and Kazakh: complete catalogues whose placeholders match,
compiled files that match their sources, and the language a person chooses or their browser
asks for."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path
from types import ModuleType

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parents[2] / "triage" / "translations"
#: A named placeholder and its conversion: ``%(name)s``, ``%(n)d``.
PLACEHOLDER = re.compile(r"%\((\w+)\)([sdifr])")


def _catalog(locale: str):
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=locale)


@pytest.mark.parametrize("locale", ["ru", "kk"])
def test_every_message_is_translated_with_its_placeholders(locale: str) -> None:
    with (TRANSLATIONS / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    catalog = _catalog(locale)
    expected = {m.id if isinstance(m.id, str) else m.id[0] for m in template if m.id}
    present = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    assert expected <= present, f"{locale}: messages missing: {sorted(expected - present)[:5]}"
    for message in catalog:
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        assert all(strings), f"{locale}: not translated: {ids[0]!r}"
        wanted = sorted(set(PLACEHOLDER.findall(ids[0])))
        for text in strings:
            assert sorted(set(PLACEHOLDER.findall(text))) == wanted, (
                f"{locale}: placeholders of {ids[0]!r}"
            )
        assert not message.fuzzy, f"{locale}: fuzzy: {ids[0]!r}"


def _key(value: object) -> object:
    """A plural entry's id and strings come as lists (or tuples): make them comparable."""
    return tuple(value) if isinstance(value, list | tuple) else value


@pytest.mark.parametrize("locale", ["ru", "kk"])
def test_the_compiled_catalogue_matches_its_source(locale: str) -> None:
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo").open("rb") as handle:
        compiled = {_key(m.id): _key(m.string) for m in read_mo(handle) if m.id}
    source = {_key(m.id): _key(m.string) for m in _catalog(locale) if m.id}
    assert compiled == source, f"{locale}: run `pybabel compile -d triage/translations`"


def test_the_chosen_language_is_used_on_every_page(client) -> None:
    english = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in english and "<h1>Sign in</h1>" in english
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', english).group(1)  # type: ignore[union-attr]
    switched = client.post(
        "/language", data={"csrf_token": token, "locale": "ru", "next": "/login"}
    )
    assert switched.status_code == 302 and switched.headers["Location"] == "/login"
    russian = client.get("/login").get_data(as_text=True)
    assert '<html lang="ru">' in russian
    assert "<h1>Sign in</h1>" not in russian and re.search("[а-яё]", russian)
    assert client.post("/language", data={"csrf_token": token, "locale": "xx"}).status_code == 400
    assert (
        client.post(
            "/language", data={"csrf_token": token, "locale": "kk", "next": "https://evil.example/"}
        ).headers["Location"]
        == "/"
    )


def test_the_browser_language_is_the_default(client) -> None:
    page = client.get("/login", headers={"Accept-Language": "kk-KZ,kk;q=0.9,ru;q=0.8"})
    html = page.get_data(as_text=True)
    assert '<html lang="kk">' in html and re.search("[әғқңөұүһі]", html)
    assert '<html lang="en">' in client.get("/login", headers={"Accept-Language": "de"}).get_data(
        as_text=True
    )


# -- domain messages ---------------------------------------------------------------------------

ROOT = TRANSLATIONS.parents[1]


def _domain_modules() -> list[Path]:
    return sorted(p for p in (ROOT / "triage").rglob("*.py") if "web" not in p.parts)


def _module_of(path: Path) -> ModuleType:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    return importlib.import_module(name)


def _resolve(module: ModuleType, func: ast.expr) -> object:
    """What a raise calls (``Name`` or ``module.Name``), looked up in the raising module."""
    if isinstance(func, ast.Name):
        return getattr(module, func.id, None)
    if isinstance(func, ast.Attribute):
        owner = _resolve(module, func.value)
        return getattr(owner, func.attr, None) if owner is not None else None
    return None


def _is_marked(node: ast.expr) -> bool:
    """``N_("…")``, a name or attribute holding a marked message, one of a table of them
    (``_REFUSALS[kind]``), or a choice between them."""
    if isinstance(node, ast.IfExp):
        return _is_marked(node.body) and _is_marked(node.orelse)
    if isinstance(node, ast.Subscript):
        return isinstance(node.value, ast.Name | ast.Attribute)
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Name) and node.func.id == "N_"
    return isinstance(node, ast.Name | ast.Attribute)


def test_every_domain_refusal_is_marked_for_translation() -> None:
    """A domain error's message is ``N_("… %(name)s …")`` with its values as params, never a
    plain or f-string: pages translate it (``triage.web.errors.message_of``)."""
    from triage.errors import DomainError
    from triage.intake.api_clients import TokenRejected

    unmarked = []
    for path in _domain_modules():
        module = _module_of(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            raised = _resolve(module, node.exc.func)
            if not (isinstance(raised, type) and issubclass(raised, DomainError)):
                continue
            # A refused token's first argument is its reason code; its message comes second.
            args = node.exc.args[1:] if raised is TokenRejected else node.exc.args
            if args and not _is_marked(args[0]):
                unmarked.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert unmarked == []


def test_every_marked_message_is_in_the_template() -> None:
    """``N_`` strings reach the catalogues only by extraction: re-run it after adding one."""
    with (TRANSLATIONS / "messages.pot").open("rb") as handle:
        template = {m.id for m in read_po(handle) if m.id}
    marked = set()
    for path in sorted((ROOT / "triage").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"N_", "_l", "lazy_gettext", "_", "gettext"}
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                marked.add(node.args[0].value)
    assert sorted(marked - template) == [], "run the extraction (docs/development.md)"


# -- labels ------------------------------------------------------------------------------------


def test_every_code_of_a_vocabulary_has_a_label() -> None:
    from triage.review.assessments import current_checklist
    from triage.web import labels

    for kind, codes in labels.COVERS.items():
        missing = [str(c) for c in codes if str(c) not in labels.TABLES[kind]]
        assert missing == [], f"{kind}: no label for {missing}"
    # The checklist file holds the English text of each item; the table must say the same.
    for item in current_checklist().items:
        assert str(labels.CHECKLIST_ITEM.get(item.code)) == item.text, item.code


def _choose(client, locale: str) -> None:
    """Choose the interface language as a person does, in the footer."""
    page = client.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert client.post("/language", data={"csrf_token": token, "locale": locale}).status_code == 302


#: The message a reviewer reads when she claims a case another reviewer holds.
HELD = "Another reviewer holds this case. Try again after they release it."


@pytest.mark.parametrize("locale", ["ru", "kk"])
def test_a_refused_claim_is_told_in_the_readers_language(app, accounts, locale: str) -> None:
    from tests.conftest import AuthActions, make_user
    from tests.integration.test_review_services import make_case
    from triage.models import Case
    from triage.vocab import Region, Role
    from triage.web.deps import uow_of

    case_id = make_case(app)
    with app.app_context(), uow_of(app).read() as session:
        code = session.get(Case, case_id).code  # type: ignore[union-attr]
    holder, other = app.test_client(), app.test_client()
    AuthActions(holder).login_as(accounts[Role.REVIEWER])
    AuthActions(other).login_as(make_user(app, "reviewer.b", Role.REVIEWER, Region.KARAGANDA))
    for client in (holder, other):
        token = AuthActions(client).csrf_token(f"/cases/{code}")
        assert client.post(f"/cases/{code}/claim", data={"csrf_token": token}).status_code == 302
    _choose(other, locale)
    token = AuthActions(other).csrf_token(f"/cases/{code}")
    page = other.post(
        f"/cases/{code}/claim", data={"csrf_token": token}, follow_redirects=True
    ).get_data(as_text=True)
    translated = {m.id: m.string for m in _catalog(locale)}[HELD]
    assert translated in page and HELD not in page


@pytest.mark.parametrize("locale", ["ru", "kk"])
def test_a_refused_form_is_told_in_the_readers_language(app, accounts, auth, locale) -> None:
    """A refusal the intake service raises (nothing to add to a report) reads in her language."""
    from triage.vocab import Role

    auth.login_as(accounts[Role.CASEWORKER])
    report = auth.file_report("direct", DIRECT)
    _choose(auth._client, locale)
    token = auth.csrf_token(report)
    page = auth._client.post(
        f"{report}/information", data={"csrf_token": token, "text": "  "}, follow_redirects=True
    ).get_data(as_text=True)
    message = "Write the new information or attach a file."
    translated = {m.id: m.string for m in _catalog(locale)}[message]
    assert translated in page and message not in page


DIRECT = {
    "reporter": "neighbour",
    "victim_name": "Салтанат Жұмабекова",
    "aggressor_name": "Ерлан Жұмабеков",
    "relationship": "spouse",
    "region": "karaganda",
    "categories": ["battery", "threat"],
    "children_present": "yes",
    "narrative": "Соседка слышала крики; муж бил её и угрожал ножом.",
    "may_contact": "no",
}


def test_the_report_page_shows_labels_in_the_order_of_its_form(app, client, accounts, auth):
    from triage.vocab import Role

    auth.login_as(accounts[Role.CASEWORKER])
    path = auth.file_report("direct", DIRECT)
    page = client.get(path).get_data(as_text=True)
    for label in ("Spouse", "A neighbour", "Karaganda Region", "Battery (beatings)"):
        assert label in page
    for code in (">spouse<", ">neighbour<", ">karaganda<", ">battery<"):
        assert code not in page
    # The payload in the form's order (reporter, people, relationship, …), not by key name.
    order = ["<dt>Reporter</dt>", "<dt>Victim</dt>", "<dt>Alleged aggressor</dt>"]
    order += ["<dt>Relationship</dt>", "<dt>Narrative</dt>", "<dt>May be contacted</dt>"]
    positions = [page.index(dt) for dt in order]
    assert positions == sorted(positions)

    _choose(client, "ru")
    russian = client.get(path).get_data(as_text=True)
    ru = {m.id: m.string for m in _catalog("ru")}
    for english in ("Spouse", "A neighbour", "Karaganda Region", "Relationship"):
        assert ru[english] in russian


def _spaced(html: str) -> str:
    """CLDR puts narrow and no-break spaces in times ("2:30\u202fPM"); compare them as spaces."""
    return html.replace("\u202f", " ").replace("\xa0", " ")


def test_signals_and_platforms_show_as_labels(app, client, accounts, auth) -> None:
    from triage.vocab import Role

    auth.login_as(accounts[Role.CASEWORKER])
    token = auth.csrf_token("/reports/new/online")
    filed = client.post(
        "/reports/new/online",
        data={
            "csrf_token": token,
            "platform": "instagram",
            "post_url": "https://www.instagram.com/p/example/",
            "captured_at": "2026-11-20T14:30",
            "captured_text": "Муж избил жену и угрожал убить её, она кричала всю ночь.",
            "region": "karaganda",
        },
        content_type="multipart/form-data",
    )
    assert filed.status_code == 302, filed.get_data(as_text=True)
    page = _spaced(client.get(filed.headers["Location"]).get_data(as_text=True))
    assert "threat to kill" in page and "threat_to_kill" not in page
    assert "Instagram" in page and ">instagram<" not in page
    assert "Nov 20, 2026, 2:30 PM" in page  # the capture time, in the reader's locale
    _choose(client, "kk")
    kazakh = _spaced(client.get(filed.headers["Location"]).get_data(as_text=True))
    kk = {m.id: m.string for m in _catalog("kk")}
    assert kk["threat to kill"] in kazakh
    assert "2026 ж. 20 қар., 14:30" in kazakh


def test_dates_on_the_report_page_are_in_the_readers_locale(app, client, accounts, auth):
    from babel.dates import format_date
    from sqlalchemy import select

    from triage.models import Report
    from triage.vocab import Role
    from triage.web.deps import uow_of

    auth.login_as(accounts[Role.CASEWORKER])
    path = auth.file_report("direct", DIRECT)
    with app.app_context(), uow_of(app).read() as session:
        received = session.scalars(select(Report)).one().received_at
    english = client.get(path).get_data(as_text=True)
    assert format_date(received.date(), "medium", locale="en") in english
    assert received.strftime("%Y-%m-%d %H:%M") not in english  # no ISO timestamp
    _choose(client, "ru")
    russian = client.get(path).get_data(as_text=True)
    assert format_date(received.date(), "medium", locale="ru") in russian  # «2 дек. 2026 г.»
    assert received.strftime("%Y-%m-%d") not in russian


@pytest.mark.parametrize("locale", ["ru", "kk"])
def test_a_forms_field_problems_are_told_in_the_readers_language(app, accounts, auth, locale):
    """The schema's own rules (a birth date in the future, an IIN with a wrong check digit) are
    shown beside their fields in her language, and nothing is stored."""
    from triage.vocab import Role

    auth.login_as(accounts[Role.CASEWORKER])
    _choose(auth._client, locale)
    token = auth.csrf_token("/reports/new/direct")
    wrong = {**DIRECT, "victim_birth_date": "2999-01-01", "victim_iin": "123456789012"}
    page = auth._client.post(
        "/reports/new/direct",
        data={"csrf_token": token, **wrong},
        content_type="multipart/form-data",
    )
    assert page.status_code == 422
    body = page.get_data(as_text=True)
    catalog = {m.id: m.string for m in _catalog(locale)}
    for message in (
        "cannot be in the future",
        "is not a valid IIN (12 digits with a correct check digit)",
    ):
        assert catalog[message] in body
        assert message not in body
