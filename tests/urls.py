from django.urls import include, path

from django_integration.urls import urlpatterns as project_urlpatterns
from tests.joeflow_fixture.shop import models as shop
from tests.testapp import models

urlpatterns = [
    *project_urlpatterns,
    path("human/", include(models.HumanWorkflow.urls())),
    path("split/", include(models.SplitJoinWorkflow.urls())),
    path("loop/", include(models.LongLoopWorkflow.urls())),
    path("guarded/", include(models.GuardedWorkflow.urls())),
    path("chaos/", include(models.ChaosHumanWorkflow.urls())),
    path("deploy/", include(models.DeployWorkflow.urls())),
    path("custom-views/", include(models.CustomViewsWorkflow.urls())),
    path("custom-pages/", include(models.CustomPagesWorkflow.urls())),
    path("joeflow-hook/", include(models.JoeflowHookWorkflow.urls())),
    path("review/", include(models.ReviewWorkflow.urls())),
    path("approval/", include(models.ApprovalWorkflow.urls())),
    path("inbox-flow/", include(models.InboxWorkflow.urls())),
    path("hooked/", include(models.HookedWorkflow.urls())),
    path("reminded/", include(models.RemindedWorkflow.urls())),
    path("due-from-hook/", include(models.DueFromHookWorkflow.urls())),
    path("deadline-loop/", include(models.DeadlineLoopWorkflow.urls())),
    path("approved-payment/", include(models.ApprovedPaymentWorkflow.urls())),
    path("subworkflow-order/", include(models.SubworkflowOrderWorkflow.urls())),
    path("pack-item/", include(models.PackItemWorkflow.urls())),
    path("shop/orders/", include(shop.OrderWorkflow.urls())),
]
