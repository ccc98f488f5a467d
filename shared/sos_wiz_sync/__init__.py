"""sos-wiz-sync: keeps SOS Inventory and WizCommerce in sync (the Lambda layer package)."""
