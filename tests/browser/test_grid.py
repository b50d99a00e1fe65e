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
  ``insertion_id`` ---> ``-> Probe``, ``depth``): the compound-key picker;
* ``Reading`` (Lookup, 450 rows): keyset pages loaded as the grid scrolls.
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

    @schema
    class Reading(dm.Lookup):
        definition = """
        # enough rows for three keyset pages of the grid
        reading_id: int32
        ---
        value: float64
        """

    if not Reading():
        Reading.insert({"reading_id": i, "value": i / 4} for i in range(450))
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
        schema=schema,
        Subject=Subject,
        Session=Session,
        Probe=Probe,
        Insertion=Insertion,
        Reading=Reading,
    )


@pytest.fixture(autouse=True)
def no_script_errors(page):
    """Fail a test whose page logged a JavaScript error (uncaught or console.error)."""
    errors: list[str] = []
    page.add_init_script("Error.stackTraceLimit = 60")
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
    page.wait_for_selector("#grid .tabulator-cell.tabulator-editing input")
    paste(page, "#grid .tabulator-cell.tabulator-editing input", session_tsv(50))
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


def test_one_bad_cell_in_50_rows_is_marked_and_nothing_is_written(
    page, live_server, admin_user, browser_login, grid_lab, shot
):
    grid_lab.Session.Trial().delete_quick()
    grid_lab.Session().delete_quick()
    browser_login(page, admin_user)
    open_grid(page, live_server, grid_lab.Session)
    paste(page, "#grid .tabulator-tableholder", session_tsv(50, bad_row=41))
    wait_status(page, "Pasted 50 rows")
    answer = click_and_wait(page, "#grid-check", "/rows/")
    assert answer.status in (200, 400)  # a dry run's problems (contract: 400; rows: 200)
    errors = answer.json()["errors"]
    assert [(e["list"], e["row"], e["attribute"]) for e in errors] == [
        ("rows", 41, "session_datetime")
    ]
    wait_status(page, "Check found 1 problem")
    bad = "#grid .tabulator-cell.grid-cell-error"
    page.wait_for_selector(bad)  # the grid scrolled to the first error
    marked = page.locator(bad)
    assert marked.count() == 1
    assert marked.get_attribute("tabulator-field") == "session_datetime"
    assert marked.inner_text() == "2026-02-30 10:00:00"
    assert marked.get_attribute("aria-invalid") == "true"
    assert errors[0]["message"] in marked.get_attribute("title")
    assert "row 42, session_datetime" in page.locator("#grid-errors").inner_text()
    shot(page, "grid-bad-cell")
    # scrolled away the cell's element is recycled; scrolled back it is marked again
    holder = "#grid .tabulator-tableholder"
    page.eval_on_selector(holder, "el => { el.scrollTop = 0; }")
    page.wait_for_function("() => !document.querySelector('#grid .tabulator-cell.grid-cell-error')")
    page.eval_on_selector(holder, "el => { el.scrollTop = el.scrollHeight; }")
    page.wait_for_selector(bad)
    assert page.locator(bad).inner_text() == "2026-02-30 10:00:00"
    assert page.locator(bad).get_attribute("aria-invalid") == "true"
    # Save refuses the same batch: nothing written
    answer = click_and_wait(page, "#grid-save", "/rows/")
    assert answer.status == 400
    assert len(grid_lab.Session()) == 0
    # fixing the cell clears its mark, and the batch saves
    page.locator(bad).click()
    editor = page.locator("#grid .tabulator-cell.tabulator-editing input")
    editor.fill("2026-02-28 10:00:00")
    editor.press("Enter")
    assert page.locator(bad).count() == 0
    answer = click_and_wait(page, "#grid-save", "/rows/")
    assert answer.status == 201, answer.text()
    assert len(grid_lab.Session()) == 50


# --------------------------------------------------------------------------------------------
# foreign keys: the compound-key picker
# --------------------------------------------------------------------------------------------


def test_compound_key_picker_fills_every_attribute_of_the_foreign_key(
    page, live_server, admin_user, browser_login, grid_lab, shot
):
    grid_lab.Insertion().delete_quick()
    browser_login(page, admin_user)
    open_grid(page, live_server, grid_lab.Insertion)
    page.click("#grid-add")
    first = page.locator("#grid .tabulator-cell.tabulator-editing input")
    first.fill("7")
    first.press("Tab")  # on to probe_lab: the picker of the foreign key to Probe
    picker = page.locator("#grid .tabulator-cell.tabulator-editing input[role=combobox]")
    picker.wait_for()
    picker.press_sequentially("Neuro")
    options = page.locator(".grid-picker li[role=option]")
    page.wait_for_function(
        "() => document.querySelectorAll('.grid-picker li[role=option]').length === 2"
    )
    labels = options.all_inner_texts()
    assert all("Neuropixels" in label for label in labels), labels
    assert "beta" in labels[1] and "1" in labels[1]
    shot(page, "grid-compound-picker")
    picker.press("ArrowDown")
    picker.press("ArrowDown")
    picker.press("Enter")
    assert cell(page, 1, "probe_lab").inner_text() == "beta"
    assert cell(page, 1, "probe_num").inner_text() == "1"
    cell(page, 1, "depth").click()
    depth = page.locator("#grid .tabulator-cell.tabulator-editing input")
    depth.fill("120.5")
    depth.press("Enter")
    answer = click_and_wait(page, "#grid-save", "/rows/")
    assert answer.status == 201, answer.text()
    assert grid_lab.Insertion().to_dicts() == [
        {"insertion_id": 7, "probe_lab": "beta", "probe_num": 1, "depth": 120.5}
    ]


# --------------------------------------------------------------------------------------------
# edit, duplicate, delete with preview, undo
# --------------------------------------------------------------------------------------------


def ensure_subject(grid_lab, subject_id: int, name: str, sex: str = "F") -> None:
    """Subject ``subject_id`` named ``name`` (made again, with no sessions)."""
    (grid_lab.Session() & {"subject_id": subject_id}).delete()
    (grid_lab.Subject() & {"subject_id": subject_id}).delete_quick()
    grid_lab.Subject.insert1({"subject_id": subject_id, "subject_name": name, "sex": sex})


def row_of(page, subject_id: int) -> int:
    """1-based position of the rendered row whose subject_id cell shows ``subject_id``."""
    texts = page.locator(
        "#grid > .tabulator-tableholder .tabulator-row"
        " > .tabulator-cell[tabulator-field='subject_id']"
    ).all_inner_texts()
    return texts.index(str(subject_id)) + 1


def test_edit_a_saved_row(page, live_server, admin_user, browser_login, grid_lab):
    ensure_subject(grid_lab, 10, "Goofy", "M")
    ensure_subject(grid_lab, 11, "Clarabelle")  # the row below
    browser_login(page, admin_user)
    open_grid(page, live_server, grid_lab.Subject)
    row = row_of(page, 10)
    # primary-key cells of saved rows are not editable
    cell(page, row, "subject_id").click()
    assert page.locator("#grid .tabulator-cell.tabulator-editing").count() == 0
    cell(page, row, "subject_name").click()
    editor = page.locator("#grid .tabulator-cell.tabulator-editing input")
    editor.fill("Goofy Goof")
    editor.press("Enter")
    # Enter moves down: the next row's subject_name is being edited (Escape leaves it)
    below = cell(page, row + 1, "subject_name")
    page.wait_for_selector(
        f"#grid > .tabulator-tableholder .tabulator-row:nth-child({row + 1}) "
        ".tabulator-cell.tabulator-editing[tabulator-field='subject_name']"
    )
    page.keyboard.press("Escape")
    assert "tabulator-editing" not in (below.get_attribute("class") or "")
    with page.expect_request(lambda r: "/rows/" in r.url and r.method == "POST") as sent:
        answer = click_and_wait(page, "#grid-save", "/rows/")
    assert sent.value.post_data_json["updates"] == [
        {"key": {"subject_id": 10}, "set": {"subject_name": "Goofy Goof"}}
    ]
    assert sent.value.post_data_json["rows"] == []
    assert answer.status == 201, answer.text()
    wait_status(page, "Saved: 0 rows inserted, 1 updated")
    assert (grid_lab.Subject() & {"subject_id": 10}).fetch1("subject_name") == "Goofy Goof"


def test_duplicate_a_row_as_a_new_prefilled_row(
    page, live_server, admin_user, browser_login, grid_lab
):
    (grid_lab.Subject() & {"subject_id": 30}).delete_quick()
    browser_login(page, admin_user)
    open_grid(page, live_server, grid_lab.Subject)
    cell(page, row_of(page, 1), "subject_name").click()  # Mickey
    page.keyboard.press("Escape")
    page.click("#grid-duplicate")
    editor = page.locator(
        "#grid .tabulator-cell.tabulator-editing input"
    )  # the new row's subject_id
    editor.wait_for()
    assert editor.input_value() == "1"
    editor.fill("30")
    editor.press("Enter")
    answer = click_and_wait(page, "#grid-save", "/rows/")
    assert answer.status == 201, answer.text()
    assert (grid_lab.Subject() & {"subject_id": 30}).fetch1() == {
        "subject_id": 30,
        "subject_name": "Mickey",
        "sex": "M",
        "date_of_birth": None,
    }


def test_delete_with_a_cascade_preview(
    page, live_server, admin_user, browser_login, grid_lab, shot
):
    ensure_subject(grid_lab, 20, "Temp")
    grid_lab.Session.insert(
        [
            {"subject_id": 20, "session_datetime": "2026-06-01 10:00:00"},
            {"subject_id": 20, "session_datetime": "2026-06-02 10:00:00"},
        ]
    )
    grid_lab.Session.Trial.insert1(
        {
            "subject_id": 20,
            "session_datetime": "2026-06-01 10:00:00",
            "trial_id": 1,
            "outcome": "hit",
        }
    )
    browser_login(page, admin_user)
    open_grid(page, live_server, grid_lab.Subject)
    row = page.locator("#grid > .tabulator-tableholder .tabulator-row").nth(row_of(page, 20) - 1)
    row.locator("input.grid-select").check()
    with page.expect_response(lambda r: "/rows/delete/" in r.url) as preview:
        page.click("#grid-delete")
    assert preview.value.json()["counts"] == {
        grid_lab.Subject.full_table_name: 1,
        grid_lab.Session.full_table_name: 2,
        grid_lab.Session.Trial.full_table_name: 1,
    }
    dialog = page.locator("#grid-confirm")
    dialog.wait_for()
    text = dialog.inner_text()
    assert grid_lab.Session.full_table_name in text and "2" in text
    shot(page, "grid-delete-preview")
    assert len(grid_lab.Subject() & {"subject_id": 20}) == 1  # nothing deleted yet
    with page.expect_response(lambda r: "/rows/delete/" in r.url) as deleted:
        page.click("#grid-confirm-ok")
    assert sum(deleted.value.json()["counts"].values()) == 4
    wait_status(page, "Deleted 4 rows")
    assert len(grid_lab.Subject() & {"subject_id": 20}) == 0
    assert len(grid_lab.Session() & {"subject_id": 20}) == 0
    # "Undo last save" takes back saves, not deletions
    assert page.locator("#grid-undo").is_disabled()


def test_undo_a_saved_batch_and_its_refusal(page, live_server, admin_user, browser_login, grid_lab):
    for subject_id in (50, 51):
        (grid_lab.Session() & {"subject_id": subject_id}).delete()
        (grid_lab.Subject() & {"subject_id": subject_id}).delete_quick()
    browser_login(page, admin_user)
    open_grid(page, live_server, grid_lab.Subject)
    paste(page, "#grid .tabulator-tableholder", "50\tUndone\tF\r\n")
    wait_status(page, "Pasted 1 row")
    assert click_and_wait(page, "#grid-save", "/rows/").status == 201
    assert len(grid_lab.Subject() & {"subject_id": 50}) == 1
    answer = click_and_wait(page, "#grid-undo", "/undo/")
    assert answer.status == 200, answer.text()
    assert len(grid_lab.Subject() & {"subject_id": 50}) == 0
    # a batch whose rows gained a dependent row meanwhile cannot be undone
    paste(page, "#grid .tabulator-tableholder", "51\tKept\tM\r\n")
    wait_status(page, "Pasted 1 row")
    assert click_and_wait(page, "#grid-save", "/rows/").status == 201
    grid_lab.Session.insert1({"subject_id": 51, "session_datetime": "2026-07-01 08:00:00"})
    answer = click_and_wait(page, "#grid-undo", "/undo/")
    assert answer.status == 409
    message = wait_status(page, "Cannot undo")
    assert answer.json()["detail"] in message
    assert len(grid_lab.Subject() & {"subject_id": 51}) == 1


# --------------------------------------------------------------------------------------------
# keyboard only, master + parts, CSV import
# --------------------------------------------------------------------------------------------


def test_keyboard_only_entry_of_three_rows(page, live_server, admin_user, browser_login, grid_lab):
    (grid_lab.Subject() & "subject_id between 61 and 63").delete_quick()
    browser_login(page, admin_user)
    open_grid(page, live_server, grid_lab.Subject)
    page.focus("#grid-add")
    page.keyboard.press("Enter")  # a new row, its first cell being edited
    keyboard = page.keyboard
    for i, name in enumerate(["Huey", "Dewey", "Louie"]):
        page.wait_for_selector("#grid .tabulator-cell.tabulator-editing input")
        keyboard.type(str(61 + i))
        keyboard.press("Tab")
        keyboard.type(name)
        keyboard.press("Tab")  # sex: left to its default
        keyboard.press("Tab")
        if i == 0:
            keyboard.type("2026-01-05")  # sticky: the next new rows take this date
        keyboard.press("Enter")
        if i < 2:
            keyboard.press("Control+Enter")  # the next row, its first cell being edited
    with page.expect_response(lambda r: "/rows/" in r.url and r.request.method == "POST") as a:
        keyboard.press("Control+s")
    assert a.value.status == 201, a.value.text()
    rows = (grid_lab.Subject() & "subject_id between 61 and 63").to_dicts(order_by="KEY")
    assert [
        (r["subject_id"], r["subject_name"], r["sex"], str(r["date_of_birth"])) for r in rows
    ] == [
        (61, "Huey", "U", "2026-01-05"),
        (62, "Dewey", "U", "2026-01-05"),
        (63, "Louie", "U", "2026-01-05"),
    ]


def test_master_and_part_rows_in_a_sub_grid(
    page, live_server, admin_user, browser_login, grid_lab, shot
):
    when = "2026-05-01 10:00:00"
    (grid_lab.Session() & {"subject_id": 2, "session_datetime": when}).delete()
    browser_login(page, admin_user)
    open_grid(page, live_server, grid_lab.Session)
    paste(page, "#grid .tabulator-tableholder", f"Minnie\t{when}\tmaster with parts\t\r\n")
    wait_status(page, "Pasted 1 row")
    new_row = page.locator("#grid > .tabulator-tableholder .tabulator-row.grid-row-new")
    new_row.locator("button.grid-toggle").click()
    sub = new_row.locator(".grid-part[data-part='Trial']")
    sub.wait_for()
    new_row.locator("button:has-text('+ Trial row')").click()
    sub.locator(".tabulator-cell.tabulator-editing input").wait_for()
    paste(
        page,
        "#grid .grid-part[data-part='Trial'] .tabulator-cell.tabulator-editing input",
        "trial_id\toutcome\trt\r\n1\thit\t0.5\r\n2\tmiss\t\r\n3\thit\t0.75\r\n",
    )
    wait_status(page, "Pasted 3 rows")
    assert sub.locator(".tabulator-row").count() == 3
    shot(page, "grid-parts")
    with page.expect_response(
        lambda r: "/rows/" in r.url and r.request.method == "POST" and r.status == 201
    ) as saved:
        page.click("#grid-save")
    assert saved.value.json()["inserted"] == 4  # the master row and its 3 part rows
    wait_status(page, "Saved: 4 rows inserted (3 of them part rows)")
    key = {"subject_id": 2, "session_datetime": when}
    assert (grid_lab.Session() & key).fetch1("notes") == "master with parts"
    trials = (grid_lab.Session.Trial() & key).to_dicts(order_by="KEY")
    assert [(t["trial_id"], t["outcome"], t["rt"]) for t in trials] == [
        (1, "hit", 0.5),
        (2, "miss", None),
        (3, "hit", 0.75),
    ]
    # duplicating the master row copies the part rows shown under it
    later = {"subject_id": 2, "session_datetime": "2026-05-02 10:00:00"}
    (grid_lab.Session() & later).delete()
    saved_row = page.locator("#grid > .tabulator-tableholder .tabulator-row.grid-row-saved")
    saved_row.locator(".tabulator-cell[tabulator-field='notes']").click()
    page.keyboard.press("Escape")
    page.click("#grid-duplicate")
    page.wait_for_selector("#grid .tabulator-cell.tabulator-editing input")
    page.keyboard.press("Escape")
    copy = page.locator("#grid > .tabulator-tableholder .tabulator-row.grid-row-new")
    copy.locator(".tabulator-cell[tabulator-field='session_datetime']").click()
    editor = page.locator("#grid .tabulator-cell.tabulator-editing input")
    editor.fill(later["session_datetime"])
    editor.press("Enter")
    with page.expect_response(
        lambda r: (
            "/rows/" in r.url
            and r.request.method == "POST"
            and not r.request.post_data_json["dry_run"]
        )
    ) as saved:
        page.click("#grid-save")  # a check of the master row first, then the save
    assert saved.value.status == 201, saved.value.text()
    assert (grid_lab.Session() & later).fetch1("notes") == "master with parts"
    assert len(grid_lab.Session.Trial() & later) == 3


def test_csv_import_goes_to_the_same_check_before_save(
    page, live_server, admin_user, browser_login, grid_lab, tmp_path
):
    (grid_lab.Subject() & "subject_id between 71 and 73").delete_quick()
    csv = tmp_path / "subjects.csv"
    csv.write_text(
        "subject_name,subject_id,sex,date_of_birth\r\n"
        '"Scrooge, McDuck",71,M,2025-12-24\r\n'
        "Gladstone,72,M,\r\n"
        "Magica,73,X,\r\n",
        encoding="utf-8",
    )
    browser_login(page, admin_user)
    open_grid(page, live_server, grid_lab.Subject)
    page.set_input_files("#grid-import", str(csv))
    wait_status(page, "Imported 3 lines of subjects.csv")
    answer = click_and_wait(page, "#grid-check", "/rows/")
    assert answer.status in (200, 400)
    assert [(e["row"], e["attribute"]) for e in answer.json()["errors"]] == [(2, "sex")]
    page.wait_for_selector("#grid .tabulator-cell.grid-cell-error[tabulator-field='sex']")
    assert len(grid_lab.Subject() & "subject_id between 71 and 73") == 0
    bad = page.locator("#grid .tabulator-cell.grid-cell-error[tabulator-field='sex']")
    bad.click()
    editor = page.locator("#grid .tabulator-cell.tabulator-editing input")
    editor.fill("F")
    editor.press("Enter")
    assert click_and_wait(page, "#grid-check", "/rows/").status == 200
    assert click_and_wait(page, "#grid-save", "/rows/").status == 201
    rows = (grid_lab.Subject() & "subject_id between 71 and 73").to_dicts(order_by="KEY")
    assert [(r["subject_name"], r["sex"]) for r in rows] == [
        ("Scrooge, McDuck", "M"),
        ("Gladstone", "M"),
        ("Magica", "F"),
    ]
    assert str(rows[0]["date_of_birth"]) == "2025-12-24"


def test_keyset_pages_load_as_the_grid_scrolls(
    page, live_server, admin_user, browser_login, grid_lab
):
    browser_login(page, admin_user)
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/rows/?" in r.url else None)
    open_grid(page, live_server, grid_lab.Reading)
    assert page.locator("#grid-loaded").inner_text().startswith("200 saved rows loaded; scroll")
    assert page.get_attribute("#grid-page", "data-loaded") == "partial"
    holder = "#grid .tabulator-tableholder"
    for loaded in ("400 saved rows", "450 saved rows loaded."):
        page.eval_on_selector(holder, "el => { el.scrollTop = el.scrollHeight; }")
        page.wait_for_function(
            "(text) => document.getElementById('grid-loaded').textContent.startsWith(text)",
            arg=loaded,
        )
    assert page.get_attribute("#grid-page", "data-loaded") == "all"
    assert len(asked) == 3
    assert "after=" not in asked[0] and all("after=" in url for url in asked[1:])
    assert all("limit=200" in url for url in asked)


def test_saved_part_rows_show_under_their_master(
    page, live_server, admin_user, browser_login, grid_lab
):
    key = {"subject_id": 3, "session_datetime": "2026-08-01 09:30:00"}
    grid_lab.Session.Trial().delete_quick()
    grid_lab.Session().delete_quick()  # the row is then among the first rendered
    grid_lab.Session.insert1({**key, "notes": "with trials"})
    grid_lab.Session.Trial.insert(
        [{**key, "trial_id": t, "outcome": "hit", "rt": t / 10} for t in (1, 2)]
    )
    browser_login(page, admin_user)
    open_grid(page, live_server, grid_lab.Session)
    row = page.locator("#grid > .tabulator-tableholder .tabulator-row").filter(
        has_text="with trials"
    )
    row.scroll_into_view_if_needed()
    with page.expect_response(lambda r: "/api/v1/query/" in r.url) as answer:
        row.locator("button.grid-toggle").click()
    assert answer.value.status == 200
    sub = row.locator(".grid-part[data-part='Trial'] .tabulator-row")
    sub.first.wait_for()
    assert sub.count() == 2
    # saved part rows are shown, not edited here
    sub.first.locator(".tabulator-cell[tabulator-field='outcome']").click()
    assert page.locator(".grid-part .tabulator-cell.tabulator-editing").count() == 0


def test_the_entry_role_adds_rows_but_does_not_edit_saved_ones(
    page, live_server, lab_user, browser_login, grid_lab
):
    browser_login(page, lab_user)
    open_grid(page, live_server, grid_lab.Subject)
    # headers: the primary key marked, comments and types as tooltips
    header = "#grid .tabulator-col[tabulator-field='{}']"
    assert page.locator(header.format("subject_id") + " abbr.key-mark").inner_text() == "PK"
    tooltip = page.get_attribute(header.format("subject_name") + " .grid-col-title", "title")
    assert "varchar(64)" in tooltip and "the name people use" in tooltip
    assert page.locator(header.format("sex") + " abbr.key-mark").count() == 0
    assert page.locator("#grid-delete").count() == 0
    assert page.locator("#grid-undo").count() == 0
    cell(page, 1, "subject_name").click()
    assert page.locator("#grid .tabulator-cell.tabulator-editing").count() == 0
    page.click("#grid-add")
    page.wait_for_selector("#grid .tabulator-cell.tabulator-editing input")
