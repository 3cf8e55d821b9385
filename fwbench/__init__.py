"""fwbench: measured answers to PyTorch vs TensorFlow vs JAX questions.

Kept import-light on purpose: a kernel imports this package before it applies
thread and logging settings, and those must be in place before numpy or any
framework loads.
"""

__version__ = "0.1.0"

#: Version of the on-disk result format; bump on any incompatible change.
SCHEMA_VERSION = 1
