import graphviz
from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

from joeflow_temporal.graphs import INSTALL_HINT
from joeflow_temporal.registry import get_workflows


class Command(BaseCommand):
    """``manage.py render_workflow_graph [app_label.workflow ...] [-f svg|pdf|png] [-d DIR] [-c]``,
    with joeflow's options: one file per workflow class, ``<app_label>_<model_name>.<format>``.

    A label that names no workflow is skipped with a warning, as joeflow does, so the others
    still render. Raises ``CommandError`` when Graphviz's ``dot`` is missing.
    """

    help = "Render workflow graph to file."

    def add_arguments(self, parser):
        parser.add_argument(
            "workflow",
            nargs="*",
            help="List of workflow to render in the form app_label.workflow_name (default: all).",
        )
        parser.add_argument(
            "-f",
            "--format",
            dest="format",
            default="svg",
            choices=("svg", "pdf", "png"),
            help="Output file format. Default: svg",
        )
        parser.add_argument(
            "-d",
            "--directory",
            dest="directory",
            default=".",
            help="Output directory. Default is current working directory.",
        )
        parser.add_argument(
            "-c",
            "--cleanup",
            dest="cleanup",
            action="store_true",
            help="Remove dot-files after rendering.",
        )

    def handle(self, *labels, workflow=(), format="svg", directory=".", cleanup=False, **options):
        for workflow_class in self.workflows(list(labels) + list(workflow)):
            opts = workflow_class._meta
            filename = f"{opts.app_label}_{opts.model_name}"
            try:
                path = workflow_class.get_graph().render(
                    filename=filename, directory=directory, format=format, cleanup=cleanup
                )
            except graphviz.ExecutableNotFound:
                raise CommandError(INSTALL_HINT)
            if options["verbosity"] > 0:
                self.stdout.write(f"Rendered {opts.label_lower} to {path}")

    def workflows(self, labels):
        """The workflows named by ``labels`` (all without labels); a label that names no
        workflow (a model that is not one, an app label, a typo) is skipped with a warning,
        as joeflow does, so that the others still render."""
        if not labels:
            return get_workflows()
        workflows = []
        for label in labels:
            try:
                model = apps.get_model(label)
            except (LookupError, ValueError):
                model = None
            if model in get_workflows():
                workflows.append(model)
            else:
                self.stderr.write(
                    f"Skipped {label!r}: not a workflow (use app_label.workflow_name).",
                    self.style.WARNING,
                )
        return workflows
