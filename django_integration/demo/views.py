"""The reference project's home page: every workflow with its graph, and the user's inbox."""

from django.urls import NoReverseMatch, reverse
from django.views.generic import TemplateView

from joeflow_temporal.models import Task
from joeflow_temporal.registry import get_workflows


def start_links(workflow_class) -> list[tuple[str, str]]:
    links = []
    for name, node in workflow_class.get_human_nodes().items():
        if node.node_kind == "start_view":
            try:
                links.append((name, reverse(f"{workflow_class.get_url_namespace()}:{name}")))
            except NoReverseMatch:
                pass
    return links


def detail_url(instance) -> str | None:
    try:
        return instance.get_absolute_url()
    except NoReverseMatch:  # a workflow whose URLs this project does not include
        return None


class IndexView(TemplateView):
    template_name = "demo/index.html"

    def get_context_data(self, **kwargs):
        workflows = [
            {
                "class": workflow,
                "name": workflow._meta.verbose_name,
                "starts": start_links(workflow),
                "recent": [
                    (instance, detail_url(instance))
                    for instance in workflow.objects.order_by("-pk")[:5]
                ],
            }
            for workflow in get_workflows()
        ]
        inbox = (
            Task.objects.human()
            .scheduled()
            .for_user(self.request.user)
            .select_related("content_type")
            .order_by("-pk")[:50]
        )
        return super().get_context_data(workflows=workflows, inbox=inbox, **kwargs)
