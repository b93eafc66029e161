"""The REST API (Django REST framework): mount it with ``path("api/", include(...api.urls))``."""
