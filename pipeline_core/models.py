"""Django models of LabBook (Django's own tables only).

Pipeline data lives in the pipeline databases and is reached through
``pipeline_core.datamodel``, never through the Django ORM.
"""
