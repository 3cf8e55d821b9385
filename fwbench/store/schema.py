"""The typed schema of every stored file (run manifest, job result, imports log, bundle index), as JSON Schema.

One schema, checked by one well-kept validator (jsonschema), at every door: when the runner writes, when a
bundle is imported, by `validate`, and on every read. A field that code reads has a type here; a file whose
fields do not match is refused whole, naming the first field that does not. Fields not listed are allowed (a
newer fwbench may add some) but nothing reads them as anything but text. Experiment-specific parts of a job (a
debugging job's cases, an export job's attempts, ...) are checked on top by their experiment's own checker.
"""

from __future__ import annotations

from functools import lru_cache

from fwbench import SCHEMA_VERSION

#: Plain names and ids (the same patterns as fwbench.store.store.NAME and ID, anchored for JSON Schema). The end
#: is "no character follows", not `$`: in Python's regular expressions `$` also matches before a final newline.
_END = r"(?![\s\S])"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 _.,:;+@()/-]{0,199}" + _END
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,199}" + _END
#: The runner writes UTC times as ISO 8601 to the second (`2026-11-23T02:18:48+00:00`); a bundle may carry a
#: fraction or a Z. Parsed by the report to order runs, so a free-text date is refused here.
TIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})?" + _END

#: Bounds on sizes that nothing fwbench writes comes near (a full profile's job holds a few thousand values
#: per series); they keep a hostile file from costing memory or time in every report built from it.
MAX_TEXT = 100_000  # an error's traceback is cut to 20,000 characters when stored
MAX_ITEMS = 200_000
MAX_COUNT = 10**12  # counts, bytes and sizes: larger than any machine's memory in bytes

_text = {"type": "string", "maxLength": MAX_TEXT}
_short = {"type": "string", "maxLength": 2_000}
_name = {"type": "string", "pattern": NAME_PATTERN}
_id = {"type": "string", "pattern": ID_PATTERN}
_time = {"type": "string", "pattern": TIME_PATTERN}
_count = {"type": "integer", "minimum": 0, "maximum": MAX_COUNT}
_number = {"type": "number"}  # JSON has no NaN or infinity; the store's writer refuses them too
_seconds = {"type": "number", "minimum": 0, "maximum": 10**7}
_scalar = {"type": ["string", "number", "boolean", "null"], "maxLength": MAX_TEXT}


def _obj(properties: dict, required=(), extra=None) -> dict:
    out = {"type": "object", "properties": properties, "required": list(required)}
    if extra is not None:
        out["additionalProperties"] = extra
    return out


def _array(items: dict, max_items: int = MAX_ITEMS) -> dict:
    return {"type": "array", "items": items, "maxItems": max_items}


_str_map = {"type": "object", "additionalProperties": {"type": "string", "maxLength": 20_000}, "maxProperties": 2_000}

ERROR = _obj({"type": _short, "message": _text, "traceback": _text}, required=("type", "message"))

RECORD = _obj(
    {
        "phase": _short,
        "batch_size": _count,
        "metric": _name,
        "value": _number,
        "unit": _short,
        "workload": _name,
        "mode": _name,
        "variant": _name,
    },
    required=("phase", "batch_size", "metric", "value", "unit"),
)

CHECK = _obj(
    {
        "name": _short,
        "passed": {"type": "boolean"},
        "value": {"type": ["number", "null"]},
        "tolerance": {"type": ["number", "null"]},
        "detail": _text,
    },
    required=("name", "passed"),
)

SAMPLE = _obj(
    {
        "phase": _short,
        "batch_size": _count,
        "variant": _name,
        "values": _array({"type": "number", "exclusiveMinimum": 0}),
    },
    required=("phase", "batch_size", "values"),
)

SETTINGS = _obj(
    {
        "threads": _count,
        "os_threads": _count,
        "compile_cache": _short,
        "cpu_affinity": _array(_count, 4096),
        "env": _str_map,
        "framework_threads": {"type": "object", "additionalProperties": _scalar},
    }
)

EXECUTOR = _obj(
    {
        "name": _short,
        "node_id": _short,
        "hardware_class": _short,
        "ray_version": _short,
        "nodes": _array(_short, 10_000),
        "undone": {"type": "boolean"},
        "retried": _short,
        "ray_set": {
            "type": "object",
            "maxProperties": 100,
            "additionalProperties": {"type": ["string", "null"], "maxLength": 2_000},
        },
    },
    required=("name",),
)

JOB = _obj(
    {
        "schema_version": {"const": SCHEMA_VERSION},
        "kind": {"const": "job"},
        "run_id": _id,
        "job_id": _id,
        "cell_id": _id,
        "job_key": _short,
        "experiment": _name,
        "framework": _name,
        "device": _name,
        "workload": _name,
        "variant": _name,
        "mode": _name,
        "framework_version": {"type": ["string", "null"], "pattern": NAME_PATTERN},
        "status": {"enum": ["ok", "failed", "skipped"]},
        "params": {"type": "object", "maxProperties": 500},
        "process": _count,
        "duration_s": _seconds,
        "started": _time,
        "finished": _time,
        "records": _array(RECORD),
        "checks": _array(CHECK, 10_000),
        # A failed job stores an empty object for its samples and losses (nothing was measured).
        "samples": {"oneOf": [_array(SAMPLE, 100_000), {"type": "object", "maxProperties": 0}]},
        "losses": {"oneOf": [_array({"type": ["number", "null"]}), {"type": "object"}]},
        "error": {"oneOf": [{"type": "null"}, ERROR]},
        "settings": SETTINGS,
        "device_info": {"type": "object", "additionalProperties": _scalar, "maxProperties": 200},
        "calibration": {
            "oneOf": [{"type": "null"}, _obj({"peak_gflops": {"type": ["number", "null"]}, "matmul_n": _count})]
        },
        # A process a sequential round added (fwbench.run.sequential): the processes it was added for, the look
        # (processes before it) and the comparisons still open then.
        "sequential": _obj(
            {
                "for": _array(_obj({"run_id": _id, "job_id": _id}, required=("run_id", "job_id")), 1_000),
                "look": _count,
                "open": _short,
            },
            required=("for", "look"),
        ),
        "design": _obj({"start": _count, "cap": _count}, required=("start", "cap")),
        # Where a job ran when an executor other than this machine ran it (fwbench.run.ray_executor): the node, its
        # hardware class, the variables Ray had set that the job undid, and why it was started again if it was.
        "executor": EXECUTOR,
    },
    required=(
        "schema_version",
        "kind",
        "run_id",
        "job_id",
        "job_key",
        "experiment",
        "framework",
        "device",
        "workload",
        "variant",
        "mode",
        "status",
        "params",
        "records",
    ),
)

FINGERPRINT = _obj(
    {
        "machine_id": _id,
        "machine_label": _name,
        "machine_label_source": _short,
        "hardware": _obj(
            {
                "architecture": _short,
                "cpu_model": _short,
                "logical_cpus": _count,
                "usable_cpus": _count,
                "physical_cores": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_COUNT},
                "memory_bytes": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_COUNT},
                "virtual": {"type": ["boolean", "null"]},
                "gpus": _array({"type": "object", "additionalProperties": _scalar}, 64),
            }
        ),
        "os": _str_map,
        "python": _str_map,
        "packages": {
            "type": "object",
            "additionalProperties": {"type": ["string", "null"], "maxLength": 200},
            "maxProperties": 2_000,
        },
        "fwbench": _obj(
            {
                "version": _short,
                "commit": {"type": ["string", "null"], "maxLength": 200},
                "dirty": {"type": ["boolean", "null"]},
            }
        ),
        "environment": _str_map,
        "tools": {"type": "object", "additionalProperties": {"type": ["string", "null"], "maxLength": 2_000}},
        "conditions": _obj({"cpu_governor": _short, "loadavg": {"oneOf": [{"type": "null"}, _array(_number, 3)]}}),
        "numerics": {"type": "object", "additionalProperties": _scalar},
    },
    required=("machine_id", "machine_label", "hardware", "os", "python", "packages", "fwbench"),
)

_process = _obj({"name": _short, "pid": _count, "cpus": _number})

MANIFEST = _obj(
    {
        "schema_version": {"const": SCHEMA_VERSION},
        "kind": {"const": "run"},
        "run_id": _id,
        "machine_id": _id,
        "machine_label": _name,
        "fingerprint": FINGERPRINT,
        "profile": _obj(
            {"name": _short, "description": _text, "seed": {"type": ["integer", "null"]}, "source": {"type": "object"}}
        ),
        "status": {"enum": ["running", "complete", "interrupted"]},
        "started": _time,
        "finished": {"oneOf": [{"type": "null"}, _time]},
        "jobs": _array(_id),
        "reused": {"type": "object", "additionalProperties": _id, "maxProperties": MAX_ITEMS},
        "counts": {"type": "object", "additionalProperties": _count},
        "code_hash": {"oneOf": [_short, _str_map]},
        "inputs": {"type": "object"},
        "note": _text,
        "executor": EXECUTOR,
        # Sequential rounds stopped by the profile's budget with cells still open (fwbench.run.sequential).
        "sequential_stop": _obj(
            {"reason": {"enum": ["budget"]}, "budget_min": _number, "after_min": _number, "open_cells": _count},
            required=("reason", "budget_min", "open_cells"),
            extra=False,
        ),
        "load_at_start": _obj(
            {
                "other_cpus": {"type": ["number", "null"]},
                "loadavg_1m": {"type": ["number", "null"]},
                "top_processes": _array(_process, 16),
                "top_process": {"oneOf": [{"type": "null"}, _process]},
            }
        ),
    },
    required=(
        "schema_version",
        "kind",
        "run_id",
        "machine_id",
        "machine_label",
        "fingerprint",
        "profile",
        "status",
        "started",
        "jobs",
    ),
)

IMPORTS = _obj(
    {
        "schema_version": {"const": SCHEMA_VERSION},
        "kind": {"const": "imports"},
        "runs": {
            "type": "object",
            "propertyNames": {"pattern": ID_PATTERN},
            "additionalProperties": _obj({"bundle": _short, "imported": _time}, required=("bundle", "imported")),
        },
    },
    required=("kind", "runs"),
)

_file_entry = _obj(
    {"sha256": {"type": "string", "pattern": r"^[0-9a-f]{64}" + _END}, "bytes": _count},
    required=("sha256", "bytes"),
    extra=False,
)

BUNDLE_INDEX = _obj(
    {
        "schema_version": {"const": SCHEMA_VERSION},
        "kind": {"const": "bundle"},
        "fwbench_version": _short,
        "machines": {"type": "object", "propertyNames": {"pattern": ID_PATTERN}, "additionalProperties": _name},
        "runs": {
            "type": "object",
            "propertyNames": {"pattern": ID_PATTERN},
            "additionalProperties": _obj(
                {
                    "machine_id": _id,
                    "files": {
                        "type": "object",
                        "additionalProperties": _file_entry,
                        "propertyNames": {"maxLength": 300},
                    },
                },
                required=("machine_id", "files"),
            ),
        },
    },
    required=("schema_version", "kind", "runs"),
)


_PATTERN_WORDS = {
    NAME_PATTERN: "a plain name (letters, digits, spaces and _ . , : ; + @ ( ) / -)",
    ID_PATTERN: "an id (letters, digits, '_', '.', '+', '-')",
    TIME_PATTERN: "a time (ISO 8601, such as 2026-11-23T02:18:48+00:00)",
}


@lru_cache(maxsize=None)
def _validator(name: str):
    import jsonschema

    schema = {"job": JOB, "run": MANIFEST, "imports": IMPORTS, "bundle": BUNDLE_INDEX}[name]
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    cls.check_schema(schema)
    return cls(schema)


def problem(kind: str, data) -> str | None:
    """The first way `data` breaks the schema of `kind` ('job', 'run', 'imports', 'bundle'), in one line naming
    the field; None if it fits."""
    import jsonschema

    error = jsonschema.exceptions.best_match(_validator(kind).iter_errors(data))
    if error is None:
        return None
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
    value = repr(error.instance)[:60]
    if error.validator == "pattern" and error.validator_value in _PATTERN_WORDS:
        message = f"{value} is not {_PATTERN_WORDS[error.validator_value]}"
    elif error.validator == "type":
        message = f"{value} has type {type(error.instance).__name__}, expected {error.validator_value}"
    else:
        message = error.message if len(error.message) < 160 else error.message[:157] + "..."
    return f"{'field ' + where if where else 'the file'}: {message}".replace("\n", " ")
