"""manage.py remove_member SLUG EMAIL"""

from orgs.services import member_remove

from ._base import ServiceCommand


class Command(ServiceCommand):
    help = "Remove a member from an organisation (their tokens for it are revoked)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("email")

    def handle(self, slug, email, **options):
        member_remove(organization=self.org_get(slug), email=email)
        self.stdout.write(f"Removed {email} from {slug}.")
