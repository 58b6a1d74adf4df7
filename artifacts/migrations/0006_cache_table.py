"""The database cache table (the default cache without Redis: rate limits, cached sandbox
decisions), made by `migrate` so that no deployment can forget `createcachetable`."""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations


def create_cache_tables(apps, schema_editor):
    # Whatever CACHES says now: a node of the same database may run without Redis (the
    # embedded default, a Redis outage plan) and then needs the table.
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, "cache", dry_run=False)


class Migration(migrations.Migration):
    dependencies = [("artifacts", "0005_retention")]

    operations = [migrations.RunPython(create_cache_tables, migrations.RunPython.noop)]
