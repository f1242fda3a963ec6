"""The import page: upload -> preview -> check -> import, as plain forms posted the way a browser posts them."""

from __future__ import annotations

import html.parser
import io
import re
from collections.abc import Callable
from typing import Any

import hypothesis
import openpyxl
import pytest
from fastapi.testclient import TestClient
from hypothesis import strategies as st

from jobdeck import model
from jobdeck.query import JobFilter, JobQuery
from jobdeck.service import Service
from tests.web.conftest import sign_in

#: A title block (the sender's company, e-mail, phone and country) above the header on row 3, whose e-mail
#: column ("Reach me at") no automatic match takes: the header row and one mapping need the user.
LETTERHEAD = (
    b"Company,Email,Phone,Country\r\n"
    b"Example Trading Ltd,sales@example.com,+44 20 7946 0000,GB\r\n"
    b"First Name,Last Name,Reach me at,Country\r\n"
    b"Ada,Lovelace,ada@example.com,GB\r\n"
    b"Alan,Turing,not-an-address,GB\r\n"
    b"Grace,Hopper,grace@example.com,US\r\n"
)
PLAIN = b"first_name,last_name,email\r\nA,B,a@example.com\r\n"


class FormReader(html.parser.HTMLParser):
    """The fields a browser would post from the page's preview form: hidden and number inputs, checked
    radios, and each drop-down's selected option (its first when none is)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.in_form = False
        self.select: str | None = None
        self.first: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("class") == "preview-form":
            self.in_form = True
        if not self.in_form:
            return
        if tag == "input" and a.get("type") in ("hidden", "number", "text"):
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "input" and a.get("type") == "radio" and "checked" in a:
            self.fields[a["name"]] = a["value"]
        elif tag == "select":
            self.select, self.first = a["name"], None
        elif tag == "option" and self.select is not None:
            if self.first is None:
                self.first = a["value"]
                self.fields[self.select] = a["value"]
            if "selected" in a:
                self.fields[self.select] = a["value"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self.select = None
        elif tag == "form":
            self.in_form = False


def form_of(page_html: str) -> dict[str, str]:
    reader = FormReader()
    reader.feed(page_html)
    assert reader.fields, "no preview form on the page"
    return reader.fields


def upload(client: TestClient, csrf: str, data: bytes, name: str = "people.csv", **form: str) -> str:
    """Upload through the first step; returns the upload's token from the redirect to its preview."""
    response = client.post(
        "/imports/new",
        data={"csrf_token": csrf, "target": "contacts", "on_error": "skip", **form},
        files={"file": (name, data, "text/csv")},
    )
    assert response.status_code == 303, response.text
    found = re.fullmatch(r"/imports/([A-Za-z0-9_-]+)", response.headers["location"])
    assert found, response.headers["location"]
    return found.group(1)


def submit(client: TestClient, token: str, action: str, **changes: str) -> Any:
    """Post the preview form as shown, with `changes` made to its fields, pressing the button `action`."""
    fields = form_of(client.get(f"/imports/{token}").text)
    fields.update(changes, action=action)
    return client.post(f"/imports/{token}", data=fields)


def jobs_of(service: Service, user: model.User) -> list[model.Job]:
    return list(service.list_jobs(user, JobQuery(filter=JobFilter(tab=model.Tab.IMPORTS), limit=100)).items)


def test_an_upload_is_kept_for_its_preview_and_nothing_is_queued(
    client: TestClient, service: Service, alice: model.User
) -> None:
    token = upload(client, sign_in(client, "alice"), PLAIN)
    page = client.get(f"/imports/{token}")
    assert page.status_code == 200
    assert page.template.name == "import_preview.html"  # type: ignore[attr-defined]
    assert page.context["found"].header == ("first_name", "last_name", "email")  # type: ignore[attr-defined]
    assert "a@example.com" in page.text
    assert jobs_of(service, alice) == []


def test_the_preview_shows_what_was_detected_the_rows_and_the_mapping(client: TestClient, alice: model.User) -> None:
    token = upload(client, sign_in(client, "alice"), LETTERHEAD)
    page = client.get(f"/imports/{token}")
    found = page.context["found"]  # type: ignore[attr-defined]
    assert (found.encoding, found.delimiter, found.header_row) == ("utf-8", ",", 1)
    fields = form_of(page.text)
    assert fields["header_row"] == "1"
    assert fields["map:email"] == "Email" and fields["map:first_name"] == ""
    assert re.search(r"<label for=\"map-1\">first_name</label> <span class=\"badge\"[^>]*>required</span>", page.text)
    assert "The required column &#39;first_name&#39; matches no column of the file" in page.text
    assert "Detect (found utf-8)" in page.text and "Detect (found comma)" in page.text
    assert len(found.rows) == 5


def test_changing_the_header_row_previews_again_and_detects_the_mapping_for_the_new_header(
    client: TestClient, alice: model.User
) -> None:
    token = upload(client, sign_in(client, "alice"), LETTERHEAD)
    response = submit(client, token, "preview", header_row="3")
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    fields = form_of(page.text)
    assert fields["header_row"] == "3"
    assert (fields["map:first_name"], fields["map:last_name"], fields["map:email"]) == ("First Name", "Last Name", "")
    assert page.context["found"].mapping.ignored == ("Reach me at",)  # type: ignore[attr-defined]
    assert [n for n, _ in page.context["found"].rows] == [1, 2, 3]  # type: ignore[attr-defined]


def test_a_mapping_chosen_by_the_user_is_kept_for_the_next_preview(client: TestClient, alice: model.User) -> None:
    token = upload(client, sign_in(client, "alice"), LETTERHEAD)
    submit(client, token, "preview", header_row="3")
    response = submit(client, token, "preview", **{"map:email": "Reach me at", "map:country": ""})
    page = client.get(response.headers["location"])
    fields = form_of(page.text)
    assert (fields["map:email"], fields["map:country"]) == ("Reach me at", "")
    mapping = page.context["found"].mapping  # type: ignore[attr-defined]
    assert mapping.ok and mapping.match("email").how == "user"
    assert mapping.ignored == ("Country",)  # set to "Not imported", so nothing matches it again


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"header_row": "2"}, "Row 2 is blank"),
        ({"header_row": "99"}, "The header row must be a row number from 1 to 50"),
        ({"header_row": "three"}, "The header row must be a row number"),
        ({"header_row": "¹"}, "The header row must be a row number"),
        ({"encoding": "no-such-codec"}, "Unknown encoding"),
        ({"delimiter": "x"}, "The delimiter must be comma, semicolon, tab or pipe"),
        ({"sheet": "Data"}, "A CSV file has no sheets"),
        ({"map:email": "first_name", "map:first_name": "first_name"}, "is chosen for both"),
        ({"map:email": "no such column"}, "the file has no column"),
        ({"on_error": "ignore"}, "choose to skip it or to fail"),
        ({"action": "delete"}, "Unknown action"),
        ({"sheet": "a\x00b"}, "NUL"),
    ],
)
def test_a_choice_the_file_cannot_take_is_422_with_a_clear_message_and_the_preview_as_detected(
    client: TestClient, alice: model.User, changes: dict[str, str], message: str
) -> None:
    token = upload(client, sign_in(client, "alice"), b"first_name,last_name,email\r\n\r\nA,B,a@example.com\r\n")
    fields = form_of(client.get(f"/imports/{token}").text)
    fields.update({"action": "check"}, **changes)
    response = client.post(f"/imports/{token}", data=fields)
    assert response.status_code == 422
    assert message in response.context["error"]  # type: ignore[attr-defined]
    assert 'role="alert"' in response.text
    assert response.context["found"].header == ("first_name", "last_name", "email")  # type: ignore[attr-defined]


def test_a_sheet_the_workbook_lacks_is_422_naming_its_sheets(client: TestClient, alice: model.User) -> None:
    book = openpyxl.Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    book.create_sheet("Cover").append(["Our contacts"])
    people = book.create_sheet("People")
    people.append(["E-mail Address", "First Name", "Last Name"])
    people.append(["a@example.com", "A", "B"])
    data = io.BytesIO()
    book.save(data)
    token = upload(client, sign_in(client, "alice"), data.getvalue(), name="people.xlsx")
    page = client.get(f"/imports/{token}")
    assert form_of(page.text)["sheet"] == "" and "Detect (found People)" in page.text
    response = submit(client, token, "preview", sheet="Data")
    assert response.status_code == 422
    assert "The workbook has no sheet 'Data'; its sheets: 'Cover', 'People'." in response.context["error"]  # type: ignore[attr-defined]


def test_another_users_upload_is_404_to_them(
    as_user: Callable[[str], TestClient], alice: model.User, bob: model.User
) -> None:
    alice_client = as_user("alice")
    token = upload(alice_client, alice_client.headers["X-CSRF-Token"], PLAIN)
    bob = as_user("bob")
    assert bob.get(f"/imports/{token}").status_code == 404
    fields = form_of(alice_client.get(f"/imports/{token}").text)
    fields.update(action="import", csrf_token=bob.headers["X-CSRF-Token"])
    assert bob.post(f"/imports/{token}", data=fields).status_code == 404
    assert alice_client.get(f"/imports/{token}").status_code == 200


def test_an_upload_belongs_to_the_session_that_made_it(app: Any, alice: model.User) -> None:
    first, second = TestClient(app, follow_redirects=False), TestClient(app, follow_redirects=False)
    token = upload(first, sign_in(first, "alice"), PLAIN)
    sign_in(second, "alice")
    response = second.get(f"/imports/{token}")
    assert response.status_code == 404
    assert "upload the file again" in response.text


def test_a_guessed_token_is_404(client: TestClient, alice: model.User) -> None:
    sign_in(client, "alice")
    for token in ("A" * 32, "../../etc", "x"):
        assert client.get(f"/imports/{token}").status_code == 404


def test_a_post_without_this_sessions_csrf_token_is_refused(client: TestClient, alice: model.User) -> None:
    token = upload(client, sign_in(client, "alice"), PLAIN)
    fields = form_of(client.get(f"/imports/{token}").text)
    fields.update(action="import", csrf_token="not the token")
    assert client.post(f"/imports/{token}", data=fields).status_code == 403
    del fields["csrf_token"]
    assert client.post(f"/imports/{token}", data=fields).status_code == 403


def test_a_required_column_left_unmapped_stops_check_and_import_before_any_job(
    client: TestClient, service: Service, alice: model.User
) -> None:
    token = upload(client, sign_in(client, "alice"), LETTERHEAD)
    submit(client, token, "preview", header_row="3")
    for action in ("check", "import"):
        response = submit(client, token, action)
        assert response.status_code == 422
        assert "The required column &#39;email&#39; matches no column of the file" in response.text
    assert jobs_of(service, alice) == []


def test_changing_the_header_row_and_pressing_import_previews_first(
    client: TestClient, service: Service, alice: model.User
) -> None:
    token = upload(client, sign_in(client, "alice"), LETTERHEAD)
    response = submit(client, token, "import", header_row="3")
    assert response.status_code == 303
    assert response.headers["location"] == f"/imports/{token}?notice=header"
    assert "the mapping was detected again" in client.get(response.headers["location"]).text
    assert jobs_of(service, alice) == []


def test_check_runs_the_dry_run_and_shows_its_counts_and_first_errors(
    client: TestClient, service: Service, alice: model.User, run_jobs: Callable[[], None]
) -> None:
    token = upload(client, sign_in(client, "alice"), LETTERHEAD)
    submit(client, token, "preview", header_row="3")
    response = submit(client, token, "check", **{"map:email": "Reach me at"})
    assert response.status_code == 303 and response.headers["location"] == f"/imports/{token}#check"
    waiting = client.get(f"/imports/{token}")
    assert 'data-live="true"' in waiting.text and "Refresh" in waiting.text
    run_jobs()
    page = client.get(f"/imports/{token}")
    check = page.context["check"]  # type: ignore[attr-defined]
    assert check.job.params["dry_run"] is True and check.job.status is model.Status.COMPLETED
    assert dict(check.counts) == {
        "Rows read": "3",
        "Rows that would be imported": "2",
        "Rows rejected": "1",
        "New": "2",
        "Updating existing rows": "0",
    }
    assert [(e["row"], e["column"], e["value"]) for e in check.first_errors] == [("2", "email", "not-an-address")]
    assert 'data-live="true"' not in page.text
    assert form_of(page.text)["map:email"] == "Reach me at"  # the page keeps the choices checked


def test_import_starts_the_job_with_the_choices_and_the_upload_is_gone_after(
    client: TestClient, service: Service, alice: model.User, run_jobs: Callable[[], None]
) -> None:
    token = upload(client, sign_in(client, "alice"), LETTERHEAD, on_error="skip")
    submit(client, token, "preview", header_row="3")
    response = submit(client, token, "import", **{"map:email": "Reach me at"})
    assert response.status_code == 303
    job_id = int(response.headers["location"].rsplit("/", 1)[1])
    job = service.get_job(alice, job_id)
    assert (job.params["header_row"], job.params["dry_run"], job.run_at) == (3, False, "/imports/new")
    assert job.params["mapping"] == {
        "First Name": "first_name",
        "Last Name": "last_name",
        "Reach me at": "email",
        "Country": "country",
    }
    assert client.get(f"/imports/{token}").status_code == 404  # a second post cannot import it twice
    run_jobs()
    detail = client.get(response.headers["location"])
    assert detail.context["job"].status is model.Status.COMPLETED  # type: ignore[attr-defined]
    assert '<h2 id="mapping-heading">Column mapping</h2>' in detail.text
    assert "<tr><td>Reach me at</td><td><code>email</code></td></tr>" in detail.text
    assert "Header row: 3." in detail.text
    assert "<h2>Input Files</h2>" in detail.text and "<h2>Output Files</h2>" in detail.text


def test_the_preview_page_loads_the_one_script_and_no_inline_script(client: TestClient, alice: model.User) -> None:
    token = upload(client, sign_in(client, "alice"), LETTERHEAD)
    page = client.get(f"/imports/{token}").text
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/jobdeck.js" defer>']
    assert " style=" not in page and " onclick=" not in page


def test_a_file_that_is_not_a_csv_or_xlsx_is_refused_at_the_upload(client: TestClient, alice: model.User) -> None:
    csrf = sign_in(client, "alice")
    response = client.post(
        "/imports/new",
        data={"csrf_token": csrf, "target": "contacts"},
        files={"file": ("photo.png", b"\x89PNG\r\n\x1a\n", "image/png")},
    )
    assert response.status_code == 422
    assert "is not a file jobdeck imports" in response.text


def test_an_empty_upload_shows_why_on_its_preview_page_with_a_way_back(client: TestClient, alice: model.User) -> None:
    token = upload(client, sign_in(client, "alice"), b"")
    page = client.get(f"/imports/{token}")
    assert page.status_code == 422
    assert "The file is empty." in page.context["error"]  # type: ignore[attr-defined]
    assert 'href="/imports/new?target=contacts">Upload another file</a>' in page.text
    assert 'class="preview-form"' not in page.text


FIELD_VALUES = st.one_of(
    st.sampled_from(["", "0", "3", "51", "-1", "¹", "9" * 40, "\x00", "comma", "utf-16", "Sheet1", "Reach me at"]),
    st.text(max_size=30),
)


def test_no_posted_preview_form_is_a_server_error(client: TestClient, alice: model.User) -> None:
    """Whatever a form's fields hold (tampered hidden fields included), the answer is a redirect or a 4xx."""
    token = upload(client, sign_in(client, "alice"), LETTERHEAD)
    shown = form_of(client.get(f"/imports/{token}").text)

    @hypothesis.settings(
        max_examples=40, deadline=None, suppress_health_check=list(hypothesis.HealthCheck), database=None
    )
    @hypothesis.given(data=st.data())
    def post(data: st.DataObject) -> None:
        fields = dict(shown)
        for name in [*shown, "action", "map:nickname"]:
            if name != "csrf_token" and data.draw(st.booleans(), label=f"change {name}"):
                fields[name] = data.draw(FIELD_VALUES, label=name)
        fields["action"] = data.draw(st.sampled_from(["preview", "check", fields.get("action", "")]), label="action")
        response = client.post(f"/imports/{token}", data=fields)
        assert response.status_code in (303, 404, 422), (fields, response.text[:300])

    post()


def test_the_mapping_of_an_earlier_import_of_the_same_header_is_offered_again(
    client: TestClient, service: Service, alice: model.User
) -> None:
    token = upload(client, sign_in(client, "alice"), LETTERHEAD)
    submit(client, token, "preview", header_row="3")
    job_id = int(submit(client, token, "import", **{"map:email": "Reach me at"}).headers["location"].rsplit("/", 1)[1])
    again = upload(client, sign_in(client, "alice"), LETTERHEAD)
    submit(client, again, "preview", header_row="3")
    page = client.get(f"/imports/{again}")
    assert form_of(page.text)["map:email"] == "Reach me at"
    assert f"This is the mapping of your previous import #{job_id}, a file with the same header" in page.text
