"""Guards for lookups by an id from a URL, shared by the pages, the admin and the API."""

from django.db import connection


def pk_fits(model, pk) -> bool:
    """Whether ``pk`` fits the model's primary key column (an id from a URL can be any length).

    Django guards integer lookups against overflow, but not a parent link, the primary key of a
    workflow model that extends another: SQLite's driver then raises ``OverflowError`` (a 500).
    """
    try:
        value = int(pk)
    except (TypeError, ValueError):
        return True  # not a number: the lookup itself says no
    field = model._meta.pk
    while field.remote_field is not None:
        field = field.target_field
    low, high = connection.ops.integer_field_range(field.get_internal_type())
    return (low is None or value >= low) and (high is None or value <= high)
