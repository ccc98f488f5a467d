"""SOS's item.quantity_updated hook (R-INV-6): ingress, coalescing, worker, subscription."""
