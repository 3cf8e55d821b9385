"""Report layer: reads the store into tables, comparisons, claims and verdicts; never writes results."""
