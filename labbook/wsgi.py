"""WSGI entry point (``gunicorn labbook.wsgi``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labbook.settings")

application = get_wsgi_application()
