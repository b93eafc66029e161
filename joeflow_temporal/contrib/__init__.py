"""Optional integrations with other Django apps, each active only when that app is installed."""
