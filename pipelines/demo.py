"""The demo pipeline shipped with LabBook: ``demo_lab`` and ``demo_imaging``.

``declare(connection, prefix)`` declares both schemas (idempotent) and returns a namespace
of their classes; ``load(namespace)`` inserts the demo input (subjects, sessions, trials,
experimenters, and sample images that ship inside the scikit-image wheel, no download).
``Detection`` finds blobs with ``skimage.feature.blob_log`` for every image x parameter set.
"""

from __future__ import annotations

import datetime
import types

import numpy as np

from pipeline_core import datamodel as dm

#: scikit-image sample images (file in the wheel) used as demo input: name -> loader name.
SAMPLE_IMAGES = ("coins", "moon", "cell", "hubble_deep_field")


def declare(connection, prefix: str = "") -> types.SimpleNamespace:
    """Declare ``{prefix}demo_lab`` and ``{prefix}demo_imaging``; return their classes.

    Returns:
        namespace with ``lab`` and ``imaging`` (namespaces of classes) and every class
        also at top level (``ns.Subject``, ``ns.Detection`` ...).
    """
    lab_schema = dm.Schema(prefix + "demo_lab", connection=connection)
    imaging_schema = dm.Schema(prefix + "demo_imaging", connection=connection)

    @lab_schema
    class Experimenter(dm.Lookup):
        definition = """
        # people who run sessions
        experimenter: varchar(32)      # short name
        ---
        full_name: varchar(100)
        """
        contents = [("ana", "Ana Ruiz"), ("ben", "Ben Okafor"), ("chloe", "Chloé Martin")]

    @lab_schema
    class Subject(dm.Manual):
        definition = """
        # experimental subjects
        subject_id: int32              # unique subject id
        ---
        subject_name: varchar(64)
        species='mouse': enum('mouse', 'rat', 'zebrafish')
        sex='U': enum('F', 'M', 'U')
        date_of_birth=null: date
        """

    @lab_schema
    class Session(dm.Manual):
        definition = """
        # a recording session
        -> Subject
        session_id: int16              # session number within the subject
        ---
        session_date: date
        -> Experimenter
        notes='': varchar(1000)        # free text
        """

        class Trial(dm.Part):
            definition = """
            # trials of a session
            -> master
            trial_id: int16
            ---
            start_time: float64        # seconds from session start
            stop_time: float64         # seconds from session start
            """

    lab = types.SimpleNamespace(
        schema=lab_schema, Experimenter=Experimenter, Subject=Subject, Session=Session
    )

    @imaging_schema
    class Image(dm.Manual):
        definition = """
        # an image acquired in a session
        -> lab.Session
        image_name: varchar(64)
        ---
        pixels: <blob>                 # 2-D grey image, uint8
        """

    @imaging_schema
    class BlobParamSet(dm.Lookup):
        definition = """
        # parameters of blob detection (Laplacian of Gaussian)
        paramset_id: int16
        ---
        min_sigma: float64             # pixels
        max_sigma: float64             # pixels
        threshold: float64             # relative to the image's dynamic range
        """
        contents = [(1, 2.0, 8.0, 0.10), (2, 4.0, 16.0, 0.05), (3, 8.0, 32.0, 0.20)]

    @imaging_schema
    class Detection(dm.Computed):
        definition = """
        # blobs detected in an image with one parameter set
        -> Image
        -> BlobParamSet
        ---
        blob_count: int32
        """

        class Blob(dm.Part):
            definition = """
            -> master
            blob_id: int32
            ---
            x: float32                 # column, pixels
            y: float32                 # row, pixels
            radius: float32            # pixels
            """

        def make(self, key):
            from skimage.feature import blob_log

            pixels = (Image & key).fetch1("pixels")
            params = (BlobParamSet & key).fetch1()
            image = np.asarray(pixels, dtype=np.float64) / 255.0
            blobs = blob_log(
                image,
                min_sigma=params["min_sigma"],
                max_sigma=params["max_sigma"],
                num_sigma=5,
                threshold=params["threshold"],
            )
            self.insert1(dict(key, blob_count=len(blobs)))
            Detection.Blob.insert(
                [
                    dict(key, blob_id=i, x=float(c), y=float(r), radius=float(s * np.sqrt(2)))
                    for i, (r, c, s) in enumerate(blobs)
                ]
            )

    imaging = types.SimpleNamespace(
        schema=imaging_schema, Image=Image, BlobParamSet=BlobParamSet, Detection=Detection
    )
    classes = {k: v for ns in (lab, imaging) for k, v in vars(ns).items() if k != "schema"}
    return types.SimpleNamespace(lab=lab, imaging=imaging, **classes)


def sample_image(name: str) -> np.ndarray:
    """A scikit-image sample image as a 2-D uint8 array, at most 512 pixels wide."""
    import skimage.data
    from skimage.color import rgb2gray
    from skimage.transform import rescale

    image = getattr(skimage.data, name)()
    if image.ndim == 3:
        image = rgb2gray(image)
    image = image.astype(np.float64)
    if max(image.shape) > 512:
        image = rescale(image, 512 / max(image.shape), anti_aliasing=True)
    image = (255 * (image - image.min()) / max(np.ptp(image), 1e-12)).round()
    return image.astype(np.uint8)


def load(ns: types.SimpleNamespace) -> None:
    """Insert the demo input (idempotent: existing rows are skipped), in one transaction."""
    conn = ns.Subject.connection
    with conn.transaction():
        ns.Subject.insert(
            [
                dict(
                    subject_id=1,
                    subject_name="Mickey",
                    species="mouse",
                    sex="M",
                    date_of_birth=datetime.date(2026, 3, 1),
                ),
                dict(
                    subject_id=2,
                    subject_name="Minnie",
                    species="mouse",
                    sex="F",
                    date_of_birth=datetime.date(2026, 3, 9),
                ),
            ],
            skip_duplicates=True,
        )
        ns.Session.insert(
            [
                dict(
                    subject_id=1,
                    session_id=1,
                    session_date=datetime.date(2026, 10, 5),
                    experimenter="ana",
                    notes="baseline",
                ),
                dict(
                    subject_id=2,
                    session_id=1,
                    session_date=datetime.date(2026, 10, 6),
                    experimenter="ben",
                    notes="",
                ),
            ],
            skip_duplicates=True,
        )
        ns.Session.Trial.insert(
            [
                dict(
                    subject_id=s,
                    session_id=1,
                    trial_id=t,
                    start_time=10.0 * t,
                    stop_time=10.0 * t + 8,
                )
                for s in (1, 2)
                for t in range(1, 4)
            ],
            skip_duplicates=True,
        )
        ns.Image.insert(
            [
                dict(subject_id=1 + i % 2, session_id=1, image_name=name, pixels=sample_image(name))
                for i, name in enumerate(SAMPLE_IMAGES)
            ],
            skip_duplicates=True,
        )
