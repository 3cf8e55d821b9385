"""Export and portability: every export path of every framework, each artifact loaded and timed in a process of its own.

One job per (framework, export path); the job exports every workload of its params and
its records name their workload. The job's mode is the runtime that runs the artifact.

Files: experiment.py (the declaration), measure.py (what a job runs), notebook.ipynb, chapter.md
and the book's side: tables.py.
Nothing is imported here: a child process started as `python -m` a module of this folder loads only what it needs.
"""
