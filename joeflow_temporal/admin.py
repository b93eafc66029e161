"""Admin for the Task mirror (rerun/cancel through Temporal) and a base admin for workflows."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import actions, helpers
from django.contrib.admin.utils import unquote
from django.db import router, transaction
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join

from joeflow_temporal import conf, refusals
from joeflow_temporal.contrib.reversion import VersionAdmin
from joeflow_temporal.exceptions import InstanceNotRunning, TaskNotScheduled, TemporalUnavailable
from joeflow_temporal.forms import COMMENT_MAX_LENGTH, OverrideForm, StartForm, start_task_names
from joeflow_temporal.lookups import pk_fits
from joeflow_temporal.models import Task
from joeflow_temporal.relatives import children_of, page_url, parent_of


class WorkflowClassFilter(admin.SimpleListFilter):
    title = "workflow"
    parameter_name = "workflow"

    def lookups(self, request, model_admin):
        from joeflow_temporal.registry import get_workflows

        return [(w._meta.label_lower, w._meta.verbose_name) for w in get_workflows()]

    def queryset(self, request, queryset):
        if self.value():
            app_label, _, model = self.value().partition(".")
            return queryset.filter(content_type__app_label=app_label, content_type__model=model)
        return queryset


def admin_change_url(admin_site, model, pk) -> str | None:
    """The admin change page of ``model``'s row ``pk``; None if the site does not register it."""
    if not admin_site.is_registered(model):
        return None
    opts = model._meta
    return reverse(
        f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk], current_app=admin_site.name
    )


def task_admin_link(task):
    url = reverse("admin:joeflow_temporal_task_change", args=[task.pk])
    return format_html('<a href="{}">{} #{}</a>', url, task.name, task.pk)


def act_on_tasks(modeladmin, request, queryset, action: str, past: str, comment: str = "") -> None:
    """Apply ``Task.<action>`` (with ``comment``) to each task through Temporal and say what was
    skipped and why."""
    done, skipped, failed = 0, [], []
    for task in queryset:
        try:
            getattr(task, action)(user=request.user, comment=comment)
        except (TaskNotScheduled, InstanceNotRunning) as error:
            skipped.append(f"{task.name} #{task.pk} ({error})")
        except TemporalUnavailable as error:
            modeladmin.message_user(
                request, f"Stopped: {error} Nothing more was changed.", messages.ERROR
            )
            break
        else:
            if task.status == Task.FAILED:  # a human task's create_task hook raised again
                failed.append(f"{task.name} #{task.pk} ({task.exception})")
            else:
                done += 1
    if done:
        modeladmin.message_user(request, f"{done} task(s) {past}.", messages.SUCCESS)
    if skipped:
        modeladmin.message_user(
            request, f"Skipped {len(skipped)}: {'; '.join(skipped)}", messages.WARNING
        )
    if failed:
        modeladmin.message_user(
            request, f"Failed again {len(failed)}: {'; '.join(failed)}", messages.ERROR
        )


class CommentForm(forms.Form):
    comment = forms.CharField(
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="Why: kept on the tasks and shown in the instance's Temporal history.",
    )


ACTION_CONFIRMATION_TEMPLATE = "admin/joeflow_temporal/task/action_confirmation.html"


def confirm_then(modeladmin, request, queryset, action: str, past: str, prompt: str):
    """Django's delete confirmation, for ``rerun`` and ``cancel``: the first post (from the
    change list) answers a page listing the tasks with a ``comment`` box; the second (``post``
    set) runs the action with that comment, and the change list shows what it did."""
    form = CommentForm(request.POST if request.POST.get("post") else None)
    if form.is_valid():
        act_on_tasks(modeladmin, request, queryset, action, past, form.cleaned_data["comment"])
        return None
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": prompt,
        "action": action,
        "prompt": prompt,
        "rows": [
            (task, f"{task.content_type.name} #{task._workflow_id}")
            for task in queryset.select_related("content_type").order_by("pk")
        ],
        "form": form,
        "opts": opts,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": modeladmin.media,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, ACTION_CONFIRMATION_TEMPLATE, context)


@admin.action(permissions=["rerun"], description="Rerun selected failed tasks")
def rerun(modeladmin, request, queryset):
    """Run each selected failed task again, through Temporal (joeflow's admin action): a
    machine task's method, a human task's ``create_task`` hook (``Task.rerun``).

    First a page asks for a comment (why), then the tasks are rerun with it
    (``confirm_then``). Needs ``modeladmin.has_rerun_permission(request)``; tasks that have
    not failed are skipped, and a hook that raises again is reported with its exception.
    """
    return confirm_then(
        modeladmin, request, queryset, "rerun", "sent to run again", "Rerun the selected tasks"
    )


@admin.action(permissions=["cancel"], description="Cancel selected open tasks")
def cancel(modeladmin, request, queryset):
    """Cancel each selected scheduled or failed task, through Temporal (joeflow's admin action).

    First a page asks for a comment (why), then the tasks are canceled with it
    (``confirm_then``). Needs ``modeladmin.has_cancel_permission(request)``; tasks that are
    not open are skipped.
    """
    return confirm_then(
        modeladmin, request, queryset, "cancel", "canceled", "Cancel the selected tasks"
    )


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "name",
        "instance",
        "type",
        "status",
        "priority",
        "due",
        "created",
        "completed",
    ]
    list_filter = ["status", "type", WorkflowClassFilter, "name"]
    list_select_related = ["content_type"]
    search_fields = ["name", "exception"]
    date_hierarchy = "created"
    actions = [rerun, cancel]
    fields = (
        "name",
        "instance",
        "type",
        "status",
        "parents",
        "children",
        "assignees",
        "candidate_groups",
        "due",
        "priority",
        "comment",
        "completed_by_user",
        "created",
        "modified",
        "completed",
        "exception",
        "traceback",
    )
    readonly_fields = [f for f in fields if f != "assignees"]
    filter_horizontal = ["assignees"]

    def has_add_permission(self, request):
        return False  # the engine creates tasks

    def get_readonly_fields(self, request, obj=None):
        """Assignees are edited only on an open human task: a closed task's are history."""
        if obj is None or (obj.type == Task.HUMAN and obj.status == Task.SCHEDULED):
            return self.readonly_fields
        return self.fields

    def has_delete_permission(self, request, obj=None):
        return False  # the mirror is history: cancel instead

    def view_on_site(self, task):
        return page_url(task)

    def save_model(self, request, obj, form, change):
        """Only the assignees are edited here (saved with the form's relations): the row keeps
        what the engine wrote meanwhile."""
        obj.save(update_fields=["modified"])

    @admin.display(description="workflow")
    def instance(self, task):
        model = task.content_type.model_class()
        if model is None:
            return f"{task.content_type} #{task._workflow_id}"
        label = f"{model._meta.verbose_name} #{task._workflow_id}"
        url = admin_change_url(self.admin_site, model, task._workflow_id)
        return format_html('<a href="{}">{}</a>', url, label) if url else label

    @admin.display(description="parents")
    def parents(self, task):
        return self.task_links(task.parent_task_set.all())

    @admin.display(description="children")
    def children(self, task):
        return self.task_links(task.child_task_set.all())

    def task_links(self, tasks):
        return format_html_join(", ", "{}", ((task_admin_link(task),) for task in tasks))

    @admin.display(description="traceback")
    def traceback(self, task):
        return format_html("<pre>{}</pre>", task.stacktrace) if task.stacktrace else "-"

    def has_rerun_permission(self, request):
        return request.user.has_perm("joeflow_temporal.rerun")

    def has_cancel_permission(self, request):
        return request.user.has_perm("joeflow_temporal.cancel")


class TaskInlineAdmin(admin.TabularInline):
    """The instance's tasks on its admin page, oldest first, each linked (joeflow's name)."""

    model = Task
    fk_name = "_workflow"
    fields = (
        "link",
        "name",
        "type",
        "status",
        "due",
        "priority",
        "candidate_groups",
        "comment",
        "created",
        "completed",
        "completed_by_user",
    )
    readonly_fields = fields
    ordering = ["pk"]
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("candidate_groups")

    def view_on_site(self, task):
        return page_url(task)

    @admin.display(description="task")
    def link(self, task):
        url = reverse("admin:joeflow_temporal_task_change", args=[task.pk])
        return format_html('<a href="{}">#{}</a>', url, task.pk)


@admin.action(
    permissions=["delete"],
    description=actions.delete_selected.short_description,  # type: ignore[attr-defined]  # set by @admin.action
)
def delete_selected(modeladmin, request, queryset):
    """Django's ``delete_selected``, for ended instances only: a running instance's execution
    would go on without its row, so the action refuses and names the running ones."""
    running = [str(instance) for instance in queryset if instance.completed is None]
    if running:
        modeladmin.message_user(
            request, RUNNING_NOT_DELETED.format(", ".join(running)), messages.ERROR
        )
        return None
    return actions.delete_selected(modeladmin, request, queryset)


BOOKKEEPING = ("created", "completed")
"""The fields of ``Workflow`` that the engine keeps, which a revert leaves alone."""

RUNNING_NOT_DELETED = (
    "Nothing was deleted: {} still running. End an instance first (cancel its open tasks), "
    "then delete it."
)


class WorkflowAdmin(VersionAdmin):
    """Admin for your workflow models: graph, tasks, engine status, override on save, and an
    add page that starts an instance.

    ``admin.site.register(ShippingWorkflow, WorkflowAdmin)``. With django-reversion installed
    it is a ``VersionAdmin``, as joeflow's (see ``joeflow_temporal.contrib.reversion``), without
    its recover pages: a deleted instance's tasks and execution are gone, and a row brought
    back without them would be no instance of its class.
    """

    form = OverrideForm
    start_form = StartForm
    """The add page's form: the fields and a start task (``forms.StartForm`` or a subclass)."""
    list_display = ["__str__", "created", "completed"]
    list_filter = ["created", "completed"]
    change_list_template = "joeflow_temporal/admin/workflow_change_list.html"
    """Django's, plus a link to the class's overview page (not django-reversion's: it links
    the recover pages)."""
    actions = [delete_selected]

    def get_inlines(self, request, obj):
        """Your ``inlines``, then the tasks: added here, as joeflow does, so that a
        ``VersionAdmin`` does not follow the Task rows into the instance's revisions (a revert
        would then rewrite the engine's mirror)."""
        return [*super().get_inlines(request, obj), TaskInlineAdmin]

    def get_readonly_fields(self, request, obj=None):
        return [
            *super().get_readonly_fields(request, obj),
            "engine",
            "instance_graph",
            "parent",
            "children",
        ]

    def get_queryset(self, request):
        """Only this class's instances: proxy classes share their concrete model's table."""
        queryset = self.model.instances()
        ordering = self.get_ordering(request)
        return queryset.order_by(*ordering) if ordering else queryset

    def get_object(self, request, object_id, from_field=None):
        """The instance; on a revert page, with the engine's bookkeeping as it is now."""
        if from_field is None and not pk_fits(self.model, object_id):
            return None  # the admin's "does not exist" page, not a 500
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            for name, value in getattr(request, "joeflow_bookkeeping", {}).items():
                setattr(obj, name, value)
        return obj

    def revision_view(self, request, object_id, version_id, extra_context=None):
        """django-reversion's revert page, reverting the instance's own fields only: when it
        was created and whether it has ended stay as the engine wrote them (an ended instance
        reverted to a version of while it ran would otherwise show as running again)."""
        if pk_fits(self.model, unquote(object_id)):
            current = self.model._default_manager.filter(pk=unquote(object_id))
            request.joeflow_bookkeeping = current.values(*BOOKKEEPING).first() or {}
        return super().revision_view(request, object_id, version_id, extra_context)

    def get_form(self, request, obj=None, **kwargs):
        """``form`` (joeflow's ``OverrideForm``, or your subclass) for users with the
        ``override`` permission on an existing instance, a plain model form for the others;
        ``start_form`` on the add page."""
        if obj is None:
            kwargs["form"] = self.start_form
        elif not request.user.has_perm("joeflow_temporal.override"):
            kwargs["form"] = forms.ModelForm
        return super().get_form(request, obj, **kwargs)

    def has_add_permission(self, request):
        """Adding starts an instance at a start task: none without one (or the permission)."""
        return super().has_add_permission(request) and bool(start_task_names(self.model))

    def view_on_site(self, obj):
        return page_url(obj)

    def has_delete_permission(self, request, obj=None):
        """Ended instances only (see ``delete_selected``)."""
        running = obj is not None and obj.completed is None
        return not running and super().has_delete_permission(request, obj)

    def get_deleted_objects(self, objs, request):
        """An instance's tasks go with it, though the task admin deletes none on its own."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(Task._meta.verbose_name)
        return deleted, counts, perms_needed, protected

    def changelist_view(self, request, extra_context=None):
        """The list, with ``overview_url``: the class's overview page (``joeflow_temporal:
        overview``), when the project includes ``joeflow_temporal.urls``."""
        try:
            url = reverse("joeflow_temporal:overview", args=[self.model._meta.label_lower])
        except NoReverseMatch:
            url = None
        return super().changelist_view(request, {"overview_url": url, **(extra_context or {})})

    def recoverlist_view(self, request, extra_context=None):
        raise Http404("Deleted instances cannot be recovered: their tasks and execution are gone.")

    def recover_view(self, request, version_id, extra_context=None):
        return self.recoverlist_view(request)

    def changeform_view(self, request, *args, **kwargs):
        """An override that Temporal refuses rolls the whole save back and says so.

        A transaction around this view (a ``VersionAdmin``'s revision, ``ATOMIC_REQUESTS``)
        is rolled back too, so that no revision records the change that was not saved.
        """
        try:
            return super().changeform_view(request, *args, **kwargs)
        except (TemporalUnavailable, InstanceNotRunning) as error:
            reason = str(error)
            instance = self.get_object(request, kwargs.get("object_id", (args or [None])[0]))
            if isinstance(error, InstanceNotRunning) and instance is not None:
                reason = refusals.explain(error, "override", instance=instance).message
            using = router.db_for_write(self.model)
            if transaction.get_connection(using).in_atomic_block:
                transaction.set_rollback(True, using=using)
            self.message_user(request, f"Nothing was saved: {reason}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        """Save, then override through the form's ``start_next_tasks(user)``, as the override
        page does, when next tasks or "End the instance" were chosen: saving without either
        only saves the fields (joeflow's admin would end the instance). A new instance starts at
        the start task chosen (``StartForm.start(user)``), in the same transaction, as a start
        view does: a row without its start would be no instance of the class."""
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if isinstance(form, StartForm):
                form.start(request.user)
            elif isinstance(form, OverrideForm) and form.override_chosen():
                form.start_next_tasks(request.user)

    @admin.display(description="engine")
    def engine(self, obj):
        if obj.pk is None:
            return "-"
        url = (
            f"{conf.get('JOEFLOW_TEMPORAL_UI_URL').rstrip('/')}/namespaces/"
            f"{conf.get('JOEFLOW_TEMPORAL_NAMESPACE')}/workflows/{obj.temporal_workflow_id}"
        )
        state = "ended" if obj.completed else "running"
        return format_html(
            '{} · <a href="{}" target="_blank" rel="noopener">{} in the Temporal web UI</a>',
            state,
            url,
            obj.temporal_workflow_id,
        )

    def instance_link(self, instance):
        """The instance's admin change page, else its own page, else its name alone."""
        url = admin_change_url(self.admin_site, type(instance), instance.pk) or page_url(instance)
        return format_html('<a href="{}">{}</a>', url, instance) if url else str(instance)

    @admin.display(description="parent")
    def parent(self, obj):
        """The instance whose ``Subworkflow`` task started this one, and that task."""
        relative = parent_of(obj) if obj.pk else None
        if relative is None:
            return "-"
        return format_html(
            "{} (task {})", self.instance_link(relative.instance), task_admin_link(relative.task)
        )

    @admin.display(description="children")
    def children(self, obj):
        """The instances this one's ``Subworkflow`` tasks started: running or ended, and the
        failed tasks that keep them (and the parent's task) waiting."""
        relatives = children_of(obj) if obj.pk else []
        if not relatives:
            return "-"
        rows = format_html_join(
            "",
            "<li>{} · {} · task {}{}</li>",
            (
                (
                    self.instance_link(child.instance),
                    "ended" if child.instance.completed else "running",
                    task_admin_link(child.task),
                    format_html(
                        " · <strong>failed: {}</strong>",
                        format_html_join(
                            ", ", "{}", ((task_admin_link(t),) for t in child.failed_tasks)
                        ),
                    )
                    if child.failed_tasks
                    else "",
                )
                for child in relatives
            ),
        )
        return format_html('<ul class="joeflow-children">{}</ul>', rows)

    @admin.display(description="graph")
    def instance_graph(self, obj):
        return obj.get_instance_graph_svg() if obj.pk else "-"
