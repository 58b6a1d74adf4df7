"""The database cache table (the default cache without Redis: rate limits, cached sandbox
decisions), made by `migrate` so that no deployment can forget `createcachetable`."""

from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("artifacts", "0005_retention")]

    operations = [migrations.RunPython(create_cache_tables, migrations.RunPython.noop)]
