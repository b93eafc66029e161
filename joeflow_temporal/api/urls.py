"""The REST API's URLs: ``path("api/", include("joeflow_temporal.api.urls"))``."""

from django.urls import path, re_path

from joeflow_temporal.api import views

app_name = "joeflow_temporal_api"

workflow = "workflows/<str:workflow>/"
instance = f"{workflow}instances/<int:pk>/"

urlpatterns = [
    path("", views.APIRootView.as_view(), name="root"),
    path("workflows/", views.WorkflowListView.as_view(), name="workflow-list"),
    path(workflow, views.WorkflowDetailView.as_view(), name="workflow-detail"),
    path(f"{workflow}start/<str:task>/", views.StartView.as_view(), name="workflow-start"),
    path(f"{workflow}instances/", views.InstanceListView.as_view(), name="instance-list"),
    path(instance, views.InstanceDetailView.as_view(), name="instance-detail"),
    path(f"{instance}override/", views.OverrideView.as_view(), name="instance-override"),
    path(f"{instance}cancel/", views.InstanceCancelView.as_view(), name="instance-cancel"),
    path("tasks/", views.TaskListView.as_view(), name="task-list"),
    path("tasks/<int:pk>/", views.TaskDetailView.as_view(), name="task-detail"),
    path("tasks/<int:pk>/complete/", views.TaskCompleteView.as_view(), name="task-complete"),
    path("tasks/<int:pk>/rerun/", views.TaskRerunView.as_view(), name="task-rerun"),
    path("tasks/<int:pk>/cancel/", views.TaskCancelView.as_view(), name="task-cancel"),
    path("schema/", views.SchemaView.as_view(), name="schema"),
    path(
        "schema/swagger-ui/",
        views.SwaggerView.as_view(url_name=f"{app_name}:schema"),
        name="swagger-ui",
    ),
    re_path(r"^(?:workflows|tasks|schema)/", views.NoEndpointView.as_view(), name="no-endpoint"),
]
