"""The sync engine and the streams declared on it."""
