"""The REST API's URLs: ``path("api/", include("joeflow_temporal.api.urls"))``."""

from django.urls import path, re_path

from joeflow_temporal.api import views

app_name = "joeflow_temporal_api"

workflow = "workflows/<str:workflow>/"
instance = f"{workflow}instances/<int:pk>/"

urlpatterns = [
    path("", views.RootEndpoint.as_view(), name="root"),
    path("workflows/", views.WorkflowListEndpoint.as_view(), name="workflow-list"),
    path(workflow, views.WorkflowEndpoint.as_view(), name="workflow-detail"),
    path(f"{workflow}start/<str:task>/", views.StartEndpoint.as_view(), name="workflow-start"),
    path(f"{workflow}instances/", views.InstanceListEndpoint.as_view(), name="instance-list"),
    path(instance, views.InstanceEndpoint.as_view(), name="instance-detail"),
    path(
        f"{instance}override/", views.InstanceOverrideEndpoint.as_view(), name="instance-override"
    ),
    path(f"{instance}cancel/", views.InstanceCancelEndpoint.as_view(), name="instance-cancel"),
    path(
        f"{instance}events/<str:name>/",
        views.InstanceEventEndpoint.as_view(),
        name="instance-event",
    ),
    path("tasks/", views.TaskListEndpoint.as_view(), name="task-list"),
    path("tasks/<int:pk>/", views.TaskDetailEndpoint.as_view(), name="task-detail"),
    path("tasks/<int:pk>/complete/", views.TaskCompleteEndpoint.as_view(), name="task-complete"),
    path("tasks/<int:pk>/rerun/", views.TaskRerunEndpoint.as_view(), name="task-rerun"),
    path("tasks/<int:pk>/cancel/", views.TaskCancelEndpoint.as_view(), name="task-cancel"),
    path("tasks/<int:pk>/claim/", views.TaskClaimEndpoint.as_view(), name="task-claim"),
    path("tasks/<int:pk>/unclaim/", views.TaskUnclaimEndpoint.as_view(), name="task-unclaim"),
    path("tasks/<int:pk>/assign/", views.TaskAssignEndpoint.as_view(), name="task-assign"),
    path("schema/", views.SchemaEndpoint.as_view(), name="schema"),
    path(
        "schema/swagger-ui/",
        views.SwaggerUIEndpoint.as_view(url_name=f"{app_name}:schema"),
        name="swagger-ui",
    ),
    # Any other path ending in a slash (one without is first sent there by APPEND_SLASH), also
    # one with a newline in it.
    re_path(r"^[\s\S]+/$", views.NoEndpoint.as_view(), name="no-endpoint"),
]
