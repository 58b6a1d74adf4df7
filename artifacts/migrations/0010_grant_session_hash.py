"""A grant names its session by the hash of the session's key (orgs.Session.key_hash), so
that the query reading the grant joins the live session. Grants minted before (they start
loads for two minutes) are dropped; reloading a page mints new ones."""

from django.db import migrations, models


def drop_grants(apps, schema_editor):
    apps.get_model("artifacts", "SandboxGrant").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("artifacts", "0009_push_receipt_request"),
        ("orgs", "0011_session"),
    ]

    operations = [
        migrations.RunPython(drop_grants, migrations.RunPython.noop),
        migrations.RemoveField(model_name="sandboxgrant", name="sealed_session_key"),
        migrations.AddField(
            model_name="sandboxgrant",
            name="session_hash",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
    ]
