"""manage.py create_token SLUG EMAIL [--name NAME] — prints the token alone on its last line."""

from django.contrib.auth import get_user_model

from orgs.errors import NotFound
from orgs.services import token_create

from ._base import ServiceCommand


class Command(ServiceCommand):
    help = "Create an API token for a member; the token is printed once, on the last line."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("email")
        parser.add_argument("--name", default="cli")

    def handle(self, slug, email, name, **options):
        org = self.org_get(slug)
        user = get_user_model().objects.filter(email__iexact=email).first()
        if user is None:
            raise NotFound(f"No user with email {email!r}.")
        token, secret = token_create(user=user, organization=org, name=name, mfa_used=True)
        self.stdout.write(f"Token {token.name!r} for {user.email} in {org.slug} (shown once):")
        self.stdout.write(secret)
