"""Process structure beyond joeflow: subworkflows (Temporal child workflows) and events.

DESIGN "Process structure". Both are machine tasks the engine drives itself: a ``Subworkflow``
task succeeds when every child instance it started has ended, an ``Event`` task when an event
of its name, sent to the instance, was consumed by it.
"""

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.apps import apps
from django.forms import modelform_factory

from joeflow_temporal.engine.spec import NodeKind
from joeflow_temporal.typing import MACHINE


class SubworkflowError(ValueError):
    """``fields`` or ``for_each`` gave something that cannot make child instances; the
    subworkflow task fails with this message and waits for a rerun."""


class Subworkflow:
    """Start instances of another workflow class as Temporal child workflows of this instance,
    and go on when every one has ended (succeeded or canceled).

    Each child is created through its class's ``tasks.Start()`` node, with ``parent_task`` set
    to this task, by an activity that makes its row and start task once per item (a retry finds
    them), then started as a child workflow with id ``<label>.<pk>``. Canceling this task, or
    this instance, cancels the children that are still running.

    Args:
        workflow_cls: the child class (a ``Workflow`` subclass with one ``tasks.Start()``
            node), or its label ``"app_label.ModelName"`` for a class defined later.
        fields: ``fields(instance) -> dict``, the child's field values; None: none.
        for_each: ``for_each(instance) -> list[dict]``: one child per item, its fields the
            item's (over ``fields``'); None: one child. Children are started in batches and at
            most ``MAX_PENDING_CHILDREN`` run at once (Temporal allows 2,000 per execution).

    Raises:
        TypeError: ``fields`` or ``for_each`` is given and not callable.
    """

    type = MACHINE
    node_kind = NodeKind.SUBWORKFLOW
    name: str | None = None

    def __init__(
        self,
        workflow_cls: Any,
        fields: Callable[[Any], dict] | None = None,
        for_each: Callable[[Any], Iterable[dict]] | None = None,
    ):
        for argument, value in (("fields", fields), ("for_each", for_each)):
            if value is not None and not callable(value):
                raise TypeError(
                    f"Subworkflow's {argument} takes a function of the instance, e.g. "
                    f"{argument}=lambda order: ..., not {value!r}."
                )
        self.workflow_cls = workflow_cls
        self.fields = fields
        self.for_each = for_each

    def get_workflow_class(self) -> Any:
        """The child class.

        Raises:
            LookupError: a label names no installed model (system check E021 reports it).
        """
        if isinstance(self.workflow_cls, str):
            return apps.get_model(self.workflow_cls)
        return self.workflow_cls

    @property
    def label(self) -> str:
        """The child class's label, ``app_label.modelname``, or the label given if unknown."""
        try:
            return self.get_workflow_class()._meta.label_lower
        except (LookupError, ValueError, AttributeError):
            return str(self.workflow_cls).lower()

    def child_fields(self, instance) -> list[dict]:
        """The field values of each child to create for ``instance``, in item order.

        Raises:
            SubworkflowError: ``fields`` gave no dict, or ``for_each`` no list of dicts.
        """
        common = self.fields(instance) if self.fields is not None else {}
        if not isinstance(common, dict):
            raise SubworkflowError(
                f"fields of {self.name} returned {type(common).__name__}, not a dict."
            )
        if self.for_each is None:
            return [common]
        items = self.for_each(instance)
        if _iterable(items):
            items = list(items)  # a queryset of dicts (``.values()``) or a generator will do
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise SubworkflowError(
                f"for_each of {self.name} returned {_shape(items)}, not a list of dicts."
            )
        return [{**common, **item} for item in items]


def _iterable(value) -> bool:
    """Whether ``value`` holds items (a string or a dict is taken as one wrong value)."""
    if isinstance(value, (str, bytes, dict)):
        return False
    try:
        iter(value)
    except TypeError:
        return False
    return True


def _shape(value) -> str:
    if isinstance(value, list):
        wrong = next(item for item in value if not isinstance(item, dict))
        return f"a list holding {type(wrong).__name__} {wrong!r:.40}"
    return type(value).__name__


class Event:
    """Wait until an event ``name`` is sent to the instance, then go on.

    Sent with ``instance.send_event(name, data)`` or ``POST workflows/{workflow}/instances/
    {pk}/events/{name}/``; ``data`` is validated against ``fields`` like a task's form and
    saved to the instance. An event sent before the task is reached is kept and consumed once
    it is; the same ``event_id`` twice is applied once. The task's row is a machine task,
    ``scheduled`` while it waits.

    Args:
        name: the event's name (one ``Event`` node per name in a class: check E022).
        fields: names of the instance's fields the event's data sets.

    Raises:
        TypeError: ``name`` is not a string.
    """

    type = MACHINE
    node_kind = NodeKind.EVENT
    name: str | None = None

    def __init__(self, name: str, fields: Sequence[str] = ()):
        if not isinstance(name, str) or not name:
            raise TypeError(f"Event takes the event's name, e.g. Event('paid'), not {name!r}.")
        self.event_name = name
        self.fields = list(fields)

    def get_form_class(self, workflow_cls):
        """The ``ModelForm`` of the workflow class that validates and saves an event's data."""
        return modelform_factory(workflow_cls, fields=self.fields)
