"""Every HTML form and every URL, fuzzed: hypothesis sends what no page would — huge strings,
control characters, NUL, any script, missing fields, the wrong types, huge and negative
integers in paths and queries — as the role the page is for, with a valid CSRF token so that the
input reaches the form's validation and the service behind it.

Whatever arrives: never a 500, never a stack trace in the body, nothing half-stored (a refused
post leaves every table's row count as it was, audit events aside: an audited refusal is
written on purpose), and every log record is one line in both the JSON and the text format.

The forms are found, not listed: a crawl of the pages each role can reach, from a seeded
instance (the demo's accounts and reports), collects every ``<form>`` with its fields, select
options and default values. A case's forms appear once the reviewer has claimed it. The API is
fuzzed by schemathesis (test_api_schema.py).

Budget: ``FORM_EXAMPLES`` + ``URL_EXAMPLES`` cases on SQLite, a fifth of that on PostgreSQL;
``TRIAGE_FUZZ_SCALE`` multiplies both.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.conftest import Account, AuthActions, Database, make_user
from triage import demo
from triage.db import Base
from triage.logging import JsonLinesFormatter, TextFormatter
from triage.vocab import Role
from triage.web.deps import uow_of

#: Cases per run on SQLite (a fifth on PostgreSQL): 5,100. On the 2-core machine, quiet (load
#: 1-2), they took 67 s of test time (50 s forms, 17 s URLs); under a load of 9, four times
#: that — the app's own request cost dominates (25 ms for a small page, 150 ms for an intake
#: form). ``TRIAGE_FUZZ_SCALE`` scales it (0.1 while working on a form).
FORM_EXAMPLES = 2_000
URL_EXAMPLES = 1_000
#: Where the crawl starts for the forms open to anyone (they are fuzzed without signing in).
PUBLIC_STARTS = ("/login", "/report", "/report/follow-up")
#: Pages the crawl visits per role, at most.
CRAWL_LIMIT = 60
#: Statuses a fuzzed request may get; anything else (a 500 above all) fails.
FINE = {200, 201, 204, 301, 302, 303, 308, 400, 401, 403, 404, 405, 409, 410, 413, 415, 422, 429}
#: Tables a refused request may still write: the audit log (audited refusals), and the
#: server-side sessions and limit counters that any request may touch.
_WRITTEN_ON_REFUSAL = re.compile(r"audit|session|limit|lockout|throttle|attempt|counter")
TRACE = re.compile(r"Traceback \(most recent call last\)|File \"/[^\"]+\.py\", line \d+")


# -- finding the forms -------------------------------------------------------------------------


@dataclass
class Form:
    role: Role
    action: str
    method: str
    multipart: bool
    #: name -> default value (the page's), for every field but the CSRF token.
    fields: dict[str, str] = field(default_factory=dict)
    #: name -> the options a select offers.
    options: dict[str, list[str]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str, tuple[str, ...]]:
        return (self.role.value, self.method, self.action, tuple(sorted(self.fields)))


class _Page(HTMLParser):
    """The links and forms of one page."""

    def __init__(self, role: Role, url: str) -> None:
        super().__init__()
        self.role, self.url = role, url
        self.links: list[str] = []
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(urljoin(self.url, a["href"]))
        elif tag == "form":
            method = (a.get("method") or "get").upper()
            action = urljoin(self.url, a.get("action") or self.url)
            multipart = a.get("enctype", "") == "multipart/form-data"
            self._form = Form(self.role, action, method, multipart)
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "textarea", "select") and a.get("name"):
            name, kind = a["name"], a.get("type", "text")
            if name == "csrf_token":
                return
            if kind == "file":
                self._form.files.append(name)
            elif kind in ("checkbox", "radio"):
                self._form.options.setdefault(name, []).append(a.get("value") or "y")
                if "checked" in a or name not in self._form.fields:
                    self._form.fields[name] = a.get("value") or "y" if "checked" in a else ""
            elif kind not in ("submit", "button", "reset", "image"):
                self._form.fields[name] = a.get("value", "")
            if tag == "select":
                self._select = name
                self._form.options[name] = []
        elif tag == "option" and self._form is not None and self._select:
            value = a.get("value", "")
            self._form.options[self._select].append(value)
            if "selected" in a or not self._form.fields.get(self._select):
                self._form.fields[self._select] = value

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def _same_site(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
        return None
    if parts.path.startswith(("/static/", "/api/")) or parts.path in ("/logout",):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def crawl(client: FlaskClient, role: Role, start: list[str], avoid: re.Pattern[str]) -> list[Form]:
    """The forms on the pages ``client`` reaches from ``start`` by GET links."""
    seen: set[str] = set()
    queue = list(start)
    forms: dict[tuple[str, str, str, tuple[str, ...]], Form] = {}
    while queue and len(seen) < CRAWL_LIMIT:
        path = queue.pop(0)
        if path in seen or avoid.search(path):
            continue
        seen.add(path)
        response = client.get(path)
        if response.status_code != 200 or "text/html" not in response.content_type:
            continue
        page = _Page(role, "http://localhost" + path)
        page.feed(response.get_data(as_text=True))
        for form in page.forms:
            target = _same_site(form.action)
            if target is None or avoid.search(target):
                continue
            form.action = target
            forms.setdefault(form.key, form)
        for link in page.links:
            target = _same_site(link)
            # One page of a listing is enough; their other pages hold the same forms.
            if target and target not in seen and "page=" not in target and ".csv" not in target:
                queue.append(target)
    return list(forms.values())


def csrf_token(client: FlaskClient) -> str:
    return csrf_token_of(client, "/account/password")


def csrf_token_of(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "no CSRF token"
    return match.group(1)


# -- what is sent ------------------------------------------------------------------------------

_CONTROL = st.sampled_from(["\x00", "\n", "\r\n", "\x1b[31m", "\x7f", "\u2028", "\ufeff", "\t"])
_NUMBERS = st.sampled_from(
    ["-1", "0", "1", "9" * 30, str(2**63), str(2**64 + 1), "-" + "9" * 25, "1e309", "NaN", "0x1f"]
)
_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=200),
    st.builds(lambda c, t: t + c + t, _CONTROL, st.text(max_size=10)),
    _NUMBERS,
    st.sampled_from(["", " ", "<script>x</script>", "' OR 1=1 --", "%0a", "../../etc/passwd"]),
    st.integers(min_value=1_000, max_value=6_000).map(lambda n: "ж" * n),  # huge
    st.sampled_from(["2026-13-45", "1900-01-01", "9999-12-31", "2026-02-30T25:61"]),
)


def _value(form: Form, name: str) -> st.SearchStrategy[str | None]:
    """None drops the field; otherwise one of its options, its default, or anything at all."""
    choices: list[st.SearchStrategy[str | None]] = [st.none(), _TEXT, st.just(form.fields[name])]
    if form.options.get(name):
        choices.append(st.sampled_from(form.options[name]))
    return st.one_of(*choices)


@st.composite
def submissions(draw: st.DrawFn, forms: list[Form]) -> tuple[Form, dict[str, Any]]:
    form = draw(st.sampled_from(forms))
    data: dict[str, Any] = {}
    names = sorted(form.fields)
    fuzzed = set(draw(st.lists(st.sampled_from(names), unique=True))) if names else set()
    for name in names:
        value = draw(_value(form, name)) if name in fuzzed else form.fields[name]
        if value is not None:
            data[name] = value
    for name in form.files:
        if draw(st.booleans()):
            blob = draw(st.binary(max_size=64))
            data[name] = (io.BytesIO(blob), draw(st.sampled_from(["a.png", "x\x00.pdf", ""])))
    if draw(st.integers(0, 9)) == 0:  # a field no form has
        data[draw(st.text(min_size=1, max_size=8))] = draw(_TEXT)
    return form, data


# -- what must hold ----------------------------------------------------------------------------


class Lines(logging.Handler):
    """Every record, formatted as JSON and as text: each must stay on one line."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.json, self.text = JsonLinesFormatter(), TextFormatter()
        self.broken: list[str] = []
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        for formatter in (self.json, self.text):
            line = formatter.format(record)
            if len(line.splitlines()) != 1:
                self.broken.append(line)
        json.loads(self.json.format(record))


@pytest.fixture
def lines() -> Iterator[Lines]:
    handler = Lines()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def counter(app: Flask) -> Any:
    """A function that returns every table's row count (audit, sessions and limits aside) in
    one query."""
    tables = [t for t in Base.metadata.sorted_tables if not _WRITTEN_ON_REFUSAL.search(t.name)]
    query = select(
        *(select(func.count()).select_from(t).scalar_subquery().label(t.name) for t in tables)
    )

    def counts() -> dict[str, int]:
        with app.app_context(), uow_of(app).read() as session:
            return dict(session.execute(query).one()._mapping)

    return counts


def check(response: Any, sent: object = None) -> None:
    assert response.status_code in FINE, (response.status_code, response.request.path, sent)
    body = response.get_data().decode("utf-8", errors="replace")  # exports are binary
    assert not TRACE.search(body), body[:2000]


def budget(database: Database, examples: int) -> int:
    """``examples`` on SQLite, a fifth on PostgreSQL; ``TRIAGE_FUZZ_SCALE`` scales both (a
    quick local run: 0.1; a long hunt: 10)."""
    scale = float(os.environ.get("TRIAGE_FUZZ_SCALE", "1"))
    return max(10, int(examples * scale * (1 if database.engine == "sqlite" else 0.2)))


# -- the seeded instance -----------------------------------------------------------------------


@dataclass
class Seeded:
    clients: dict[Role, FlaskClient]
    tokens: dict[Role, str]
    forms: list[Form]


_ID = re.compile(r"/(C-[A-Z0-9]{4}-[A-Z0-9]{4}|[0-9a-f-]{36}|\d+)(?=/|$)")


def distinct(forms: list[Form]) -> list[Form]:
    """One form per shape (the same form of another case, report or role adds little)."""
    kept: dict[tuple[str, str, tuple[str, ...]], Form] = {}
    for form in forms:
        shape = _ID.sub("/<id>", form.action.split("?")[0])
        kept.setdefault((form.method, shape, tuple(sorted(form.fields))), form)
    return list(kept.values())


def seed(app: Flask, accounts: dict[Role, Account]) -> Seeded:
    """The demo's reports, a spare account for the admin to edit, a claimed case, and the forms
    each role reaches."""
    with app.app_context(), uow_of(app).begin() as session:
        demo.ensure_reports(session, accounts[Role.CASEWORKER].id)
    spare = make_user(app, "spare.reviewer", Role.REVIEWER)
    others = "|".join(str(a.id) for a in accounts.values())
    # The fuzzing accounts must stay as they are: the admin edits only the spare one.
    avoid = re.compile(rf"^/admin/users/({others})(/|$)|/logout")
    clients, tokens, forms = {}, {}, []
    for role in (Role.REVIEWER, Role.SUPERVISOR, Role.CASEWORKER, Role.AUDITOR, Role.ADMIN):
        client = app.test_client()
        AuthActions(client).login_as(accounts[role])
        clients[role], tokens[role] = client, csrf_token(client)
        if role is Role.REVIEWER:  # a claimed case shows its working forms
            client.post("/cases/take-next", data={"csrf_token": tokens[role]})
        start = ["/", "/cases/", "/reports/", "/audit/", "/admin/users", "/api-clients/"]
        start.append(f"/admin/users/{spare.id}")
        forms += crawl(client, role, start, avoid)
    # The forms open to anyone: sign-in, and the public report and its follow-up.
    anonymous = app.test_client()
    forms += [
        f
        for f in crawl(anonymous, Role.CASEWORKER, list(PUBLIC_STARTS), avoid)
        if f.action.startswith(PUBLIC_STARTS)
    ]
    return Seeded(clients, tokens, distinct(forms))


def assert_found_enough(found: Seeded) -> None:
    """The fuzzing is only as good as the forms the crawl finds."""
    paths = {f.action.split("?")[0] for f in found.forms}
    assert {"/account/password", "/admin/users/new", "/login"} <= paths, sorted(paths)
    assert any(path.startswith("/reports/new/") for path in paths), sorted(paths)
    case_forms = [p for p in paths if re.match(r"^/cases/[^/]+/(assess|note|verify|decide)$", p)]
    assert case_forms, sorted(paths)
    assert len(found.forms) >= 20, sorted(paths)


def test_fuzzed_forms_never_fail_or_half_store(app, accounts, database, lines):
    found = seed(app, accounts)
    assert_found_enough(found)
    anonymous = app.test_client()
    anonymous_token = csrf_token_of(anonymous, "/login")
    counts = counter(app)
    sent: list[str] = []

    @settings(
        max_examples=budget(database, FORM_EXAMPLES),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(submissions(found.forms))
    def post(submission: tuple[Form, dict[str, Any]]) -> None:
        sent.append(submission[0].action)
        form, data = submission
        public = form.action.startswith(PUBLIC_STARTS)
        client = anonymous if public else found.clients[form.role]
        if form.method == "GET":
            query = {k: v for k, v in data.items() if isinstance(v, str)}
            check(client.get(form.action.split("?")[0] + "?" + urlencode(query)), query)
            return
        data["csrf_token"] = anonymous_token if public else found.tokens[form.role]
        before = counts()
        response = client.post(
            form.action,
            data=data,
            content_type="multipart/form-data" if form.multipart or form.files else None,
        )
        check(response, data)
        if response.status_code >= 400:
            assert counts() == before, (form.action, response.status_code)

    post()
    assert len(sent) >= budget(database, FORM_EXAMPLES), len(sent)
    assert lines.count > 0 and lines.broken == []


_SEGMENT = st.one_of(
    _NUMBERS,
    st.sampled_from(["%00", "%0a", "%0d%0a", "%1b", "%7f", "%e2%80%a8", "%ff", "..", "%2e%2e"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="/?#"), max_size=30).map(
        lambda t: "".join(f"%{b:02x}" for b in t.encode())
    ),
)


def test_fuzzed_urls_never_fail(app, accounts, database, lines):
    """Every route of the URL map with its arguments replaced, and the paging parameters."""
    found = seed(app, accounts)
    rules = [
        r.rule
        for r in app.url_map.iter_rules()
        if "GET" in (r.methods or ()) and "<" in r.rule and not r.rule.startswith("/static")
    ]
    plain = sorted({f.action.split("?")[0] for f in found.forms if f.method == "GET"})
    plain += ["/audit/", "/screened/", "/cases/", "/reports/", "/admin/users"]
    argument = re.compile(r"<[^>]+>")

    @settings(
        max_examples=budget(database, URL_EXAMPLES),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        st.sampled_from(sorted(found.clients)),
        st.one_of(
            st.builds(
                lambda rule, segment: argument.sub(segment, rule),
                st.sampled_from(sorted(rules)),
                _SEGMENT,
            ),
            st.builds(
                lambda path, name, value: f"{path}?{name}={value}",
                st.sampled_from(plain),
                st.sampled_from(["page", "before", "feed", "kind", "next", "measure", "q"]),
                _SEGMENT,
            ),
        ),
    )
    def get(role: Role, url: str) -> None:
        sent.append(url)
        check(found.clients[role].get(url))

    sent: list[str] = []
    get()
    assert len(sent) >= budget(database, URL_EXAMPLES), len(sent)
    assert lines.count > 0 and lines.broken == []
