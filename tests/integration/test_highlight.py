"""The report page marks the words behind screening's reading of a narrative, labelled in the
reader's language, and still shows everything else as escaped text."""

from __future__ import annotations

import re

from triage.vocab import Role
from triage.web.highlight import marks

NARRATIVE = "Соседка слышала крики: муж избил её и угрожал ножом. <script>alert(1)</script>"
DIRECT = {
    "reporter": "neighbour",
    "victim_name": "Салтанат Жұмабекова",
    "aggressor_name": "Ерлан Жұмабеков",
    "relationship": "spouse",
    "region": "karaganda",
    "categories": ["battery"],
    "narrative": NARRATIVE,
    "may_contact": "no",
}


def test_the_words_behind_the_signals_are_marked_and_labelled(app, client, accounts, auth):
    auth.login_as(accounts[Role.CASEWORKER])
    page = client.get(auth.file_report("direct", DIRECT)).get_data(as_text=True)
    marked = re.findall(r'<mark class="signal" title="([^"]+)">([^<]+)</mark>', page)
    words = {word for _title, word in marked}
    assert {"муж", "избил", "ножом"} <= words
    titles = {title for title, word in marked if word == "ножом"}
    assert any("weapon" in t for t in titles)
    # Whatever the model weighs, the narrative's markup shows as text, never as markup.
    shown = re.sub(r"</?mark[^>]*>", "", page)
    assert "<script>alert(1)</script>" not in shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown


def test_marks_do_not_overlap_and_point_into_the_text(app) -> None:
    with app.test_request_context():
        spans = marks(NARRATIVE)
    assert spans
    ends = -1
    for start, end, title in spans:
        assert start >= ends and start < end and title
        ends = end
        assert NARRATIVE[start:end].strip() == NARRATIVE[start:end]
