"""manage.py add_member SLUG EMAIL --role ROLE [--password PASSWORD]"""

from orgs.models import Role
from orgs.services import member_add

from ._base import ServiceCommand


class Command(ServiceCommand):
    help = "Add a member (creating the user, email verified, if missing) or change their role."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("email")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--password", default=None)

    def handle(self, slug, email, role, password, **options):
        membership = member_add(
            organization=self.org_get(slug), email=email, role=role, password=password
        )
        self.stdout.write(f"{membership.user.email} is {membership.role} of {slug}.")
