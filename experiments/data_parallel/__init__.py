"""Data-parallel training on one host: DDP, MultiWorkerMirroredStrategy and JAX multi-process, two CPU processes."""
