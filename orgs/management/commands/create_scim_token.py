"""manage.py create_scim_token SLUG [--name NAME] — prints the token alone on its last line."""

from orgs.scim.services import scim_token_create

from ._base import ServiceCommand


class Command(ServiceCommand):
    help = (
        "Create a SCIM token for an organisation's identity provider; the token is printed "
        "once, on the last line."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", default="SCIM")

    def handle(self, slug, name, **options):
        org = self.org_get(slug)
        token, secret = scim_token_create(organization=org, name=name)
        self.stdout.write(f"SCIM token {token.name!r} for {org.slug} (shown once):")
        self.stdout.write(secret)
