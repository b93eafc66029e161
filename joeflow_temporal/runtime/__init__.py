"""The Django side of the engine: everything between your workflow classes and the walker.

- ``compile``: a workflow class into the ``Graph`` the walker walks.
- ``client``: the Temporal client used from sync Django code (start, signals, queries, waits).
- ``rows``: the Task rows the engine makes, a human task's from its view's ``create_task`` hook.
- ``machine``: calling a machine task's method and reading what it returned.
- ``activities``: the database reads and writes the walker asks for.
- ``worker``: the full Temporal plugin (engine plus activities) and a running worker.

``models`` uses ``compile``, ``client`` and ``rows``, which therefore never import ``models``;
``activities`` and ``worker`` import ``models``. docs/architecture.md draws the whole house.
"""
