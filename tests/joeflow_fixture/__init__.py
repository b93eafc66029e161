"""A database written by real joeflow 2.0.2, and the code that wrote it (see ``build.py``)."""
