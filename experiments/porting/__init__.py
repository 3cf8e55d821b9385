"""Porting: trained weights of each layer kind moved between torch.nn, Keras and flax, by hand and through ONNX.

One job per (source framework, route); the job trains every layer kind of its params in the source framework and
moves it into each other framework's idiomatic layer. Records name the layer kind (workload) and target (mode).

Files: experiment.py (the declaration), layers.py (kinds, sizes, data), hooks/<framework>.py (each framework's
layers), converters.py (one function per kind and pair), measure.py (what a job runs), onnx_route.py, notebook.ipynb,
chapter.md and the book's side: tables.py, plots.py, claims.py.
Nothing is imported here: a child process started as `python -m` a module of this folder loads only what it needs.
"""
