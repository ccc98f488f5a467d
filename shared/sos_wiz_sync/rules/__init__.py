"""Pure business rules, each citing its SPEC id (grep R-INV-1 finds it)."""
