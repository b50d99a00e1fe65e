"""The schema diagram in Chromium (issue #14): a 44-table schema opens at a readable size
(labels measured on screen), zooms with the buttons, the wheel and the keys, pans by
dragging (without opening the table under the pointer), fits; another schema collapses
into one node and expands again through links; the legend is shown; the progress page
keeps its view across its refreshes."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from pipeline_core.web.diagram import schema_node_id
from tests.web import diagram_pipeline

pytestmark = [pytest.mark.browser, pytest.mark.integration]

#: The least height, in CSS px, of a table's name on screen in the first view.
READABLE_PX = 8

# heights (px) on screen of the tables' names, and the diagram's transform
LABELS = """() => Array.from(document.querySelectorAll('svg.dag g.node text'))
  .map(t => t.getBoundingClientRect().height)"""
TRANSFORM = "() => document.querySelector('svg.dag').style.transform"


@pytest.fixture(scope="session")
def dgm(demo, pipeline_prefix):
    return diagram_pipeline.declared(demo.Subject.connection, pipeline_prefix)


def settled(page) -> None:
    """Wait until the view asked for is painted (Panzoom applies it in an animation frame)."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def viewport_box(page) -> dict:
    return page.locator(".dag-viewport").bounding_box()


def test_big_schema_is_readable_zooms_pans_and_fits(
    page, live_server, lab_user, browser_login, dgm, shot
):
    page.set_viewport_size({"width": 1280, "height": 900})
    browser_login(page, lab_user)
    url = reverse("web:schema", args=[dgm.bigdb])
    page.goto(live_server.url + url)
    page.locator(".dag-toolbar:not([hidden])").wait_for()
    page.wait_for_timeout(100)  # Panzoom's start view is set after a timeout
    settled(page)
    shot(page, "70-big-schema")
    heights = page.evaluate(LABELS)
    assert len(heights) >= diagram_pipeline.BIG
    assert min(heights) >= READABLE_PX, heights[:5]
    # not squeezed: the diagram is wider than its viewport, which shows part of it
    svg = page.locator("svg.dag").bounding_box()
    box = viewport_box(page)
    assert svg["width"] > box["width"]
    assert page.locator("svg.dag-legend").is_visible()

    before = page.evaluate(TRANSFORM)
    page.get_by_role("button", name="Zoom in").click()
    settled(page)
    after = page.evaluate(TRANSFORM)
    assert after != before
    assert min(page.evaluate(LABELS)) > min(heights)
    assert page.locator("[data-dag-zoom]").inner_text() != ""

    # the wheel zooms out, about the pointer
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    scale = page.evaluate("() => document.querySelector('svg.dag').getBoundingClientRect().width")
    page.mouse.wheel(0, 300)
    page.wait_for_function(
        f"() => document.querySelector('svg.dag').getBoundingClientRect().width < {scale}"
    )

    # a drag pans, and the table where it ends is not opened
    node = page.locator("svg.dag g.node a").filter(has_text=re.compile(r"^\s*Root\s*$"))
    node_box = node.bounding_box()
    start = (node_box["x"] + node_box["width"] / 2, node_box["y"] + node_box["height"] / 2)
    assert box["x"] < start[0] < box["x"] + box["width"]  # Root is in view: the top, centred
    assert box["y"] < start[1] < box["y"] + box["height"]
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + 80, start[1] + 30, steps=8)
    page.mouse.up()
    settled(page)
    moved = node.bounding_box()
    assert abs(moved["x"] - node_box["x"] - 80) < 3 and abs(moved["y"] - node_box["y"] - 30) < 3
    page.wait_for_timeout(300)
    assert page.url == live_server.url + url

    # Fit: the whole diagram inside the viewport
    page.get_by_role("button", name="Fit the whole diagram").click()
    settled(page)
    svg, box = page.locator("svg.dag").bounding_box(), viewport_box(page)
    assert svg["x"] >= box["x"] - 1 and svg["x"] + svg["width"] <= box["x"] + box["width"] + 1
    assert svg["y"] >= box["y"] - 1 and svg["y"] + svg["height"] <= box["y"] + box["height"] + 1
    shot(page, "71-big-schema-fit")
    # keys: focused viewport, + zooms in, 1 back to the readable first view
    page.locator(".dag-viewport").focus()
    fitted = page.evaluate(TRANSFORM)
    page.keyboard.press("+")
    settled(page)
    assert page.evaluate(TRANSFORM) != fitted
    page.keyboard.press("1")
    settled(page)
    assert min(page.evaluate(LABELS)) >= READABLE_PX
    # a table reached with the keyboard is brought into view
    far = page.locator("svg.dag g.node a").filter(has_text=re.compile(r"^\s*Stage43\s*$"))
    far.focus()
    settled(page)
    at, box = far.bounding_box(), viewport_box(page)
    assert box["x"] <= at["x"] and at["x"] + at["width"] <= box["x"] + box["width"]
    assert box["y"] <= at["y"] and at["y"] + at["height"] <= box["y"] + box["height"]
    # a click (no drag) still opens a table, in the readable first view
    page.get_by_role("button", name="Readable size").click()
    settled(page)
    page.locator("svg.dag g.node a").filter(has_text=re.compile(r"^\s*Stage01\s*$")).click()
    table = reverse("web:table", args=[dgm.bigdb, dgm.big[1].table_name])
    page.wait_for_url(live_server.url + table)


def test_other_schema_collapses_and_expands(page, live_server, lab_user, browser_login, dgm, shot):
    browser_login(page, lab_user)
    page.goto(live_server.url + reverse("web:schema", args=[dgm.bigdb]))
    collapsed = page.locator(f"#{schema_node_id(dgm.core)}")
    assert collapsed.count() == 0  # two tables of dgm_core: expanded by default
    animal = page.locator("svg.dag g.node").filter(has_text=re.compile(r"dgm_core\.Animal"))
    assert animal.count() == 1
    page.locator(f"[data-dag-toggle='{dgm.core}']").click()
    page.wait_for_url(re.compile(r"collapse=all"))
    collapsed.wait_for()
    assert "(2 tables)" in collapsed.text_content()
    assert animal.count() == 0
    assert page.locator("svg.dag-legend").is_visible()
    shot(page, "72-collapsed")
    # the collapsed node itself expands it again
    collapsed.locator("a").click()
    page.wait_for_url(re.compile(r"expand=all"))
    animal.wait_for()
    assert page.locator(f"#{schema_node_id(dgm.core)}").count() == 0


def test_progress_diagram_keeps_its_view_across_refreshes(
    page, live_server, lab_user, browser_login, dgm, monkeypatch
):
    from pipeline_core.web import progress

    monkeypatch.setattr(progress, "REFRESH_SECONDS", 1)  # the live server runs in this process
    browser_login(page, lab_user)
    page.goto(live_server.url + reverse("web:schema_progress", args=[dgm.core]))
    page.locator(".dag-toolbar:not([hidden])").wait_for()
    page.get_by_role("button", name="Zoom in").click()
    page.get_by_role("button", name="Zoom in").click()
    settled(page)
    zoomed = page.evaluate(TRANSFORM)
    page.evaluate("document.querySelector('svg.dag').dataset.old = 'yes'")
    # the figure is redrawn (a new <svg>) with the same view
    page.wait_for_function("() => !document.querySelector('svg.dag').dataset.old", timeout=15_000)
    page.locator(".dag-toolbar:not([hidden])").wait_for()
    page.wait_for_timeout(100)
    settled(page)
    assert page.evaluate(TRANSFORM) == zoomed
