"""Object stores: configuration, file and S3 access, stored-value codecs, lazy references,
clean-up of failed writes and garbage collection (spec §5, §11)."""

from .config import StoreConfig, StoreError, StoreSpec
from .refs import Attachment, BlobRef, NpyRef, ObjectRef
from .spec import StorePathError

__all__ = [
    "Attachment",
    "BlobRef",
    "NpyRef",
    "ObjectRef",
    "StoreConfig",
    "StoreError",
    "StorePathError",
    "StoreSpec",
]
