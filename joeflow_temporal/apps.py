from django.apps import AppConfig


class JoeflowTemporalConfig(AppConfig):
    name = "joeflow_temporal"
    verbose_name = "Workflows"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from joeflow_temporal import checks  # noqa: F401  (registers the system checks)
