"""What the public tests share: a reporter's steps through the public pages, and sample data."""

from __future__ import annotations

import io
import re
from typing import Any

from flask.testing import FlaskClient
from PIL import ExifTags, Image

#: A marker that appears in no page, log or template: a photo's camera maker in its EXIF.
EXIF_MARKER = "GPSPhoneMakerXYZ"
LATITUDE = (49.0, 48.0, 12.5)


def photo_with_gps() -> bytes:
    """A small JPEG whose EXIF holds a GPS position and a camera maker."""
    image = Image.new("RGB", (24, 16), "red")
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = EXIF_MARKER
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: LATITUDE,
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (73.0, 5.0, 1.0),
    }
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def gps_of(data: bytes) -> dict[int, Any]:
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif().get_ifd(ExifTags.IFD.GPSInfo))


NARRATIVE = "Публичный тест: сосед избил жену и угрожал убить её ножом, дети плакали."
VICTIM = "Айгерим Публичная"

REPORT: dict[str, Any] = {
    "danger_now": "no",
    "reporter": "neighbour",
    "victim_name": VICTIM,
    "victim_age": "34",
    "aggressor_name": "Болат Публичный",
    "relationship": "spouse",
    "region": "karaganda",
    "city": "Темиртау",
    "address": "ул. Публичная, 7",
    "categories": ["battery", "threat"],
    "children_present": "yes",
    "narrative": NARRATIVE,
    "contact_me": "yes",
    "reporter_contact": "только SMS после 18:00",
}

_TOKEN = re.compile(r'name="token" type="hidden" value="([^"]+)"')
_RECEIPT = re.compile(r'id="receipt">([^<]+)<')


def token_of(page: str) -> str:
    match = _TOKEN.search(page)
    assert match, "no form token on the page"
    return match.group(1)


class Reporter:
    """A person on the public pages, through the test client (no cookie is ever kept)."""

    def __init__(self, client: FlaskClient, lang: str = "ru") -> None:
        self.client = client
        self.lang = lang

    def form_token(self) -> str:
        return token_of(self.client.get(f"/report?lang={self.lang}").get_data(as_text=True))

    def send(
        self, data: dict[str, Any] | None = None, *, token: str | None = None, files: Any = None
    ) -> Any:
        fields = {**REPORT, **(data or {})}
        fields = {k: v for k, v in fields.items() if v is not None}
        body = {"token": token or self.form_token(), "lang": self.lang, "website": "", **fields}
        if files is not None:
            body["photos"] = files
        return self.client.post(
            f"/report?lang={self.lang}", data=body, content_type="multipart/form-data"
        )

    def file(self, data: dict[str, Any] | None = None, files: Any = None) -> str:
        """Send a report that must be accepted; its receipt."""
        response = self.send(data, files=files)
        page = response.get_data(as_text=True)
        assert response.status_code == 200, page
        match = _RECEIPT.search(page)
        assert match, page
        return match.group(1)

    def read(self, receipt: str) -> Any:
        token = token_of(
            self.client.get(f"/report/follow-up?lang={self.lang}").get_data(as_text=True)
        )
        return self.client.post(
            f"/report/follow-up?lang={self.lang}",
            data={"token": token, "lang": self.lang, "receipt": receipt},
        )

    def add(self, receipt: str, text: str, files: Any = None) -> Any:
        page = self.read(receipt).get_data(as_text=True)
        body: dict[str, Any] = {
            "token": token_of(page),
            "lang": self.lang,
            "receipt": receipt,
            "text": text,
        }
        if files is not None:
            body["photos"] = files
        return self.client.post(
            f"/report/follow-up/add?lang={self.lang}", data=body, content_type="multipart/form-data"
        )


# -- audit-coverage scenarios (tests/integration/test_audit_coverage.py) -----------------------


def aged_token(app: Any) -> str:
    """A form token issued half a minute ago: past the time check without waiting."""
    from datetime import timedelta

    from triage.models import utcnow
    from triage.public import form_tokens
    from triage.web.deps import uow_of

    secret = uow_of(app).keyring.current.session_secret
    return form_tokens.issue(secret, now=utcnow() - timedelta(seconds=30))


def _filed(client: FlaskClient) -> str:
    response = client.post(
        "/report", data={"token": aged_token(client.application), "website": "", **REPORT}
    )
    match = _RECEIPT.search(response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)[:500]
    return match.group(1)


def public_submit_scenario(client: FlaskClient, auth: Any, accounts: Any) -> Any:
    return client.post(
        "/report", data={"token": aged_token(client.application), "website": "", **REPORT}
    )


def public_read_scenario(client: FlaskClient, auth: Any, accounts: Any) -> Any:
    receipt = _filed(client)
    return client.post(
        "/report/follow-up", data={"token": aged_token(client.application), "receipt": receipt}
    )


def public_add_scenario(client: FlaskClient, auth: Any, accounts: Any) -> Any:
    receipt = _filed(client)
    token = aged_token(client.application)
    return client.post(
        "/report/follow-up/add", data={"token": token, "receipt": receipt, "text": "ещё"}
    )


def public_reply_scenario(client: FlaskClient, auth: Any, accounts: Any) -> Any:
    from sqlalchemy import select

    from triage.models import Case, Report, User
    from triage.review import claims
    from triage.vocab import Role
    from triage.web.deps import uow_of

    _filed(client)
    app = client.application
    reviewer = accounts[Role.REVIEWER]
    with app.app_context(), uow_of(app).begin() as session:
        report = session.scalars(select(Report).where(Report.public)).one()
        case = session.get(Case, report.case_id)
        user = session.get(User, reviewer.id)
        assert case is not None and user is not None
        claims.claim(session, user, case.id)
        code, report_id = case.code, report.id
    auth.login_as(reviewer)
    return client.post(
        f"/cases/{code}/reports/{report_id}/reply",
        data={"csrf_token": auth.csrf_token(f"/cases/{code}"), "text": "Ответ"},
    )
