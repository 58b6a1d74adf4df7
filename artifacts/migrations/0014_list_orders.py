import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models


def search_speedups_make(apps, schema_editor):
    """PostgreSQL: a trigram index on the title, for a search's match of the title as typed
    (UPPER(title) LIKE '%WORDS%', Django's icontains), which would otherwise read every
    artifact (pg_trgm ships with PostgreSQL and is a trusted extension: the database's
    owner may create it; docs/deploy.md). And the search rows' long columns (the text,
    the tsvector) kept out of line, so that the rows a match reads, found by the GIN index,
    lie on a tenth as many pages."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute(
            "CREATE INDEX artifact_title_trigrams ON artifacts_artifact "
            "USING GIN (UPPER(title) gin_trgm_ops)"
        )
        # The title's words, for a search's rank: the expression is Django's
        # SearchVector("title", config="simple"), as artifacts.search writes it.
        schema_editor.execute(
            "CREATE INDEX artifact_title_words ON artifacts_artifact USING GIN "
            "(to_tsvector('simple'::regconfig, COALESCE(title, ''::character varying)::text))"
        )
        # The key and the title stay in the row whatever the target: a match reads them.
        schema_editor.execute(
            "ALTER TABLE artifacts_searchtext ALTER COLUMN artifact_id SET STORAGE PLAIN, "
            "ALTER COLUMN title SET STORAGE PLAIN, SET (toast_tuple_target = 256)"
        )


def search_speedups_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS artifact_title_trigrams")
        schema_editor.execute("DROP INDEX IF EXISTS artifact_title_words")
        schema_editor.execute(
            "ALTER TABLE artifacts_searchtext ALTER COLUMN artifact_id SET STORAGE EXTENDED, "
            "ALTER COLUMN title SET STORAGE EXTENDED, RESET (toast_tuple_target)"
        )


class Migration(migrations.Migration):

    dependencies = [
        ('artifacts', '0013_search'),
        ('orgs', '0015_retention_view_days'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='artifact',
            index=models.Index(django.db.models.functions.text.Lower('title'), models.F('id'), name='artifact_title_order'),
        ),
        migrations.AddIndex(
            model_name='artifact',
            index=models.Index(fields=['created_at', 'id'], name='artifact_created_order'),
        ),
        migrations.RunPython(search_speedups_make, search_speedups_drop),
    ]
