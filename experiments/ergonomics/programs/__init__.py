"""The four programs the ergonomics experiment runs and counts, one per framework style, each a runnable example."""
