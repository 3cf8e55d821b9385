"""Eager vs graph timing: each framework's eager step against its compiled ones, interleaved in one process per job.

Files: experiment.py (the declaration), measure.py (what a job runs), notebook.ipynb, chapter.md
and the book's side: tables.py, plots.py, claims.py, findings.py, picks.py, views.py (views of the store
only this experiment has: each compiled variant against its own eager mode, loss agreement).
Nothing is imported here: a child process started as `python -m` a module of this folder loads only what it needs.
"""
