"""Input pipelines: tf.data, torch's DataLoader and grain doing the same work on the same synthetic images.

One job per (framework, its loader); the job measures every format that loader reads (the common .npy shards,
and its own format) at every worker count, each pipeline in a fresh process (child.py), interleaved in a seeded
order. Files: experiment.py (the declaration), dataset.py (the data, written once), pipeline.py and hooks/ (the
loaders), work.py (the NumPy per-sample work), measure.py, child.py, notebook.ipynb, chapter.md and the book's
side: tables.py, plots.py, claims.py, findings.py.
Nothing is imported here: a child process started as `python -m` a module of this folder loads only what it needs.
"""
