"""The push path, WizCommerce → SOS: webhook ingress, and the push function's logic per entity."""
