"""DynamoDB repositories: mappings, sync state (cursors, runs, failures, inventory), leases."""
