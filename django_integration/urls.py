from django.contrib import admin
from django.contrib.auth.views import LoginView, LogoutView
from django.urls import include, path

from django_integration.demo import models as demo
from django_integration.demo.views import IndexView

urlpatterns = [
    path("", IndexView.as_view(), name="index"),
    path("admin/", admin.site.urls),
    # Every user signs in here (the admin's login page takes staff only).
    path("accounts/login/", LoginView.as_view(template_name="demo/login.html"), name="login"),
    path("accounts/logout/", LogoutView.as_view(next_page="index"), name="logout"),
    path("tasks/", include("joeflow_temporal.urls")),  # the inbox, the overview pages
    path("api/", include("joeflow_temporal.api.urls")),
    path("welcome/", include(demo.WelcomeWorkflow.urls())),
    path("shipping/", include(demo.ShippingWorkflow.urls())),
    path("patrol/", include(demo.PatrolWorkflow.urls())),
    path("expenses/", include(demo.ExpenseWorkflow.urls())),
    path("reports/", include(demo.NightlyReportWorkflow.urls())),
]
