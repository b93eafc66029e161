"""joeflow's Django workflow API, run as durable Temporal workflows."""

__version__ = "0.1.0"
