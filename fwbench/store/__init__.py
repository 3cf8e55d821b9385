"""Store layer: every job result on disk (validated JSON under a lock) and bundles that carry runs between machines."""
