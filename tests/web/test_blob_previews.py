"""In-table blobs on table pages are described from a prefix of each blob (header peek)
and its length: the page's SELECT takes ``SUBSTRING(col, 1, 65536)`` and ``LENGTH(col)``,
so an 8 MB blob costs at most 64 KiB of transfer, while the cells still show dtype, shape
and size and image-like arrays still get their (on-demand) thumbnails."""

from __future__ import annotations

import io
import re
import types
from html import unescape

import numpy as np
import pytest
from django.urls import reverse
from PIL import Image as PILImage

from pipeline_core import datamodel as dm
from pipeline_core import services
from pipeline_core.datamodel.codecs.blob import MatStruct, pack
from pipeline_core.datamodel.paging import page
from pipeline_core.services.access import connection, table_info
from pipeline_core.services.browse import PREVIEW_BYTES, BlobPreview, preview_expression
from pipeline_core.web.keys import decode_key
from pipeline_core.web.previews import format_size

pytestmark = pytest.mark.integration

RNG = np.random.default_rng(4)
#: 8 MB of noise: packed uncompressed (8 000 041 bytes stored; PyMySQL sends bytes as hex,
#: so this is about the largest value an insert fits in a 16 MiB max_allowed_packet).
BIG = RNG.random((1000, 1000))
#: 8 MB of zeros, not image-like (100 planes of 100×100): compresses to a few kB.
STACK = np.zeros((100, 100, 100))
#: 3 MB of 2-bit noise: compressed, yet far more than 64 KiB stored; an image.
NOISY = RNG.integers(0, 4, (3000, 1000), dtype=np.uint8)
SMALL = np.array([1.5, 2.5, 3.5])
TRACE = RNG.random(50_000)  # 400 kB
#: 3 MB of raw bytes in a native longblob column (not a DataJoint blob).
RAW = RNG.bytes(3_000_000)
#: Raw bytes in an unmarked 0.14 blob column: not a DataJoint blob.
LEGACY_RAW = b"\x89PNG not a blob " * 20_000


def url(name: str, cls, *args) -> str:
    return reverse(f"web:{name}", args=[cls.database, cls.table_name, *args])


def cells_by_row(html: str) -> list[dict[str, str]]:
    """Every row of the rows table as ``{column name: cell HTML}``."""
    section = re.search(r'<table class="rows">(.*?)</table>', html, re.S).group(1)
    names = [unescape(n) for n in re.findall(r'<th scope="col" data-name="([^"]*)"', section)]
    body = section.split("<tbody>", 1)[1]
    return [
        dict(zip(names, re.findall(r"<td[^>]*>.*?</td>", row, re.S), strict=True))
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def text(fragment: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def title(fragment: str) -> str:
    match = re.search(r'title="([^"]*)"', fragment)
    return unescape(match.group(1)) if match else ""


def bytes_sent() -> int:
    """Bytes the server has sent on the services connection (this thread's)."""
    row = connection().query("SHOW SESSION STATUS LIKE 'Bytes_sent'").fetchone()
    return int(row[1])


@pytest.fixture(scope="session")
def blobs(demo, pipeline_prefix, dj_params):
    """``{prefix}blobprev``.Sample: a ``<blob>`` and a native ``longblob`` column holding
    every kind of value below; and ``{prefix}blobprev_legacy``.legacy_blob, a table made
    by hand in a database without ``~lineage`` (0.14), with an unmarked longblob."""
    conn = demo.Subject.connection
    schema = dm.Schema(pipeline_prefix + "blobprev", connection=conn)

    @schema
    class Sample(dm.Manual):
        definition = """
        # blobs of every size and kind
        sample_id: int32
        ---
        label: varchar(20)
        data=null: <blob>
        raw=null: longblob
        """

    struct = MatStruct.from_records([{"trace": TRACE, "label": "cell 1"}])
    for row in [
        dict(sample_id=1, label="big", data=BIG),
        dict(sample_id=2, label="stack", data=STACK, raw=RAW),
        dict(sample_id=3, label="noisy", data=NOISY),
        dict(sample_id=4, label="small", data=SMALL, raw=b"abc"),
        dict(sample_id=5, label="struct", data=struct),
        dict(sample_id=6, label="dict", data={"trace": TRACE, "rate": 30.0}),
        dict(sample_id=7, label="nulls"),
        dict(sample_id=8, label="scalar", data=2.5),
    ]:
        Sample.insert1(row, skip_duplicates=True)
    legacy_db = pipeline_prefix + "blobprev_legacy"
    conn.query(f"CREATE DATABASE IF NOT EXISTS `{legacy_db}`")
    conn.query(
        f"CREATE TABLE IF NOT EXISTS `{legacy_db}`.`legacy_blob` (item_id INT NOT NULL, "
        "payload LONGBLOB, PRIMARY KEY (item_id)) COMMENT 'made by DataJoint 0.14'"
    )
    legacy_rows = [(1, LEGACY_RAW), (2, pack(BIG)), (3, b"tiny"), (4, None)]
    for item_id, payload in legacy_rows:
        conn.query(
            f"INSERT IGNORE INTO `{legacy_db}`.`legacy_blob` VALUES (%s, %s)", [item_id, payload]
        )
    legacy = types.SimpleNamespace(database=legacy_db, table_name="legacy_blob")
    return types.SimpleNamespace(
        Sample=Sample,
        legacy=legacy,
        sizes={"big": len(pack(BIG)), "stack": len(pack(STACK)), "noisy": len(pack(NOISY))},
    )


@pytest.fixture
def sample_page(lab_client, blobs) -> dict[str, dict[str, str]]:
    """The Sample page's rows by label."""
    html = lab_client.get(url("table", blobs.Sample)).content.decode()
    return {text(row["label"]): row for row in cells_by_row(html)}


def test_native_longblob_in_a_2x_database_is_raw_bytes(blobs):
    heading = table_info(blobs.Sample.database, blobs.Sample.table_name).heading
    assert heading["data"].is_blob and not heading["data"].is_bytes
    assert heading["raw"].is_bytes and not heading["raw"].is_blob


def test_the_page_selects_a_prefix_and_the_length_of_each_blob(blobs):
    info = table_info(blobs.Sample.database, blobs.Sample.table_name)
    sql, _ = preview_expression(info).make_sql()
    assert f"SUBSTRING(`data`, 1, {PREVIEW_BYTES}) AS" in sql and "LENGTH(`data`) AS" in sql
    assert "LENGTH(`raw`) AS" in sql and "SUBSTRING(`raw`" not in sql  # raw bytes: size only
    selected = re.sub(r"SUBSTRING\(`data`[^)]*\)|LENGTH\(`\w+`\)", "", sql)
    assert "`data`" not in selected and "`raw`" not in selected  # never the whole column
    assert "`label`" in sql


def test_a_page_of_large_blobs_transfers_only_their_prefixes(blobs):
    schema, table = blobs.Sample.database, blobs.Sample.table_name
    services.table_info(schema, table)  # introspection outside the measurement
    before = bytes_sent()
    rows, _ = services.rows_page(schema, table)
    transferred = bytes_sent() - before
    # 8 MB + 3 MB + 1.3 MB + 0.4 MB + 0.4 MB of blobs in the table; at most 64 KiB each sent
    assert transferred < 6 * PREVIEW_BYTES + 20_000, transferred
    big = rows[0]["data"]
    assert isinstance(big, BlobPreview) and big.size == blobs.sizes["big"]
    assert big.summary.dtype == "float64" and big.summary.shape == (1000, 1000)
    assert not big.decoded and big.value is None
    assert rows[0]["raw"] is None and rows[1]["raw"] == BlobPreview(len(RAW))
    # the same page fetched the old way (whole values) moves every blob
    whole_before = bytes_sent()
    page(dm.FreeTable(connection(), blobs.Sample.full_table_name), lazy=True)
    assert bytes_sent() - whole_before > blobs.sizes["big"] + len(RAW)


def test_large_blob_shows_dtype_shape_size_and_a_thumbnail(lab_client, blobs, sample_page):
    cell = sample_page["big"]["data"]
    expected = f"float64 1000×1000 · {format_size(blobs.sizes['big'])}"
    assert expected == "float64 1000×1000 · 8.0 MB"
    assert text(cell) == expected
    alt = re.search(r'alt="([^"]+)"', cell).group(1)
    assert alt == "float64 1000×1000"
    src = unescape(re.search(r'<img loading="lazy" src="([^"]+)"', cell).group(1))
    assert decode_key(re.search(r"key=([^&]+)", src).group(1)) == {"sample_id": 1}
    response = lab_client.get(src)  # the thumbnail decodes the whole value on demand
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    image = PILImage.open(io.BytesIO(response.content))
    assert image.size == (192, 192) and image.mode == "L"


def test_compressed_blobs_show_stored_and_unpacked_sizes(blobs, sample_page):
    stack = sample_page["stack"]["data"]
    assert blobs.sizes["stack"] < 50_000  # zeros compress
    assert '<td class="blob">' in stack and "<img" not in stack  # 100×100×100 is no image
    assert text(stack) == f"float64 100×100×100 · {format_size(blobs.sizes['stack'])}"
    assert "compressed" in title(stack) and "8.0 MB unpacked" in title(stack)
    noisy = sample_page["noisy"]["data"]
    assert blobs.sizes["noisy"] > PREVIEW_BYTES  # more than the prefix, still peeked
    assert text(noisy) == f"uint8 3000×1000 · {format_size(blobs.sizes['noisy'])}"
    assert "<img" in noisy and "3.0 MB unpacked" in title(noisy)


def test_small_blobs_show_their_values(sample_page):
    assert text(sample_page["small"]["data"]) == "[1.5, 2.5, 3.5]"
    assert title(sample_page["small"]["data"]).startswith("float64 3 · ")
    assert text(sample_page["scalar"]["data"]) == "2.5"


def test_structures_show_kind_and_length(sample_page):
    struct = sample_page["struct"]["data"]
    assert text(struct).startswith("struct 1 · ") and text(struct).endswith("kB")
    assert "fields trace, label" in title(struct)
    assert text(sample_page["dict"]["data"]).startswith("dict (2 keys) · ")


def test_raw_bytes_and_nulls(sample_page):
    assert text(sample_page["stack"]["raw"]) == f"{len(RAW)} bytes"
    assert title(sample_page["stack"]["raw"]) == "3.0 MB"
    assert text(sample_page["small"]["raw"]) == "3 bytes"
    nulls = sample_page["nulls"]
    assert '<span class="null">NULL</span>' in nulls["data"] and "NULL" in text(nulls["raw"])
    assert text(sample_page["noisy"]["raw"]) == "NULL"


def test_unmarked_legacy_blobs(lab_client, blobs):
    legacy = blobs.legacy
    heading = table_info(legacy.database, legacy.table_name).heading
    assert heading["payload"].is_blob and heading["payload"].codec is None  # 0.14: unmarked
    before = bytes_sent()
    rows, _ = services.rows_page(legacy.database, legacy.table_name)
    assert bytes_sent() - before < 2 * PREVIEW_BYTES + 10_000
    assert rows[0]["payload"] == BlobPreview(len(LEGACY_RAW))  # not a DataJoint blob: bytes
    assert rows[3]["payload"] is None
    html = lab_client.get(url("table", legacy)).content.decode()
    shown = [row["payload"] for row in cells_by_row(html)]
    assert text(shown[0]) == f"{len(LEGACY_RAW)} bytes"
    assert (
        text(shown[1]) == f"float64 1000×1000 · {format_size(len(pack(BIG)))}"
        and "<img" in shown[1]
    )
    assert text(shown[2]) == "4 bytes"
    assert text(shown[3]) == "NULL"
    src = unescape(re.search(r'src="([^"]+)"', shown[1]).group(1))
    assert lab_client.get(src)["Content-Type"] == "image/png"


def test_demo_images_keep_their_thumbnails(lab_client, demo):
    html = lab_client.get(url("table", demo.Image)).content.decode()
    rows = demo.Image().to_dicts(order_by="KEY")
    cells = [row["pixels"] for row in cells_by_row(html)]
    assert len(cells) == len(rows)
    for cell, row in zip(cells, rows, strict=True):
        pixels = row["pixels"]
        assert "<img" in cell
        assert text(cell).startswith(f"{pixels.dtype.name} {pixels.shape[0]}×{pixels.shape[1]} · ")
        src = unescape(re.search(r'src="([^"]+)"', cell).group(1))
        assert lab_client.get(src)["Content-Type"] == "image/png"


def test_cells_of_previews_without_a_server():
    from pipeline_core.datamodel.codecs.blob import BlobSummary, peek
    from pipeline_core.web.previews import cell, describe

    corrupt = cell(
        BlobPreview(12, error="not a DataJoint blob: unknown protocol header"), "/thumb?key=k"
    )
    assert corrupt["kind"] == "blob" and corrupt["text"] == "12 bytes"
    assert "not a readable DataJoint blob" in corrupt["title"]
    assert describe(BlobSummary("list", length=4)) == "list (4 items)"
    assert describe(BlobSummary("str", length=12)) == "str (12 bytes)"
    assert describe(BlobSummary("cell", shape=(2, 3))) == "cell 2×3"
    assert describe(BlobSummary("array")) == "array"  # the prefix ended before the shape
    assert describe(BlobSummary("unknown", compressed=True)) == "blob"
    none = pack(None)
    assert (
        cell(BlobPreview(len(none), peek(none, len(none)), decoded=True))["text"]
        == f"None · {len(none)} B"
    )
    rgb = pack(np.zeros((300, 400, 3), dtype=np.uint8))
    image = cell(BlobPreview(len(rgb), peek(rgb[:PREVIEW_BYTES], len(rgb))), "/thumb?key=k")
    assert image["kind"] == "image" and (image["width"], image["height"]) == (96, 72)
    assert (
        cell(BlobPreview(len(rgb), peek(rgb[:PREVIEW_BYTES], len(rgb))))["kind"] == "blob"
    )  # no URL
    vector = pack(np.arange(10_000.0))
    assert cell(BlobPreview(len(vector), peek(vector, len(vector))), "/t")["kind"] == "blob"


@pytest.mark.parametrize(
    "size, text",
    [
        (None, ""),
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1.0 kB"),
        (9_949, "9.9 kB"),
        (9_960, "10 kB"),
        (46_000, "46 kB"),
        (999_499, "999 kB"),
        (999_600, "1.0 MB"),
        (1_234_567, "1.2 MB"),
        (5 * 10**12, "5.0 TB"),
        (2 * 10**15, "2000 TB"),
    ],
)
def test_format_size_rounds_before_choosing_the_unit(size, text):
    assert format_size(size) == text
