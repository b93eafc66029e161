"""django-reversion, as joeflow integrates it: a revision for every task that changes an instance.

Active when ``"reversion"`` is in ``INSTALLED_APPS`` (the ``reversion`` extra installs it);
otherwise every name here does nothing (``VersionAdmin`` is Django's ``ModelAdmin``). Then:

- every workflow class is registered with django-reversion at start-up (``register_workflows``),
  following its parent models, so a version holds all of an instance's fields;
- a human task's form post (a start, a completion, an override) makes one revision, commented
  with the task's name and attributed to the user (``RevisionMixin``, on every task view);
- a machine task's run makes one revision commented with its name, committed with the run's
  outcome (``with_reversion``, around the method);
- ``WorkflowAdmin`` is a ``VersionAdmin``: history, revert and recover pages for instances.

Unlike joeflow's, a view's revision does not wrap the request in a transaction: the views
commit a completion before they wait for the engine, and a transaction around the whole request
would hold that commit back. The revision is written right after the view's own commit, and
none is written for an answer of 400 or more (a conflict, Temporal unreachable), whose changes
were rolled back.
"""

from contextlib import contextmanager, nullcontext

from django.apps import apps

# VersionAdmin comes from the module's __getattr__, below.
__all__ = ["RevisionMixin", "VersionAdmin", "register_workflows", "with_reversion"]  # noqa: F822


def installed() -> bool:
    """Whether django-reversion is in ``INSTALLED_APPS`` (its tables come with the app)."""
    return apps.is_installed("reversion")


def register_workflows() -> None:
    """Register every installed workflow class with django-reversion (joeflow does it on ready).

    A class already registered (by the project, or by a ``VersionAdmin``) keeps its options.
    """
    if not installed():
        return
    from joeflow_temporal.registry import get_workflows

    for workflow in get_workflows():
        register(workflow)
        register(workflow._meta.concrete_model)  # a proxy's versions are stored under it


def register(model) -> None:
    """Register ``model`` following its parent links, as ``VersionAdmin`` registers models."""
    from reversion import revisions

    if revisions.is_registered(model):
        return
    follow = []
    for parent, link in model._meta.concrete_model._meta.parents.items():
        register(parent)
        follow.append(link.name)
    revisions.register(model, follow=follow)


def with_reversion(task):
    """A context in which ``task`` runs: one revision, commented with the task's name.

    The revision commits with the surrounding transaction (a machine task's run); an exception
    leaves none.
    """
    if not installed():
        return nullcontext()
    return _revision(task.name)


@contextmanager
def _revision(comment: str):
    import reversion

    with reversion.create_revision():
        reversion.set_comment(comment)
        yield


class _Discarded(Exception):
    """Carries an error response out of the revision, so that none is written for it."""

    def __init__(self, response):
        self.response = response


class RevisionMixin:
    """A view mixin: each request that may change data makes one revision, commented with the
    view's ``name`` (the task's) and attributed to the signed-in user, as joeflow's mixin."""

    def revision_request_creates_revision(self, request) -> bool:
        """Which requests make a revision: all but ``GET``, ``HEAD`` and ``OPTIONS``."""
        return request.method not in ("GET", "HEAD", "OPTIONS")

    def dispatch(self, request, *args, **kwargs):
        if not (installed() and self.revision_request_creates_revision(request)):
            return super().dispatch(request, *args, **kwargs)
        import reversion

        try:
            with reversion.create_revision(atomic=False):
                reversion.set_comment(self.name or "")
                if request.user.is_authenticated:
                    reversion.set_user(request.user)
                response = super().dispatch(request, *args, **kwargs)
                if response.status_code >= 400:
                    raise _Discarded(response)
        except _Discarded as discarded:
            return discarded.response
        return response


def __getattr__(name: str):
    """``VersionAdmin``: django-reversion's when it is installed, else Django's ``ModelAdmin``.

    Looked up on first use (by ``joeflow_temporal.admin``), once the app registry is ready.
    """
    if name != "VersionAdmin":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if installed():
        from reversion.admin import VersionAdmin
    else:
        from django.contrib.admin import ModelAdmin as VersionAdmin
    return VersionAdmin
