from django.apps import AppConfig


class JoeflowTemporalConfig(AppConfig):
    name = "joeflow_temporal"
    verbose_name = "Workflows"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from joeflow_temporal import checks  # noqa: F401  (registers the system checks)
        from joeflow_temporal.contrib.reversion import register_workflows

        register_workflows()
