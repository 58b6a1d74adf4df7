"""Sessions move to orgs.Session (Django's, with the sha256 of each key): the sessions of
Django's own table move along, so nobody is signed out by the upgrade. They move, not are
copied: a process still running the old code then finds no session (it signs nobody in
until it restarts) rather than one already ended on a new node (docs/deploy.md,
Upgrades). Reversed, they move back."""

import hashlib

from django.db import migrations, models


def copy_sessions(apps, schema_editor):
    Old = apps.get_model("sessions", "Session")
    New = apps.get_model("orgs", "Session")
    batch = []
    for old in Old.objects.iterator(chunk_size=1000):
        batch.append(
            New(
                session_key=old.session_key,
                session_data=old.session_data,
                expire_date=old.expire_date,
                key_hash=hashlib.sha256(old.session_key.encode()).hexdigest(),
            )
        )
        if len(batch) == 1000:
            New.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    New.objects.bulk_create(batch, ignore_conflicts=True)
    Old.objects.all().delete()


def copy_back(apps, schema_editor):
    Old = apps.get_model("sessions", "Session")
    New = apps.get_model("orgs", "Session")
    Old.objects.bulk_create(
        (
            Old(session_key=s.session_key, session_data=s.session_data, expire_date=s.expire_date)
            for s in New.objects.iterator(chunk_size=1000)
        ),
        batch_size=1000,
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("orgs", "0010_apitoken_mfa_used"),
        ("sessions", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="Session",
            fields=[
                (
                    "session_key",
                    models.CharField(
                        max_length=40, primary_key=True, serialize=False, verbose_name="session key"
                    ),
                ),
                ("session_data", models.TextField(verbose_name="session data")),
                ("expire_date", models.DateTimeField(db_index=True, verbose_name="expire date")),
                ("key_hash", models.CharField(max_length=64, unique=True)),
            ],
            options={
                "verbose_name": "session",
                "verbose_name_plural": "sessions",
                "abstract": False,
            },
        ),
        migrations.RunPython(copy_sessions, copy_back),
    ]
