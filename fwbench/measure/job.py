"""The one contract between a job's notebook and its experiment: `measure.run(Request) -> result`.

Every experiment's notebook does the same three things: apply the process settings
before anything imports a framework (`env.apply`), call `execute` with its own
measuring module, and save the result. What differs between experiments lives in
their `measure.py`, never in the notebook.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable


def _say(what: str) -> None:
    print(what, flush=True)


@dataclass(frozen=True)
class Request:
    """One job as its experiment's `measure.run` receives it; the same fields for every experiment."""

    framework: str = field(metadata={"help": "framework adapter name"})
    device: str = field(metadata={"help": "'cpu' or 'cuda'"})
    workload: str = field(metadata={"help": "the workload axis value (a workload, or the experiment's own axis value)"})
    variant: str = field(
        metadata={"help": "the variant, or for an interleaved experiment every variant, comma-separated"}
    )
    params: Any = field(metadata={"help": "the experiment's Params instance"})
    threads: int = field(metadata={"help": "threads for the framework, as env.apply resolved them"})
    process: int = field(
        default=0, metadata={"help": "which of the cell's processes this is (0 starts with cold caches)"}
    )
    cache_state: str = field(
        default="cold", metadata={"help": "'cold' or 'warm': the compiler caches as this process found them"}
    )
    progress: Callable[[str], None] = field(default=_say, metadata={"help": "called with a short line as work starts"})

    @property
    def variants(self) -> list[str]:
        return self.variant.split(",")


def execute(
    measure: ModuleType,
    settings: dict,
    framework: str,
    device: str,
    workload: str,
    variant: str,
    process: int,
    params: dict,
) -> dict:
    """Run one job: build the Request from the notebook's parameters, call `measure.run`, attach the settings.

    `settings` is what `env.apply` returned; the experiment adds what it learned about them
    (the framework's own thread settings, the threads the OS saw) under `result["settings"]`.
    """
    request = Request(
        framework=framework,
        device=device,
        workload=workload,
        variant=variant,
        params=measure.Params(**params),
        threads=settings["threads"],
        process=process,
        cache_state=settings.get("compile_cache", "cold"),
    )
    result = measure.run(request)
    result["settings"] = {**settings, **result.get("settings", {})}
    return result
