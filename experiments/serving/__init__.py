"""Serving under load: each framework's model behind an HTTP server, driven by closed- and open-loop clients.

One job per (framework, serving variant = the runtime behind the server); the job serves
every workload of its params, each batching setting in a fresh server process.

Files: experiment.py (the declaration), measure.py (what a job runs), notebook.ipynb, chapter.md, hooks/ (per framework)
and the book's side: tables.py.
Nothing is imported here: a child process started as `python -m` a module of this folder loads only what it needs.
"""
