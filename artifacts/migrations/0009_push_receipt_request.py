"""Push receipts record what the push asked for (operation, target, bytes, fields), so that
a key reused for another push is refused instead of replayed. Receipts kept from before get
their operation, target and bytes from their version; their fields stay unknown (null)."""

from django.db import migrations, models


def fill_from_versions(apps, schema_editor):
    PushReceipt = apps.get_model("artifacts", "PushReceipt")
    for receipt in PushReceipt.objects.select_related("version").iterator(chunk_size=500):
        version = receipt.version
        receipt.operation = "create" if version.number == 1 else "version"
        receipt.target = "" if version.number == 1 else version.artifact_id
        receipt.sha256 = version.blob_id
        receipt.save(update_fields=["operation", "target", "sha256"])


class Migration(migrations.Migration):
    dependencies = [
        ("artifacts", "0008_sandbox_grant"),
    ]

    operations = [
        migrations.AddField(
            model_name="pushreceipt",
            name="operation",
            field=models.CharField(
                choices=[("create", "create"), ("version", "version")], default="", max_length=8
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="pushreceipt",
            name="target",
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AddField(
            model_name="pushreceipt",
            name="sha256",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="pushreceipt",
            name="fields",
            field=models.JSONField(null=True),
        ),
        migrations.RunPython(fill_from_versions, migrations.RunPython.noop),
    ]
