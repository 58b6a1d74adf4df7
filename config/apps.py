"""The project's own app (it registers the system checks of the two-origin set-up), and
Django's admin with the operators' admin site (config.admin_site)."""

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class ProjectConfig(AppConfig):
    name = "config"
    label = "project"
    verbose_name = "Project configuration"

    def ready(self):
        # Here, not at the top: Django imports every app's module before it is ready.
        from . import checks  # noqa: F401  (registers the checks)


class OperatorAdminConfig(AdminConfig):
    default_site = "config.admin_site.OperatorAdminSite"
