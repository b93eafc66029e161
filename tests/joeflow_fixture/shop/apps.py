from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "tests.joeflow_fixture.shop"
    label = "shop"
