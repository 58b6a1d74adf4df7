"""App config: registers the system checks of the two-origin set-up."""

from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "orgs"

    def ready(self):
        from config import checks  # noqa: F401  (registers the checks)

        from . import signals  # noqa: F401  (connects the allauth receivers)
