"""ASGI entry point. Without DJANGO_SETTINGS_MODULE it runs the production settings,
which refuse to start without their variables: a server is never in debug mode by
omission."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_asgi_application()
