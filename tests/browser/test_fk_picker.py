"""The foreign-key picker of entry forms in headless Chromium (Playwright) against the live
server and the real MariaDB: search as you type, keyboard choice, a parent past the
1,000th row, a compound key filled whole, a renamed key in a part row, and Enter in a part
row never submitting the form."""

from __future__ import annotations

import datetime
import types

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from pipeline_core import datamodel as dm

pytestmark = [pytest.mark.browser, pytest.mark.integration]

ANIMALS = 1500


@pytest.fixture(scope="module")
def farm(pipeline_prefix, dj_params):
    """``{prefix}fkpick``: Animal (1,500 rows), Visit (-> Animal + visit_date, one per
    animal) and Sample (-> Visit, a compound foreign key) with part Sample.Aliquot (a
    renamed foreign key ``donor`` to Animal)."""
    conn = dm.connect(
        dj_params["host"], dj_params["user"], dj_params["password"], port=int(dj_params["port"])
    )
    schema = dm.Schema(pipeline_prefix + "fkpick", connection=conn)

    @schema
    class Animal(dm.Manual):
        definition = """
        animal_id: int32
        ---
        animal_name: varchar(32)
        """

    @schema
    class Visit(dm.Manual):
        definition = """
        -> Animal
        visit_date: date
        ---
        room: varchar(10)
        """

    @schema
    class Sample(dm.Manual):
        definition = """
        sample_id: int32
        ---
        -> Visit
        note='': varchar(40)
        """

        class Aliquot(dm.Part):
            definition = """
            -> master
            aliquot_id: int16
            ---
            volume: float64
            -> [nullable] Animal.proj(donor="animal_id")
            """

    Animal.insert([(i, f"animal {i:04d}") for i in range(1, ANIMALS + 1)], skip_duplicates=True)
    day = datetime.date(2026, 1, 5)
    Visit.insert(
        [(i, day, "A" if i % 2 else "B") for i in range(1, ANIMALS + 1)], skip_duplicates=True
    )
    yield types.SimpleNamespace(Animal=Animal, Visit=Visit, Sample=Sample)
    conn.close()


def entry(live_server, cls) -> str:
    return live_server.url + reverse("web:entry", args=[cls.database, cls.table_name])


def test_type_choose_a_compound_parent_past_the_1000th_and_submit(
    page, live_server, lab_user, browser_login, farm, shot
):
    browser_login(page, lab_user)
    page.goto(entry(live_server, farm.Sample))
    page.fill("#id_sample_id", "1")
    picker = page.locator("#id_fk_animal_id__visit_date")
    expect(picker).to_have_attribute("role", "combobox")
    picker.click()
    picker.press_sequentially("1234", delay=20)
    options = page.locator(".fk-picker:has(#id_fk_animal_id__visit_date) [role=option]")
    expect(options.first).to_have_text("1234 · 2026-01-05 · B")
    # the first result is active: down moves on, up comes back, Enter chooses
    picker.press("ArrowDown")
    picker.press("ArrowUp")
    expect(picker).to_have_attribute("aria-activedescendant", options.first.get_attribute("id"))
    picker.press("Enter")
    expect(picker).to_have_value("1234 · 2026-01-05 · B")
    expect(picker).to_have_attribute("aria-expanded", "false")
    assert page.url == entry(live_server, farm.Sample)  # Enter chose; it did not submit
    shot(page, "fk-picker-chosen")
    page.click("button[type=submit].primary")
    page.wait_for_url(live_server.url + reverse("web:table", args=[farm.Sample.database, "sample"]))
    row = (farm.Sample & {"sample_id": 1}).fetch1()
    assert (row["animal_id"], row["visit_date"]) == (1234, datetime.date(2026, 1, 5))


def test_renamed_key_in_a_part_row_and_enter_never_submits(
    page, live_server, lab_user, browser_login, farm
):
    browser_login(page, lab_user)
    page.goto(entry(live_server, farm.Sample))
    page.fill("#id_sample_id", "2")  # the master half-entered: no Visit chosen yet
    page.fill("#id_part0-0-aliquot_id", "1")
    page.press("#id_part0-0-aliquot_id", "Enter")  # moves to the next cell
    expect(page.locator("#id_part0-0-volume")).to_be_focused()
    page.fill("#id_part0-0-volume", "2.5")
    page.press("#id_part0-0-volume", "Enter")
    donor = page.locator("#id_part0-0-fk_donor")
    expect(donor).to_be_focused()
    donor.press_sequentially("animal 1499", delay=10)
    option = page.locator(".fk-picker:has(#id_part0-0-fk_donor) [role=option]").first
    expect(option).to_have_text("1499 · animal 1499")
    option.click()
    expect(donor).to_have_value("1499 · animal 1499")
    donor.press("Enter")  # the last cell: a new part row, focused
    expect(page.locator("tr.part-row")).to_have_count(2)
    expect(page.locator("#id_part0-1-aliquot_id")).to_be_focused()
    assert page.url == entry(live_server, farm.Sample)
    assert not farm.Sample & {"sample_id": 2}  # nothing was submitted
    # choose the Visit with the keyboard only, then submit with the button
    visit = page.locator("#id_fk_animal_id__visit_date")
    visit.fill("7")
    expect(
        page.locator(".fk-picker:has(#id_fk_animal_id__visit_date) [role=option]").first
    ).to_have_text("7 · 2026-01-05 · A")
    visit.press("Enter")
    page.click("button[type=submit].primary")
    page.wait_for_url(live_server.url + reverse("web:table", args=[farm.Sample.database, "sample"]))
    assert (farm.Sample & {"sample_id": 2}).fetch1("animal_id") == 7
    aliquot = (farm.Sample.Aliquot & {"sample_id": 2}).fetch1()
    assert (aliquot["donor"], aliquot["volume"]) == (1499, 2.5)
