"""App config for artifacts: connects what follows changes elsewhere."""

from django.apps import AppConfig


class ArtifactsConfig(AppConfig):
    name = "artifacts"

    def ready(self):
        # Here, not at the top: these import models, which need the apps loaded.
        from orgs.services import member_removed

        from .sandbox import authz
        from .services import shares_drop_for_removed_member

        member_removed.connect(shares_drop_for_removed_member, dispatch_uid="artifacts-shares")
        authz.connect()  # what invalidates cached sandbox decisions
