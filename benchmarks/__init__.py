"""Benchmarks: joeflow-temporal against raw temporalio doing the same work (``run.py``)."""
