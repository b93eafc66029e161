"""joeflow's Django workflow API, run as durable Temporal workflows."""

__version__ = "0.1.0"
VERSION = tuple(int(part) for part in __version__.split("."))
"""The version as a tuple of integers, as joeflow's ``VERSION``."""
