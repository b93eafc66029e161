from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "django_integration.demo"
    label = "demo"
