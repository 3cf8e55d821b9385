"""fwbench: measured answers to PyTorch vs TensorFlow vs JAX questions.

Kept import-light on purpose: a kernel imports this package before it applies
thread and logging settings, and those must be in place before numpy or any
framework loads.
"""

__version__ = "0.1.0"

#: Version of the on-disk result format; bump on any incompatible change.
SCHEMA_VERSION = 1


def _experiments_finder():
    """`fwbench.experiments` is the checkout's top-level `experiments/` folder (one folder per experiment, where the
    book's design puts them). A finder, not an install-time mapping, so that each checkout, copy or second clone
    imports its own experiments whatever is installed in the environment."""
    import importlib.util
    import sys
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / "experiments"

    class ExperimentsFinder:
        @staticmethod
        def find_spec(fullname, path=None, target=None):
            if fullname != "fwbench.experiments" or not (folder / "__init__.py").is_file():
                return None
            return importlib.util.spec_from_file_location(
                fullname, folder / "__init__.py", submodule_search_locations=[str(folder)]
            )

    sys.meta_path.insert(0, ExperimentsFinder)


_experiments_finder()
