"""A joeflow project's workflow app, with its imports renamed to ``joeflow_temporal``.

``build.py`` renames them back to ``joeflow`` and runs this very code on joeflow 2.0.2 to write
the fixture database; the tests import that database into ``joeflow_temporal`` and go on with
the same classes.
"""
