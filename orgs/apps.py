"""App config: connects the allauth receivers."""

from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "orgs"

    def ready(self):
        # Here, not at the top: the receivers import models, which need the apps loaded.
        from . import signals  # noqa: F401  (connects the allauth receivers)
