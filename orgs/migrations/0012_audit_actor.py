"""Audit events keep who acted (kind and email) beyond the account. Existing events: a
user's get their email; events without a user are the retention run's (system) or else
an operator's command (before this, an event whose user was deleted looked the same: it
is counted as the operator's too)."""

from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

RETENTION_ACTIONS = (
    "artifact.expire",
    "artifact.versions_prune",
    "artifact.purge",
    "retention.run",
)


def fill(apps, schema_editor):
    AuditEvent = apps.get_model("orgs", "AuditEvent")
    User = apps.get_model(settings.AUTH_USER_MODEL)
    events = AuditEvent.objects.all()
    email = User.objects.filter(pk=OuterRef("actor_id")).values("email")[:1]
    events.filter(actor__isnull=False).update(actor_kind="user", actor_email=Subquery(email))
    events.filter(actor__isnull=True, action__in=RETENTION_ACTIONS).update(actor_kind="system")
    events.filter(actor__isnull=True).exclude(action__in=RETENTION_ACTIONS).update(
        actor_kind="operator"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("orgs", "0011_session"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
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
