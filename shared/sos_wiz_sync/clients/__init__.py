"""HTTP clients for the two APIs. The one place to change when a real API differs from its contract."""
