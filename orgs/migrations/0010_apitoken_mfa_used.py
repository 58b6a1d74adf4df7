"""Tokens record whether the sign-in that made them used a second factor. Tokens made
before keep working as they did: they count as if it had."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orgs", "0009_retention"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="mfa_used",
            field=models.BooleanField(default=True),
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="mfa_used",
            field=models.BooleanField(default=False),
        ),
    ]
