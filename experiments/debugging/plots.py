"""The debugging chapter's charts (seaborn), drawn from its tables."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

OUTCOME_COLOURS = {"error": "#e69f00", "silent-wrong": "#cc3311", "works": "#009e73"}


def scorecard_chart(cases: pd.DataFrame, bugs: list[str]):
    """Outcome of every planted bug (columns) per framework and mode (rows), no tool on; one panel per machine.

    Colour is the outcome; the letter says it again (E error, S silent-wrong, W works) and
    a trailing `+` marks an error whose printout names the planted line.
    """
    from matplotlib.colors import ListedColormap

    sns.set_theme(style="white", context="notebook")
    d = cases[cases["tool"] == "none"]
    machines = sorted(d["machine_label"].unique())
    outcomes = list(OUTCOME_COLOURS)
    fig, axes = plt.subplots(
        len(machines),
        1,
        figsize=(1.0 + 0.85 * len(bugs), 0.9 + 0.55 * 6 * len(machines)),
        squeeze=False,
        constrained_layout=True,
    )
    for ax, machine in zip(axes[:, 0], machines):
        dm = d[d["machine_label"] == machine].copy()
        dm["row"] = dm["framework"] + " " + dm["mode"].map({"eager": "eager", "graph": "compiled"})
        rows = sorted(dm["row"].unique())
        codes = dm.pivot_table(index="row", columns="bug", values="outcome", aggfunc="first").reindex(
            index=rows, columns=bugs
        )
        shown = dm.pivot_table(index="row", columns="bug", values="user_line_shown", aggfunc="first").reindex(
            index=rows, columns=bugs
        )
        numeric = codes.apply(lambda col: col.map(lambda o: outcomes.index(o) if o in outcomes else np.nan))
        labels = codes.apply(
            lambda col: col.map(lambda o: {"error": "E", "silent-wrong": "S", "works": "W"}.get(o, ""))
        )
        labels = labels + shown.apply(lambda col: col.map(lambda s: "+" if s is True else "")).fillna("")
        sns.heatmap(
            numeric.astype(float),
            ax=ax,
            cmap=ListedColormap(list(OUTCOME_COLOURS.values())),
            vmin=-0.5,
            vmax=2.5,
            cbar=False,
            annot=labels.values,
            fmt="",
            linewidths=1,
            linecolor="white",
            annot_kws={"fontsize": 10, "fontweight": "bold", "color": "white"},
        )
        ax.set_title(f"{machine}: outcome of each planted bug, no debugging tool on")
        ax.set_xlabel("planted bug")
        ax.set_ylabel("")
        ax.tick_params(axis="x", rotation=35)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in OUTCOME_COLOURS.values()]
    fig.legend(handles, [f"{o}" for o in OUTCOME_COLOURS], loc="outside lower center", ncols=3, frameon=False)
    return fig


def overhead_chart(overhead: pd.DataFrame):
    """Training-step slowdown of each debugging tool (on over off) with its 95% CI, per framework and mode."""
    sns.set_theme(style="whitegrid", context="notebook")
    d = overhead.copy()
    d["tool "] = d["framework"] + " " + d["tool"] + " (" + d["mode"].map({"eager": "eager", "graph": "compiled"}) + ")"
    for column in ("slowdown", "ci_low", "ci_high"):
        d[column] = pd.to_numeric(d[column], errors="coerce")
    # No bar where no process held a steady state: the label says so instead of leaving an empty row.
    d.loc[d["slowdown"].isna(), "tool "] += ": no steady process"
    machines = sorted(d["machine_label"].unique())
    fig, axes = plt.subplots(
        len(machines),
        1,
        figsize=(7.5, 0.6 + 0.45 * max(len(d) / max(len(machines), 1), 2)),
        squeeze=False,
        constrained_layout=True,
    )
    for ax, machine in zip(axes[:, 0], machines):
        dm = d[d["machine_label"] == machine].sort_values("slowdown")
        y = np.arange(len(dm))
        ax.barh(y, dm["slowdown"], color="#0072b2")
        ax.errorbar(
            dm["slowdown"],
            y,
            xerr=[dm["slowdown"] - dm["ci_low"], dm["ci_high"] - dm["slowdown"]],
            fmt="none",
            ecolor="black",
            capsize=2,
            lw=0.8,
        )
        ax.axvline(1.0, color="black", lw=1, ls="--")
        ax.set_yticks(y, dm["tool "], fontsize=9)
        ax.set_xscale("log")
        ax.set_xlabel("training step time, tool on / tool off (x, log)")
        ax.set_title(f"{machine}: what each debugging tool costs")
    return fig
