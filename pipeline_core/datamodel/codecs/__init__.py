"""Value codecs of the LabBook data model.

:mod:`.blob` is the DataJoint ``<blob>`` serialization (spec §4): ``pack``/``unpack``
plus the MATLAB containers ``MatStruct``/``MatCell`` and ``BlobError``.
"""
