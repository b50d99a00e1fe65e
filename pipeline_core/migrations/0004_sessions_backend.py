"""Stored sessions that name Django's ``ModelBackend`` name LabBook's instead
(:mod:`pipeline_core.auth_backend`, which replaces it in ``AUTHENTICATION_BACKENDS``), so that
nobody logged in is logged out by the change; reversed, they name Django's again."""

from django.db import migrations

DJANGO = "django.contrib.auth.backends.ModelBackend"
LABBOOK = "pipeline_core.auth_backend.ModelBackend"
#: django.contrib.auth.BACKEND_SESSION_KEY
BACKEND_KEY = "_auth_user_backend"


def _rename(apps, schema_editor, old: str, new: str) -> None:
    from django.contrib.sessions.backends.db import SessionStore

    Session = apps.get_model("sessions", "Session")
    store = SessionStore()
    sessions = Session.objects.using(schema_editor.connection.alias)
    for session in sessions.iterator():
        data = store.decode(session.session_data)
        if data.get(BACKEND_KEY) == old:
            data[BACKEND_KEY] = new
            session.session_data = store.encode(data)
            session.save(update_fields=["session_data"])


def forwards(apps, schema_editor):
    _rename(apps, schema_editor, DJANGO, LABBOOK)


def backwards(apps, schema_editor):
    _rename(apps, schema_editor, LABBOOK, DJANGO)


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline_core", "0003_saved_queries"),
        ("sessions", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
