from django.urls import include, path
from shop.models import OrderWorkflow, ReminderWorkflow

urlpatterns = [
    path("orders/", include(OrderWorkflow.urls())),
    path("reminders/", include(ReminderWorkflow.urls())),
]
