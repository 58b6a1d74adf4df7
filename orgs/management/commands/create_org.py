"""manage.py create_org SLUG [--name NAME]"""

from orgs.services import org_create

from ._base import ServiceCommand


class Command(ServiceCommand):
    help = "Create an organisation."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", default="")

    def handle(self, slug, name, **options):
        org = org_create(slug=slug, name=name)
        self.stdout.write(f"Created organisation {org.slug} ({org.name}).")
