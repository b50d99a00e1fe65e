"""The Celery application of LabBook.

Configuration comes from Django settings with the ``CELERY_`` prefix (broker and result
backend from ``REDIS_URL``, default queue from ``LABBOOK_CELERY_QUEUE``); tasks are found in
each installed app's ``tasks`` module. Start a worker with::

    .venv/bin/celery -A labbook worker -l info -c 1 -Q "${LABBOOK_CELERY_QUEUE:-labbook}"
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labbook.settings")

app = Celery("labbook")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
