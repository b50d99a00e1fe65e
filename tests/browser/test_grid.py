"""The entry grid (issue #12) in headless Chromium against the live server, the rows and
FK APIs and the real MariaDB: paste from spreadsheets (a real ``paste`` event carrying TSV),
errors marked on their cells, foreign keys resolved and picked (compound keys too), edits,
deletes with their cascade preview, duplicates, undo, keyboard-only entry, master + part
rows and CSV import. Every write is checked in the database, not only on the page.

The test pipeline (``grid_lab``, one schema per test session):

* ``Subject`` (Manual): ``subject_id`` ---> ``subject_name``, ``sex``, ``date_of_birth``;
* ``Session`` (Manual): ``-> Subject, session_datetime`` ---> ``notes``, ``weight``;
  part ``Session.Trial``: ``-> master, trial_id`` ---> ``outcome``, ``rt``;
* ``Probe`` (Manual, compound key ``probe_lab, probe_num``) and ``Insertion`` (Manual,
  ``insertion_id`` ---> ``-> Probe``, ``depth``): the compound-key picker.
"""

from __future__ import annotations

import datetime
import types

import pytest
from django.urls import reverse

from pipeline_core import datamodel as dm

pytestmark = [pytest.mark.browser, pytest.mark.integration]

#: Subjects loaded once: (subject_id, subject_name, sex).
SUBJECTS = [(1, "Mickey", "M"), (2, "Minnie", "F"), (3, "Pluto", "M"), (4, "Daisy", "F")]


@pytest.fixture(scope="session")
def grid_lab(demo, pipeline_prefix):
    """The grid test pipeline declared under the session prefix (see the module docstring)."""
    schema = dm.Schema(pipeline_prefix + "gridlab", connection=demo.Subject.connection)

    @schema
    class Subject(dm.Manual):
        definition = """
        # animals
        subject_id: int32              # unique subject id
        ---
        subject_name: varchar(64)      # the name people use
        sex='U': enum('F', 'M', 'U')
        date_of_birth=null: date
        """

    @schema
    class Session(dm.Manual):
        definition = """
        # a recording session
        -> Subject
        session_datetime: datetime     # when it started
        ---
        notes='': varchar(200)         # free text
        weight=null: decimal(6,2)      # grams
        """

        class Trial(dm.Part):
            definition = """
            -> master
            trial_id: int16
            ---
            outcome: enum('hit', 'miss')
            rt=null: float64           # reaction time, s
            """

    @schema
    class Probe(dm.Manual):
        definition = """
        # probes, numbered per lab
        probe_lab: varchar(16)
        probe_num: int16
        ---
        probe_name: varchar(40)
        """

    @schema
    class Insertion(dm.Manual):
        definition = """
        insertion_id: int32
        ---
        -> Probe
        depth: float64                 # µm
        """

    Subject.insert(
        [
            {"subject_id": i, "subject_name": name, "sex": sex}
            for i, name, sex in SUBJECTS
            if not Subject() & {"subject_id": i}
        ]
    )
    Probe.insert(
        [
            {"probe_lab": lab, "probe_num": n, "probe_name": name}
            for lab, n, name in [
                ("alpha", 1, "Neuropixels A"),
                ("alpha", 2, "Tetrode"),
                ("beta", 1, "Neuropixels B"),
            ]
            if not Probe() & {"probe_lab": lab, "probe_num": n}
        ]
    )
    return types.SimpleNamespace(
        schema=schema, Subject=Subject, Session=Session, Probe=Probe, Insertion=Insertion
    )


@pytest.fixture(autouse=True)
def no_script_errors(page):
    """Fail a test whose page logged a JavaScript error (uncaught or console.error)."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc} {exc.stack}"))
    page.on(
        "console",
        lambda m: (
            errors.append(f"console: {m.text}")
            if m.type == "error" and "favicon" not in m.text and "status of 4" not in m.text
            else None
        ),
    )
    yield errors
    assert not errors, "\n".join(errors)


def grid_path(cls) -> str:
    return reverse("web:grid", args=[cls.database, cls.table_name])


def open_grid(page, live_server, cls):
    """Open the grid of ``cls`` and wait until its first page of rows is loaded."""
    page.goto(live_server.url + grid_path(cls))
    page.wait_for_selector("#grid-page[data-loaded]")


def paste(page, selector: str, text: str) -> None:
    """Dispatch a real ``paste`` event carrying ``text`` as text/plain on the element."""
    page.evaluate(
        """([selector, text]) => {
            const target = document.querySelector(selector);
            const data = new DataTransfer();
            data.setData("text/plain", text);
            target.dispatchEvent(new ClipboardEvent("paste", {
                clipboardData: data, bubbles: true, cancelable: true }));
        }""",
        [selector, text],
    )


def cell(page, row: int, field: str):
    """The cell of attribute ``field`` in the ``row``-th row (1-based) of the main grid."""
    return page.locator(
        f"#grid > .tabulator-tableholder .tabulator-row:nth-child({row}) "
        f"> .tabulator-cell[tabulator-field='{field}']"
    )


def click_and_wait(page, selector: str, url_part: str):
    """Click, and return the answer to the request whose URL contains ``url_part``."""
    with page.expect_response(lambda r: url_part in r.url and r.request.method == "POST") as a:
        page.click(selector)
    return a.value


def wait_status(page, start: str) -> str:
    """Wait until the status line starts with ``start``; its text."""
    page.wait_for_function(
        "(start) => document.getElementById('grid-status').textContent.startsWith(start)", arg=start
    )
    return page.locator("#grid-status").inner_text()


def sessions_of(grid_lab, subject_id: int) -> list[dict]:
    return (grid_lab.Session() & {"subject_id": subject_id}).to_dicts(order_by="KEY")


# --------------------------------------------------------------------------------------------
# paste
# --------------------------------------------------------------------------------------------


def session_tsv(count: int, bad_row: int | None = None) -> str:
    """``count`` Session rows as a spreadsheet copies them: a header line naming attributes,
    CRLF line ends, quoted cells holding tabs, newlines and quotes, a trailing line end.
    Subjects are given by name (resolved by the server). ``bad_row`` (0-based) gets a
    date that does not exist."""
    lines = ["subject_id\tsession_datetime\tnotes\tweight"]
    start = datetime.datetime(2026, 3, 1, 9, 0, 0)
    names = [name for _, name, _ in SUBJECTS]
    for i in range(count):
        when = (start + datetime.timedelta(hours=i)).strftime("%Y-%m-%d %H:%M:%S")
        if i == bad_row:
            when = "2026-02-30 10:00:00"
        notes = [f"plain {i}", f'"tab\there {i}"', f'"line\nbreak {i}"', f'"say ""hi"" {i}"'][i % 4]
        lines.append(f"{names[i % 4]}\t{when}\t{notes}\t{10 + i}.5")
    return "\r\n".join(lines) + "\r\n"


def expected_notes(i: int) -> str:
    return [f"plain {i}", f"tab\there {i}", f"line\nbreak {i}", f'say "hi" {i}'][i % 4]


def test_paste_50_rows_with_fk_names_resolved_and_saved(
    page, live_server, admin_user, browser_login, grid_lab, shot
):
    grid_lab.Session.Trial().delete_quick()
    grid_lab.Session().delete_quick()
    browser_login(page, admin_user)
    open_grid(page, live_server, grid_lab.Session)
    # a new row's first cell is being edited: the paste reaches its input
    page.click("#grid-add")
    page.wait_for_selector("#grid .tabulator-editing input")
    paste(page, "#grid .tabulator-editing input", session_tsv(50))
    wait_status(page, "Pasted 50 rows")
    answer = click_and_wait(page, "#grid-check", "/rows/")
    assert answer.status == 200, answer.text()
    page.wait_for_selector("#grid-status.ok")
    # the check resolved the names: the cells now hold the subjects' keys
    assert cell(page, 1, "subject_id").inner_text() == "1"
    assert len(grid_lab.Session()) == 0
    answer = click_and_wait(page, "#grid-save", "/rows/")
    assert answer.status == 201, answer.text()
    page.wait_for_selector("#grid-status.ok")
    shot(page, "grid-paste-50")
    rows = grid_lab.Session().to_dicts(order_by="session_datetime")
    assert len(rows) == 50
    for i, row in enumerate(rows):
        assert row["subject_id"] == SUBJECTS[i % 4][0]
        assert row["notes"] == expected_notes(i)
        assert str(row["weight"]) == f"{10 + i}.50"
