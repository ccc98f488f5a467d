"""The operator's tools (R-OPS-1..3): trace a record, list and retry failures, run reports,
dry-run diff. `sos-wiz-ops` (cli.py) is their command line."""
