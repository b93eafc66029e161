"""View mixins that turn a Django view into a human task of a workflow."""


class TaskViewMixin:
    """A view that completes a human task of a workflow."""

    type = "human"
    node_kind = "view"
    name: str | None = None

    def __init__(self, **kwargs):
        self._initkwargs = kwargs
        super().__init__(**kwargs)


class StartViewMixin(TaskViewMixin):
    """A view that creates a workflow instance and starts it."""

    node_kind = "start_view"
