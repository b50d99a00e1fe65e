"""The row page (issue 14, part 3): every attribute with its preview, the parent row of
each foreign key (renamed ones too, a missing parent of legacy data), child tables with the
number of child rows and a link to them (cross-schema, renamed foreign keys, the schemas
the user may view), part rows under their master, the master row of a part row, and
primary-key cells of table pages linking here. Real MariaDB, real pages."""

from __future__ import annotations

import re
import types
from html import unescape
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from django.urls import reverse

from pipeline_core import datamodel as dm
from pipeline_core.keys import encode_key
from pipeline_core.models import RoleGrant
from pipeline_core.querystate import decode_description
from pipeline_core.schema_patterns import escape
from pipeline_core.services import rowpage as rowpage_service
from pipeline_core.web.keys import key_encoder

pytestmark = pytest.mark.integration

TRACE = np.sin(np.linspace(0, 6, 100))
BIG_TRACE = np.cos(np.linspace(0, 60, 20_000))  # 160 kB: more than the 64 KiB peek
IMAGE = (np.arange(48 * 64).reshape(48, 64) % 256).astype(np.uint8)
META = {"gain": 2.5, "channels": [1, 2, 3], "site": {"name": "V1", "depth": np.arange(3)}}
CUBE = np.zeros((4, 5, 6))


@pytest.fixture(scope="session")
def row_lab(demo, extra_tables, pipeline_prefix, dj_connect):
    """``{prefix}rowpage``: ``Probe`` (1-D, large 1-D, 2-D, dict and 3-D blobs, json, a
    renamed nullable foreign key to demo's Subject) with part ``Probe.Channel``. Probe 1
    has every value and owner 1; probe 2 only NULLs; probe 3 an owner that is not a
    Subject (inserted without the foreign key's check: legacy data)."""
    schema = dm.Schema(
        pipeline_prefix + "rowpage",
        connection=demo.Subject.connection,
        context={"Subject": demo.Subject},
    )

    @schema
    class Probe(dm.Manual):
        definition = """
        # recording probes
        probe_id: int32                # probe number
        ---
        label: varchar(200)            # what it is
        -> [nullable] Subject.proj(owner="subject_id")
        trace=null: <blob>             # a short waveform
        big_trace=null: <blob>         # a long waveform
        image=null: <blob>             # a picture
        meta=null: <blob>              # settings
        cube=null: <blob>
        notes=null: json
        """

        class Channel(dm.Part):
            definition = """
            -> master
            channel: int16
            ---
            gain: float64
            """

    if not Probe() & {"probe_id": 1}:
        Probe.insert1(
            dict(
                probe_id=1,
                label="left <hemisphere> & more",
                owner=1,
                trace=TRACE,
                big_trace=BIG_TRACE,
                image=IMAGE,
                meta=META,
                cube=CUBE,
                notes={"ok": True, "tags": ["a", "b"]},
            )
        )
        Probe.insert1(dict(probe_id=2, label="empty"))
        Probe.Channel.insert([dict(probe_id=1, channel=c, gain=c / 2) for c in range(4)])
        raw = dj_connect()
        try:
            with raw.cursor() as cursor:
                cursor.execute("SET FOREIGN_KEY_CHECKS=0")
                cursor.execute(
                    f"INSERT INTO {Probe.full_table_name} (probe_id, label, owner) "
                    "VALUES (3, 'orphan', 999)"
                )
        finally:
            raw.close()
    return types.SimpleNamespace(Probe=Probe, Note=extra_tables.Note, demo=demo)


def row_path(cls, key: dict) -> str:
    return reverse("web:row", args=[cls.database, cls.table_name, encode_key(key)])


def page_text(response) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", response.content.decode()))


def hrefs(response, css_class: str) -> list[str]:
    html = response.content.decode()
    return [unescape(h) for h in re.findall(rf'class="{css_class}" href="([^"]+)"', html)]


def condition_of(url: str) -> dict:
    """The condition of a restricted table URL's ``where`` token."""
    return decode_description(parse_qs(urlsplit(url).query)["where"][0])


def equals(**values) -> dict:
    return {"and": [{"attribute": a, "operator": "=", "value": v} for a, v in values.items()]}


def test_every_attribute_with_its_preview(lab_client, row_lab):
    probe = row_lab.Probe
    response = lab_client.get(row_path(probe, {"probe_id": 1}))
    assert response.status_code == 200
    html = response.content.decode()
    text = page_text(response)
    for name in ("probe_id", "label", "owner", "trace", "big_trace", "image", "meta", "cube"):
        assert f"{name}</span></th>" in html, name
    assert "what it is" in text and "a short waveform" in text and "int32" in text
    assert "left &lt;hemisphere&gt; &amp; more" in html  # escaped, whole
    # 1-D arrays as line charts: the short one from the peek, the long one fetched whole
    charts = re.findall(r'<svg[^>]*class="sparkline"[^>]*width="480"', html)
    assert len(charts) == 2
    assert "float64 100" in text and "float64 20000" in text
    # the 2-D array as a thumbnail, bigger than in a table cell, which the server draws
    thumbs = re.findall(r'<img src="([^"]+)" width="(\d+)" height="(\d+)"', html)
    assert len(thumbs) == 1
    src, width, height = thumbs[0]
    assert (int(width), int(height)) == (320, 240)
    image = lab_client.get(unescape(src))
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    # structures expandable; other arrays by dtype and shape
    assert re.search(r"<details class=\"structure\"><summary>dict \(3 keys\)", html)
    assert "channels: list (3 items)" in text and 'name: "V1"' in text
    assert "depth: [0, 1, 2]" in text
    assert "float64 4×5×6" in text
    assert "tags: list (2 items)" in text  # the json attribute
    # the row's own key and the link back to the table
    assert "probe_id=1" in text


def test_parent_rows_renamed_null_and_missing(lab_client, row_lab):
    probe, subject = row_lab.Probe, row_lab.demo.Subject
    response = lab_client.get(row_path(probe, {"probe_id": 1}))
    [link] = hrefs(response, "parent-link")
    assert link == row_path(subject, {"subject_id": 1})
    assert "renamed: owner is Subject.subject_id" in re.sub(r"<[^>]+>", "", response.text)
    assert lab_client.get(link).status_code == 200

    response = lab_client.get(row_path(probe, {"probe_id": 2}))
    assert hrefs(response, "parent-link") == []
    assert "no parent" in page_text(response) and "(NULL)" in page_text(response)

    response = lab_client.get(row_path(probe, {"probe_id": 3}))
    assert response.status_code == 200
    text = page_text(response)
    assert "subject_id=999" in text and "this parent row does not exist" in text
    assert hrefs(response, "parent-link") == []


def test_parents_of_a_session_are_its_subject_and_experimenter(lab_client, demo):
    response = lab_client.get(row_path(demo.Session, {"subject_id": 1, "session_id": 1}))
    assert hrefs(response, "parent-link") == [
        row_path(demo.Subject, {"subject_id": 1}),
        row_path(demo.Experimenter, {"experimenter": "ana"}),
    ]


def test_child_counts_and_restricted_links(lab_client, row_lab):
    demo, probe, note = row_lab.demo, row_lab.Probe, row_lab.Note
    response = lab_client.get(row_path(demo.Subject, {"subject_id": 1}))
    html = response.content.decode()
    children = re.findall(
        r'<li class="child">\s*<a class="child-link" href="([^"]+)">([^<]+)</a>(.*?)</li>',
        html,
        re.S,
    )
    found = {name: (unescape(url), page_text_of(rest)) for url, name, rest in children}
    assert set(found) >= {"Session", "Note", "Probe"}
    # Session: same attribute name
    url, rest = found["Session"]
    assert urlsplit(url).path == reverse("web:table", args=[demo.Session.database, "session"])
    assert condition_of(url) == equals(subject_id=1)
    assert f"{len(demo.Session & {'subject_id': 1})} row" in rest
    # Note and Probe: renamed foreign keys, other schemas
    url, rest = found["Note"]
    assert condition_of(url) == equals(reviewer=1)
    assert "via reviewer" in rest and f"({note.database})" in rest
    assert f"{len(note & {'reviewer': 1})} row" in rest
    url, rest = found["Probe"]
    assert condition_of(url) == equals(owner=1)
    assert f"{len(probe & {'owner': 1})} row" in rest and "via owner" in rest


def page_text_of(fragment: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def test_cross_schema_children_with_compound_keys(lab_client, demo):
    key = {"subject_id": 1, "session_id": 1}
    response = lab_client.get(row_path(demo.Session, key))
    urls = {
        name: unescape(url)
        for url, name in re.findall(r'class="child-link" href="([^"]+)">([^<]+)<', response.text)
    }
    assert condition_of(urls["Image"]) == equals(subject_id=1, session_id=1)
    assert urlsplit(urls["Image"]).path.startswith(
        reverse("web:table", args=[demo.Image.database, demo.Image.table_name])
    )
    count = len(demo.Image & key)
    assert count > 0
    assert re.search(rf'Image</a>.*?<span class="count">{count}</span>', response.text, re.S)
    # the table page accepts the link (it ignores or applies the restriction)
    assert lab_client.get(urls["Image"]).status_code == 200


def test_children_in_schemas_the_user_may_not_view_are_left_out(
    client, django_user_model, row_lab, settings
):
    demo = row_lab.demo
    settings.LABBOOK_DEFAULT_ROLE = None
    user = django_user_model.objects.create_user(username="labonly", password="x")
    pattern = escape(demo.Subject.database)
    RoleGrant.objects.create(user=user, schema_pattern=pattern, role="viewer")
    client.force_login(user)
    response = client.get(row_path(demo.Subject, {"subject_id": 1}))
    assert response.status_code == 200
    names = re.findall(r'class="child-link" href="[^"]+">([^<]+)<', response.text)
    assert "Session" in names
    assert "Note" not in names and "Probe" not in names


def test_master_lists_its_part_rows_and_a_part_row_links_its_master(lab_client, demo):
    key = {"subject_id": 1, "session_id": 1}
    response = lab_client.get(row_path(demo.Session, key))
    html = response.text
    section = html[html.index('class="part-rows"') :]
    trials = (demo.Session.Trial & key).keys(order_by="KEY")
    encode = key_encoder(["subject_id", "session_id", "trial_id"])
    for trial in trials:
        assert row_path(demo.Session.Trial, trial) in section
        assert encode(trial) == encode_key(trial)
    assert f"{len(trials)} rows" in page_text_of(section)
    # Trial is shown under its master, not as a child table
    assert "Session.Trial</a>" not in "".join(re.findall(r'<li class="child">.*?</li>', html, re.S))

    response = lab_client.get(row_path(demo.Session.Trial, trials[0]))
    assert response.status_code == 200
    [master] = re.findall(r'class="master-link" href="([^"]+)"', response.text)
    assert master == row_path(demo.Session, key)


def test_many_part_rows_are_cut_with_a_link_to_all(lab_client, row_lab, monkeypatch):
    monkeypatch.setattr(rowpage_service, "PART_ROWS", 2)
    response = lab_client.get(row_path(row_lab.Probe, {"probe_id": 1}))
    section = response.text[response.text.index('class="part-rows"') :]
    assert section.count('class="row-link"') == 2 * 2  # two rows, two key attributes each
    assert "4 rows" in page_text_of(section)
    [all_rows] = re.findall(r'class="all-parts" href="([^"]+)"', section)
    assert condition_of(unescape(all_rows)) == equals(probe_id=1)


def test_many_children_are_counted_in_a_second_request(lab_client, demo, monkeypatch):
    monkeypatch.setattr(rowpage_service, "CHILDREN_INLINE", 0)
    path = row_path(demo.Subject, {"subject_id": 1})
    response = lab_client.get(path)
    html = response.text
    assert 'hx-trigger="load"' in html and f'hx-get="{path}?children=1"' in html
    assert '<span class="count">' not in html and 'class="child-link"' in html
    partial = lab_client.get(
        path + "?children=1", headers={"HX-Request": "true", "HX-Target": "children"}
    )
    assert partial.status_code == 200
    assert partial.text.lstrip().startswith('<section id="children"')
    assert "<html" not in partial.text and 'hx-trigger="load"' not in partial.text
    sessions = len(demo.Session & {"subject_id": 1})
    assert re.search(rf'Session</a>.*?<span class="count">{sessions}</span>', partial.text, re.S)
    # without htmx: the whole page, counted
    assert '<span class="count">' in lab_client.get(path + "?children=1").text


def test_large_values_are_loaded_on_demand(lab_client, row_lab, monkeypatch):
    monkeypatch.setattr(rowpage_service, "ROW_VALUE_BYTES", 1000)
    path = row_path(row_lab.Probe, {"probe_id": 1})
    response = lab_client.get(path)
    html = response.text
    assert len(re.findall(r'class="sparkline"', html)) == 1  # the short trace only
    assert "float64 1×20000" in page_text(response) or "float64 20000" in page_text(response)
    index = row_lab.Probe.heading.names.index("big_trace")
    load = f"{path}?load=big_trace"
    assert f'href="{load}" hx-get="{load}" hx-target="#value-{index}"' in html
    partial = lab_client.get(load, headers={"HX-Request": "true", "HX-Target": f"value-{index}"})
    assert partial.status_code == 200
    assert partial.text.startswith(f'<td id="value-{index}"') and "sparkline" in partial.text
    whole = lab_client.get(load)
    assert len(re.findall(r'class="sparkline"', whole.text)) == 2
    assert lab_client.get(f"{path}?load=nothing").status_code == 404


@pytest.mark.parametrize(
    ("key", "status", "words"),
    [
        ({"probe_id": 404}, 404, ["rowpage", "probe", "probe_id=404"]),
        ({}, 400, ["probe_id"]),
        ({"probe_id": 1, "extra": 2}, 400, ["extra"]),
        ({"probe_id": "one"}, 400, ["probe_id", "one"]),
        ({"probe_id": 1.5}, 400, ["probe_id"]),
    ],
)
def test_bad_keys(lab_client, row_lab, key, status, words):
    response = lab_client.get(row_path(row_lab.Probe, key))
    assert response.status_code == status
    text = page_text(response)
    for word in words:
        assert word in text, (word, text[:2000])


@pytest.mark.parametrize("token", ["!!!", "bm90IGpzb24", "WzFd", "eyJhIjpOYU59"])
def test_bad_tokens_are_400(lab_client, row_lab, token):
    probe = row_lab.Probe
    response = lab_client.get(reverse("web:row", args=[probe.database, probe.table_name, token]))
    assert response.status_code == 400


def test_unknown_table_is_404(lab_client, demo):
    url = reverse("web:row", args=[demo.Subject.database, "nope", encode_key({"a": 1})])
    assert lab_client.get(url).status_code == 404


def test_primary_key_cells_of_table_pages_link_to_row_pages(lab_client, demo):
    response = lab_client.get(reverse("web:table", args=[demo.Session.database, "session"]))
    links = set(re.findall(r'<a class="row-link" href="([^"]+)">', response.text))
    keys = demo.Session().keys()
    assert links == {row_path(demo.Session, k) for k in keys}
    # both key attributes of a row link to the row; other cells do not
    assert response.text.count('class="row-link"') == 2 * len(keys)
    assert lab_client.get(sorted(links)[0]).status_code == 200


@pytest.mark.parametrize("store_spec", ["file"], indirect=True)
def test_stored_values_load_and_download(lab_client, stored_lab, tmp_path):
    """A stored blob and an ``<npy@>`` array are shown from their metadata with a "load"
    control (the whole value, a line chart here); attachments link to their download."""
    recording = stored_lab.Recording
    source = tmp_path / "notes.txt"
    source.write_bytes(b"field notes\n")
    recording.insert1(
        dict(rec_id=1, label="stored", signal=TRACE, arr=np.arange(50.0), inline_file=str(source))
    )
    path = row_path(recording, {"rec_id": 1})
    response = lab_client.get(path)
    assert response.status_code == 200
    html = response.text
    assert "sparkline" not in html  # nothing read from the store yet
    assert "stored blob" in page_text(response) and "float64 50 · npy" in page_text(response)
    names = recording.heading.names
    for name in ("signal", "arr"):
        index = names.index(name)
        load = f"{path}?load={name}"
        assert f'href="{load}" hx-get="{load}" hx-target="#value-{index}"' in html
        partial = lab_client.get(
            load, headers={"HX-Request": "true", "HX-Target": f"value-{index}"}
        )
        assert partial.status_code == 200 and 'class="sparkline"' in partial.text, name
    [download] = re.findall(r'class="download" href="([^"]+)"', html)
    file = lab_client.get(unescape(download))
    assert file.status_code == 200
    assert b"".join(file.streaming_content) == b"field notes\n"


@pytest.fixture(scope="module")
def legacy(row_lab):
    """Tables made with SQL, as older tools left them: ``legacy_child.code`` references
    the unique (not primary) ``legacy_parent.code``; ``nopk`` has no primary key."""
    conn, db = row_lab.Probe.connection, row_lab.Probe.database
    conn.query(
        f"CREATE TABLE IF NOT EXISTS `{db}`.legacy_parent "
        "(id int PRIMARY KEY, code varchar(10) NOT NULL, UNIQUE KEY (code))"
    )
    conn.query(
        f"CREATE TABLE IF NOT EXISTS `{db}`.legacy_child (cid int PRIMARY KEY, code varchar(10), "
        "FOREIGN KEY (code) REFERENCES legacy_parent (code))"
    )
    conn.query(f"CREATE TABLE IF NOT EXISTS `{db}`.nopk (msg varchar(10))")
    conn.query(f"INSERT IGNORE INTO `{db}`.legacy_parent VALUES (1, 'a')")
    conn.query(f"INSERT IGNORE INTO `{db}`.legacy_child VALUES (1, 'a')")
    conn.query(f"INSERT IGNORE INTO `{db}`.nopk VALUES ('hello')")
    return db


def test_foreign_keys_to_a_unique_index_link_restricted_pages(lab_client, legacy):
    child = reverse("web:row", args=[legacy, "legacy_child", encode_key({"cid": 1})])
    [parent] = hrefs(lab_client.get(child), "parent-link")
    assert urlsplit(parent).path == reverse("web:table", args=[legacy, "legacy_parent"])
    assert condition_of(parent) == equals(code="a")
    path = reverse("web:row", args=[legacy, "legacy_parent", encode_key({"id": 1})])
    for headers, query in (
        ({}, ""),
        ({"HX-Request": "true", "HX-Target": "children"}, "?children=1"),
    ):
        response = lab_client.get(path + query, headers=headers)
        assert response.status_code == 200
        [(url, count)] = re.findall(
            r'class="child-link" href="([^"]+)">.*?<span class="count">(\d+)<', response.text, re.S
        )
        assert condition_of(unescape(url)) == equals(code="a") and count == "1"


def test_a_table_without_primary_key_has_no_row_pages(lab_client, legacy):
    response = lab_client.get(reverse("web:row", args=[legacy, "nopk", encode_key({})]))
    assert response.status_code == 400
    assert "has no primary key" in page_text(response)
