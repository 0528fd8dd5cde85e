"""The engine: observe what exists, diff it against the spec, plan (and, later, apply)."""
