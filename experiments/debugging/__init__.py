"""Debugging ergonomics: planted bugs under each framework's debugging tools.

One job per (framework, debugging tool); the job runs the whole bug catalogue, each
case in its own process, and its records name the bug in `workload`.

Files: experiment.py (the declaration), measure.py (what a job runs), notebook.ipynb, chapter.md, hooks/ (per framework)
and the book's side: tables.py.
Nothing is imported here: a child process started as `python -m` a module of this folder loads only what it needs.
"""
