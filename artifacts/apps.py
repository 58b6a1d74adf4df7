"""App config for artifacts."""

from django.apps import AppConfig


class ArtifactsConfig(AppConfig):
    name = "artifacts"

    def ready(self):
        from orgs.services import member_removed

        from .services import shares_drop_for_removed_member

        member_removed.connect(shares_drop_for_removed_member, dispatch_uid="artifacts-shares")

        from . import authz

        authz.connect()  # what invalidates cached sandbox decisions
