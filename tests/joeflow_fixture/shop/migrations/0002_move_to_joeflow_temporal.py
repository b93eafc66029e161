# The migration the joeflow procedure has the project write (docs/coming-from-joeflow.md, step 5).
# Here 0001 already extends joeflow_temporal's Workflow (step 7 done), so it changes nothing.

from django.db import migrations

from joeflow_temporal.operations import MoveToJoeflowTemporal


class Migration(migrations.Migration):

    dependencies = [
        ('shop', '0001_initial'),
        ('joeflow_temporal', '0001_initial'),
    ]

    operations = [
        MoveToJoeflowTemporal('order'),
        MoveToJoeflowTemporal('reminder'),
    ]
