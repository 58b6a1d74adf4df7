"""The Celery application: Redis broker when REDIS_URL is set, a folder on disk otherwise.
Without DJANGO_SETTINGS_MODULE a worker runs the production settings (`manage.py up` sets
the local ones for the worker it starts)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("artifacts")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()  # each app's tasks module
app.autodiscover_tasks(["artifacts.retention"])  # and the retention room's
