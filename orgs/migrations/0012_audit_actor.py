"""Audit events keep who acted (kind and email) beyond the account. Existing events: a
user's get their email; events without a user are the retention run's (system) or an
operator's command."""

from django.db import migrations, models

RETENTION_ACTIONS = (
    "artifact.expire",
    "artifact.versions_prune",
    "artifact.purge",
    "retention.run",
)


def fill(apps, schema_editor):
    AuditEvent = apps.get_model("orgs", "AuditEvent")
    events = AuditEvent.objects.all()
    users = events.filter(actor__isnull=False).select_related("actor")
    for event in users.iterator(chunk_size=1000):
        event.actor_kind, event.actor_email = "user", event.actor.email
        event.save(update_fields=["actor_kind", "actor_email"])
    events.filter(actor__isnull=True, action__in=RETENTION_ACTIONS).update(actor_kind="system")
    events.filter(actor__isnull=True).exclude(action__in=RETENTION_ACTIONS).update(
        actor_kind="operator"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("orgs", "0011_session"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="actor_email",
            field=models.CharField(blank=True, max_length=254),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="actor_kind",
            field=models.CharField(
                choices=[
                    ("user", "User"),
                    ("operator", "Operator"),
                    ("system", "System"),
                    ("idp", "Idp"),
                ],
                default="operator",
                max_length=10,
            ),
            preserve_default=False,
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
