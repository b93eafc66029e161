"""A migration operation for projects that come from joeflow (after ``import_joeflow``).

A joeflow workflow model extends ``joeflow.models.Workflow`` by multi-table inheritance: its
table has a parent link, ``workflow_ptr``, to ``joeflow_workflow``, and its migrations record
joeflow's model as its base. Renaming the import changes the class, not the table, and
``makemigrations`` cannot move a base (its ``AlterField`` fails with "Auto-generated field
'workflow_ptr' ... clashes with declared field of the same name"). This operation moves both.
"""

from django.db import migrations, models

JOEFLOW_WORKFLOW = "joeflow.workflow"
OUR_WORKFLOW = "joeflow_temporal.workflow"


class MoveToJoeflowTemporal(migrations.AlterField):
    """Make the model ``model_name`` extend joeflow_temporal's ``Workflow`` instead of joeflow's.

    The database change is Django's own ``AlterField`` of ``workflow_ptr``: on PostgreSQL its
    foreign key constraint is replaced, on SQLite the table is rebuilt. The rows it points at
    must exist in ``joeflow_temporal_workflow`` first: run ``import_joeflow`` before applying
    it. On a database created from scratch (the model's base already ours) it changes nothing.

    Args:
        model_name: a concrete workflow model of the migration's app, e.g. ``"order"``; proxy
            models have no table and need nothing.
    """

    reversible = False
    """Back to joeflow is a restore of the backup taken before the move."""

    def __init__(self, model_name: str) -> None:
        super().__init__(
            model_name=model_name,
            name="workflow_ptr",
            field=models.OneToOneField(
                OUR_WORKFLOW,
                on_delete=models.CASCADE,
                parent_link=True,
                auto_created=True,
                primary_key=True,
                serialize=False,
            ),
        )

    def deconstruct(self):
        return self.__class__.__name__, [self.model_name], {}

    def state_forwards(self, app_label, state):
        model_state = state.models[app_label, self.model_name_lower]
        model_state.bases = tuple(
            OUR_WORKFLOW if isinstance(base, str) and base.lower() == JOEFLOW_WORKFLOW else base
            for base in model_state.bases
        )
        super().state_forwards(app_label, state)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        # The model as it will be (our base): SQLite rebuilds the table from its class, and
        # the class as it was cannot take a parent link to another base.
        to_model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, to_model):
            from_model = from_state.apps.get_model(app_label, self.model_name)
            schema_editor.alter_field(
                to_model, from_model._meta.get_field(self.name), to_model._meta.get_field(self.name)
            )

    def describe(self) -> str:
        return f"Move {self.model_name} from joeflow's Workflow to joeflow_temporal's"

    @property
    def migration_name_fragment(self) -> str:
        return f"move_{self.model_name_lower}_to_joeflow_temporal"
