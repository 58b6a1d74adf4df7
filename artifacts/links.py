"""Absolute URLs of artifacts on the app origin: what the API answers, the viewer shows
and emails carry (the stable link, and a version's link)."""

from django.conf import settings

from .models import Artifact


def artifact_url(artifact: Artifact) -> str:
    return f"{settings.ARTIFACTS_APP_URL}/a/{artifact.pk}/"


def version_url(artifact: Artifact, number: int) -> str:
    return f"{settings.ARTIFACTS_APP_URL}/a/{artifact.pk}/v/{number}/"
