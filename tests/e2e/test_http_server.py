"""Through a real HTTP server (gunicorn, two workers): sign in with the credentials that
``triage demo`` printed, see the home page, sign out — as a browser would, with a cookie jar and
the CSRF token from the form. And a server without its keyring refuses to start, in one line.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import Message

from tests.e2e.conftest import Instance, Server, free_port, run_triage


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Let the test see each redirect instead of following it."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@dataclass
class Reply:
    status: int
    headers: Message
    body: str


class Browser:
    """A cookie jar and a way to send requests; no JavaScript, no redirects followed."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )

    def open(self, path: str, form: dict[str, str] | None = None) -> Reply:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(self.base_url + path, data=data)  # noqa: S310
        try:
            with self.opener.open(request, timeout=30) as response:
                return Reply(response.status, response.headers, response.read().decode())
        except urllib.error.HTTPError as error:  # 3xx (not followed) and 4xx/5xx
            with error:
                return Reply(error.code, error.headers, error.read().decode())

    def csrf_token(self, path: str) -> str:
        page = self.open(path)
        assert page.status == 200, page.status
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.body)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self, username: str, password: str) -> Reply:
        token = self.csrf_token("/login")
        return self.open(
            "/login", {"username": username, "password": password, "csrf_token": token}
        )


def test_sign_in_see_home_and_sign_out(server: Server, instance: Instance) -> None:
    password = instance.credentials["admin"]
    browser = Browser(server.base_url)

    login_page = browser.open("/login")
    assert login_page.status == 200
    assert "Sign in" in login_page.body
    assert login_page.headers["X-Frame-Options"] == "DENY"
    assert "'unsafe-inline'" not in login_page.headers["Content-Security-Policy"]

    signed_in = browser.login("admin", password)
    assert signed_in.status == 302
    assert urllib.parse.urlsplit(signed_in.headers["Location"]).path == "/"
    cookie = next(
        c for c in signed_in.headers.get_all("Set-Cookie", []) if c.startswith("triage_session=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie

    # Two workers share the session secret (it is in the keyring): any of them knows the user.
    for _ in range(4):
        home = browser.open("/")
        assert home.status == 200
        assert "Welcome, admin" in home.body
        assert home.headers["Cache-Control"] == "no-store"

    token = browser.csrf_token("/")
    signed_out = browser.open("/logout", {"csrf_token": token})
    assert signed_out.status == 302
    assert urllib.parse.urlsplit(signed_out.headers["Location"]).path == "/login"
    after = browser.open("/")
    assert after.status == 302
    assert urllib.parse.urlsplit(after.headers["Location"]).path == "/login"

    log = server.log.read_text()
    messages = [json.loads(line)["message"] for line in log.splitlines() if line.startswith("{")]
    assert any('"POST /login" 302' in m for m in messages), "the access log missed the sign-in"
    assert password not in log
    assert token not in log


def test_a_wrong_password_is_refused(server: Server, instance: Instance) -> None:
    browser = Browser(server.base_url)
    reply = browser.login("reviewer", instance.credentials["reviewer"] + "x")
    assert reply.status == 401
    assert "The username or password is not right" in reply.body
    assert browser.open("/").status == 302


def test_a_form_without_its_token_is_refused(server: Server, instance: Instance) -> None:
    browser = Browser(server.base_url)
    reply = browser.open("/login", {"username": "auditor", "password": "x" * 12})
    assert reply.status == 400
    assert "Form expired" in reply.body


def test_serve_refuses_to_start_without_the_keyring(tmp_path) -> None:
    assert run_triage(tmp_path, "init").returncode == 0
    (tmp_path / "keyring.json").unlink()

    result = run_triage(tmp_path, "serve", "--port", str(free_port()), "--workers", "1")

    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: no keyring at ")
    assert "triage init" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert "running at" not in result.stdout
