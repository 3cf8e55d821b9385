"""The porting chapter's chart (seaborn), drawn from its tables."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

#: Classes of one (layer kind, pair), best first, and their colours.
CLASSES = {"as-is": "#009e73", "layout only": "#56b4e9", "needs a convention": "#e69f00", "fails or differs": "#cc3311"}


def cell_class(row: pd.Series) -> str:
    from fwbench.experiments.porting.layers import LAYOUT

    if row["outcome"] != "matches":
        return "fails or differs"
    if not row["kinds"]:
        return "as-is"
    return "layout only" if all(k in LAYOUT for k in row["kinds"]) else "needs a convention"


def porting_chart(att: pd.DataFrame):
    """Layer kinds (rows) by directed pairs (columns), one panel per machine, weights route: the colour is what the
    conversion took, the number its transformations, and `!` marks a naive copy that ran and was silently wrong."""
    from matplotlib.colors import ListedColormap

    from fwbench.experiments.porting.layers import KINDS
    from fwbench.experiments.porting.tables import pair_order

    w = att[att["route"] == "weights"]
    sns.set_theme(style="white", context="notebook")
    machines = sorted(w["machine_label"].unique())
    pairs = [p for p in pair_order() if p in set(w["pair"])]
    kinds = [k for k in KINDS if k in set(w["layer"])]
    fig, axes = plt.subplots(
        len(machines),
        1,
        figsize=(2.0 + 1.35 * len(pairs), 1.6 + (0.9 + 0.5 * len(kinds)) * len(machines)),
        squeeze=False,
        constrained_layout=True,
    )
    names = list(CLASSES)
    for ax, machine in zip(axes[:, 0], machines):
        d = w[w["machine_label"] == machine]
        d = d.assign(
            cls=[names.index(cell_class(r)) for _, r in d.iterrows()],
            label=[f"{int(n)}{'!' if v == 'silent-wrong' else ''}" for n, v in zip(d["n_steps"].fillna(0), d["naive"])],
        )
        codes = d.pivot_table(index="layer", columns="pair", values="cls", aggfunc="first").reindex(
            index=kinds, columns=pairs
        )
        labels = d.pivot_table(index="layer", columns="pair", values="label", aggfunc="first").reindex(
            index=kinds, columns=pairs
        )
        sns.heatmap(
            codes.astype(float),
            ax=ax,
            cmap=ListedColormap(list(CLASSES.values())),
            vmin=-0.5,
            vmax=len(CLASSES) - 0.5,
            cbar=False,
            annot=labels.fillna("").values,
            fmt="",
            linewidths=1,
            linecolor="white",
            annot_kws={"fontsize": 10, "fontweight": "bold", "color": "white"},
        )
        ax.set_title(f"{machine}: what moving trained weights took")
        ax.set_xlabel("source → target")
        ax.set_ylabel("layer kind")
        ax.tick_params(axis="x", rotation=30)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in CLASSES.values()]
    fig.legend(handles, names, loc="outside lower center", ncols=len(names), frameon=False)
    return fig


def lines_chart(att: pd.DataFrame):
    """Logical lines of each conversion, per layer kind (one dot per pair), weights route."""
    w = att[(att["route"] == "weights") & att["lines"].notna()]
    sns.set_theme(style="whitegrid", context="notebook")
    fig, ax = plt.subplots(figsize=(7, 0.6 + 0.45 * max(1, w["layer"].nunique())), constrained_layout=True)
    sns.stripplot(data=w, y="layer", x="lines", hue="pair", ax=ax, jitter=0.15, size=7)
    ax.set_xlabel("logical lines of the conversion function")
    ax.set_ylabel("layer kind")
    ax.set_xlim(0, max(2, float(np.nanmax(w["lines"])) + 1) if not w.empty else 2)
    ax.legend(title="source → target", bbox_to_anchor=(1.02, 1), loc="upper left", frameon=False)
    return fig
