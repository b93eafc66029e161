"""The expense workflow's candidate groups, so that a fresh project can run it at once."""

from django.db import migrations

GROUPS = ["expense reviewers", "expense managers"]


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in GROUPS:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("demo", "0002_expense_expenseworkflow"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
