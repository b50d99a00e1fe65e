"""The compression policies of ``blob.pack`` (spec §4.1, §13; policy in the blob module doc).

``"fast"`` (default): never at or under 1000 bytes; up to 64 KiB compressed whole at zlib
level 1 and kept if it saves >= 10 %; larger blobs judged by 4 x 16 KiB samples, one
from the middle of each quarter, then compressed at level 1 and kept if strictly shorter.
``"datajoint"``: zlib default level, kept if strictly shorter (DataJoint's bytes).
Also: the streamed compression gives the same bytes as compressing the joined blob, and
packing stays within its memory budget (tracemalloc; no timing assertions).
"""

from __future__ import annotations

import itertools
import random
import tracemalloc
import zlib

import numpy as np
import pytest

from pipeline_core.datamodel.codecs import blob
from pipeline_core.datamodel.codecs.blob import MatCell, pack, unpack

ZL123 = b"ZL123\0"
RNG = np.random.default_rng(7)
MB = 2**20


def envelope(raw: bytes, level: int = -1) -> bytes:
    return ZL123 + len(raw).to_bytes(8, "little") + zlib.compress(raw, level)


def random_floats(n: int) -> np.ndarray:
    return RNG.standard_normal(n)


# --- what gets compressed ------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        np.arange(2**17, dtype=np.float64),  # 1 MB: sampled
        np.arange(3000, dtype=np.float64),  # 24 KB: compressed whole
        np.zeros(200),
        np.zeros((300, 400), dtype=np.float32),
        "abc" * 2000,
        ["repeated string"] * 5000,
        {"names": ["neuron"] * 300, "ids": np.arange(300)},
        MatCell.from_items([np.ones(100)] * 50),
    ],
    ids=[
        "arange_1MB",
        "arange_24KB",
        "zeros_small",
        "zeros_2d",
        "str",
        "list_of_str",
        "dict",
        "cell",
    ],
)
def test_compressible_data_is_compressed(value):
    raw = pack(value, compress=False)
    packed = pack(value)
    assert packed[:6] == ZL123 and packed[14:16] == b"\x78\x01"  # zlib level 1
    assert len(packed) <= 0.9 * len(raw)
    assert zlib.decompress(packed[14:]) == raw
    assert int.from_bytes(packed[6:14], "little") == len(raw)


@pytest.mark.parametrize("n", [200, 3000, 8193, 2**17, 2**21], ids=lambda n: f"{8 * n}B")
def test_random_floats_are_stored_uncompressed(n):
    value = random_floats(n)
    raw = pack(value, compress=False)
    assert len(raw) > blob.COMPRESSION_THRESHOLD
    assert pack(value) == raw
    assert pack(value, compression="datajoint")[:6] == ZL123  # DataJoint would compress (~4 %)


def test_random_bytes_with_small_saving_are_stored_uncompressed():
    """A blob that compresses by a few percent (< 10 %) is left alone in both size classes."""
    for n in (20_000, 400_000):
        value = np.concatenate(
            [RNG.integers(0, 256, n, dtype=np.uint8), np.zeros(n // 25, dtype=np.uint8)]
        )
        raw = pack(value, compress=False)
        assert len(zlib.compress(raw, 1)) < len(raw)  # compressible, but not by 10 %
        assert pack(value) == raw


@pytest.mark.parametrize("policy", blob.COMPRESSION_POLICIES)
def test_threshold_of_1000_bytes(policy):
    at = np.zeros(1000 - 29, dtype=np.uint8)  # 4 + 25-byte A header + 971 bytes = 1000
    over = np.zeros(1001 - 29, dtype=np.uint8)
    assert len(pack(at, compress=False)) == 1000
    assert pack(at, compression=policy) == pack(at, compress=False)
    assert pack("x" * (1000 - 13), compression=policy)[:4] == b"dj0\0"
    assert pack(over, compression=policy)[:6] == ZL123
    assert pack("x" * (1001 - 13), compression=policy)[:6] == ZL123


@pytest.mark.parametrize("value", [np.zeros(5), "short", [1, 2.5, None], np.arange(100)])
def test_small_blobs_never_compressed(value):
    for policy in blob.COMPRESSION_POLICIES:
        assert pack(value, compression=policy) == pack(value, compress=False)


def test_compress_false_ignores_policy():
    value = np.arange(10_000.0)
    assert pack(value, compress=False, compression="datajoint") == pack(value, compress=False)
    assert pack(value, False) == pack(value, compress=False)


def test_unknown_policy_rejected():
    with pytest.raises(ValueError, match="compression must be one of"):
        pack(np.zeros(3), compression="zstd")
    with pytest.raises(TypeError):
        pack(np.zeros(3), True, "datajoint")  # keyword-only


# --- sampling: the decision follows the whole blob, not its head ---------------------------
def test_sample_positions():
    size = 10 * MB
    starts = blob.sample_starts(size)
    assert len(starts) == blob.SAMPLE_COUNT == 4
    part = size / blob.SAMPLE_COUNT
    for i, start in enumerate(starts):  # the middle of each quarter
        assert i * part <= start and start + blob.SAMPLE_BYTES <= (i + 1) * part
        assert abs(start + blob.SAMPLE_BYTES / 2 - (i + 0.5) * part) <= 1
    small = blob.SAMPLE_COUNT * blob.SAMPLE_BYTES + 1
    starts = blob.sample_starts(small)
    assert starts[0] >= 0 and starts[-1] + blob.SAMPLE_BYTES <= small
    assert all(b >= a + blob.SAMPLE_BYTES for a, b in itertools.pairwise(starts))  # disjoint


def test_small_compressible_head_does_not_decide():
    """A compressible head (a 2 KB label and 16 KB of zeros) before 2 MB of random floats:
    the samples see the random data, so the blob is stored raw (saving would be ~4 %)."""
    value = ["label " * 300, np.zeros(2048), random_floats(2**18)]
    assert pack(value) == pack(value, compress=False)


def test_half_compressible_blob_is_compressed():
    value = [np.zeros(2**17), random_floats(2**17)]  # zeros first, 1 MB each
    raw = pack(value, compress=False)
    packed = pack(value)
    assert packed[:6] == ZL123 and len(packed) < 0.6 * len(raw)
    assert zlib.decompress(packed[14:]) == raw


def test_compressible_tail_is_seen():
    """Random head, compressible last three quarters: judged by samples across the blob."""
    value = [random_floats(2**16), np.arange(3 * 2**16, dtype=np.float64)]
    raw = pack(value, compress=False)
    packed = pack(value)
    assert packed[:6] == ZL123 and len(packed) < 0.6 * len(raw)


def test_estimate_that_misleads_falls_back_to_raw(monkeypatch):
    """If the samples promise a saving the whole blob does not give, the blob is stored raw."""
    value = RNG.integers(0, 256, 2 * MB, dtype=np.uint8)
    raw = pack(value, compress=False)
    monkeypatch.setattr(blob, "_sampled_ratio", lambda chunks, size: 0.0)
    assert pack(value) == raw
    monkeypatch.setattr(blob, "_sampled_ratio", lambda chunks, size: 0.91)
    assert pack(np.zeros(MB)) == pack(np.zeros(MB), compress=False)  # the estimate alone decides


def test_samples_read_across_chunks():
    """Samples spanning many small chunks and big array chunks read the right bytes."""
    rng = random.Random(3)
    chunks = [bytes([i % 256]) * rng.choice([1, 3, 100, 5000]) for i in range(400)]
    chunks.insert(200, np.arange(300_000, dtype=np.uint8))
    joined = b"".join(chunks)
    offsets = [0]
    for chunk in chunks:
        offsets.append(offsets[-1] + len(chunk))
    for start in [0, 1, 7, 5000, len(joined) // 2, len(joined) - 16384, len(joined) - 5]:
        for n_bytes in (1, 100, 16384):
            assert blob._read(chunks, offsets, start, n_bytes) == joined[start : start + n_bytes]


# --- the bytes ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        np.arange(2**18, dtype=np.float64),
        np.asfortranarray(np.arange(2**18, dtype=np.int32).reshape(512, 512)),
        np.arange(2**18, dtype=np.int64).reshape(512, 512),  # C order: one Fortran copy
        [np.arange(1000.0)] * 300 + ["x" * 100] * 100,  # many small chunks
        {"big": np.zeros(3 * MB, dtype=np.uint8), "small": list(range(2000))},  # chunks over 1 MiB
        "é" * 50_000,
    ],
    ids=["float64", "fortran_int32", "c_order_int64", "many_chunks", "big_chunks", "str"],
)
def test_streamed_compression_equals_one_shot(value):
    raw = pack(value, compress=False)
    assert pack(value, compression="datajoint") == envelope(raw)  # what DataJoint writes
    assert pack(value) == envelope(raw, 1)
    assert unpack(pack(value)).__class__ is unpack(raw).__class__


def test_datajoint_policy_keeps_compression_only_if_shorter():
    value = random_floats(50)  # 429 bytes: under the threshold
    assert pack(value, compression="datajoint") == pack(value, compress=False)
    noise = RNG.integers(0, 256, 5000, dtype=np.uint8)  # incompressible: zlib adds bytes
    raw = pack(noise, compress=False)
    assert len(envelope(raw)) >= len(raw)
    assert pack(noise, compression="datajoint") == raw


# --- memory ---------------------------------------------------------------------------------------
def peak_multiple(value: np.ndarray, **kwargs) -> float:
    tracemalloc.start()
    try:
        packed = pack(value, **kwargs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert unpack(packed).shape == value.shape
    return peak / value.nbytes


N_16MB = 2 * MB  # float64 elements


@pytest.mark.parametrize("layout", ["1d", "c_order_2d"])
def test_memory_compressed_pack_arange(layout):
    value = np.arange(N_16MB, dtype=np.float64)
    if layout != "1d":
        value = value.reshape(1024, -1)  # needs a Fortran-order copy
    assert peak_multiple(value) < 3.0
    assert peak_multiple(value, compression="datajoint") < 3.0


@pytest.mark.parametrize("layout", ["1d", "c_order_2d"])
def test_memory_compressed_pack_random(layout):
    value = random_floats(N_16MB)
    if layout != "1d":
        value = value.reshape(1024, -1)
    assert peak_multiple(value) < 2.2
    assert peak_multiple(value, compression="datajoint") < 3.0


def test_memory_uncompressed_pack():
    assert peak_multiple(np.arange(N_16MB, dtype=np.float64), compress=False) < 1.2
