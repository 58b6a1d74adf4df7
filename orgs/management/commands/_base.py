"""Shared plumbing of the operator commands: service errors become one-line CommandErrors."""

from django.core.management.base import BaseCommand, CommandError

from orgs.errors import NotFound, ServiceError
from orgs.models import Organization


class ServiceCommand(BaseCommand):
    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except ServiceError as exc:
            raise CommandError(exc.message) from exc

    @staticmethod
    def org_get(slug: str) -> Organization:
        org = Organization.objects.filter(slug=slug).first()
        if org is None:
            raise NotFound(f"No organisation with slug {slug!r}.")
        return org
