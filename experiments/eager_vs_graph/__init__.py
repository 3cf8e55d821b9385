"""Eager vs graph timing: each framework's eager step against its compiled ones, interleaved in one process per job.

Files: experiment.py (the declaration), measure.py (what a job runs), notebook.ipynb, chapter.md
and the book's side: tables.py.
Nothing is imported here: a child process started as `python -m` a module of this folder loads only what it needs.
"""
