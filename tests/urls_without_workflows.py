"""A project that forgot to include the workflow URLs (for the system check test)."""

urlpatterns = []
