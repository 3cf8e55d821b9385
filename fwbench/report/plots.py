"""What every chapter's charts share (panel grids, palettes, log ticks) and the history chart; each experiment's own charts are in its plots.py."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

PHASES = ["train", "infer"]


def panel_grid(df: pd.DataFrame, columns: list, column_key: str, width: float = 5.5, height: float = 3.6):
    """A grid with one row per machine and one column per value of `column_key`; yields (axes, machine, column, rows)."""
    sns.set_theme(style="whitegrid", context="notebook")
    machines = sorted(df["machine_label"].unique())
    fig, axes = plt.subplots(
        len(machines),
        len(columns),
        figsize=(width * len(columns), height * len(machines)),
        squeeze=False,
        constrained_layout=True,
    )
    panels = [
        (axes[r][c], m, v, df[(df.machine_label == m) & (df[column_key] == v)])
        for r, m in enumerate(machines)
        for c, v in enumerate(columns)
    ]
    return fig, panels


def not_measured(ax, title: str) -> None:
    ax.set_title(title)
    ax.text(0.5, 0.5, "not measured on this machine", ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


#: One hue family per framework, so a variant's colour says whose it is, the same in every chapter; within a
#: family, known variants keep fixed shades and others take the next ones. Eager modes are grey.
FAMILIES = {
    "jax": ("Blues", ("jax.jit", "jax.jit-unrolled")),
    "tf": ("Oranges", ("tf.function", "tf.function+xla", "tf.function-unrolled")),
    "torch": ("Greens", ("torch.compile", "torch.compile-forward", "torch.compile-reduce-overhead")),
}


def _family(variant: str) -> str | None:
    for family in FAMILIES:
        if variant.startswith(family):
            return family
    return None


def variant_palette(variants) -> dict:
    names = sorted(set(variants))
    others = [v for v in names if _family(v) is None and v != "eager"]
    fallback = dict(zip(others, sns.color_palette("colorblind", n_colors=max(len(others), 3))))
    palette = {}
    for family, (cmap, known) in FAMILIES.items():
        mine = [v for v in names if _family(v) == family]
        order = list(known) + sorted(v for v in mine if v not in known)
        shades = sns.color_palette(cmap, n_colors=len(order) + 2)[2:]  # skip the palest shades
        palette.update({v: shades[order.index(v)] for v in mine})
    palette.update(fallback)
    if "eager" in names:
        palette["eager"] = (0.55, 0.55, 0.55)
    return palette


def plain_log_ticks(axis) -> None:
    """Tick labels of a log axis as plain numbers (0.2, 1, 10), not powers of ten."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def history_chart(tables: dict[str, pd.DataFrame]):
    """One panel per selection and device (CPU and GPU times never share an axis): median step time per stored
    run on a date axis, a line per machine, 95% intervals as error bars, the framework version under each point."""
    import matplotlib.dates as mdates

    panels = [
        (f"{name} ({device})", g)
        for name, t in tables.items()
        if not t.empty
        for device, g in t.groupby("device", sort=True)
    ]
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 2.6 * len(panels)), squeeze=False)
    machines = sorted({m for _, g in panels for m in g["machine"]})
    colours = dict(zip(machines, sns.color_palette("colorblind", len(machines))))
    for ax, (title, t) in zip(axes[:, 0], panels):
        for machine, g in t.groupby("machine"):
            y = g["median_s"] * 1e3
            err = [y - g["ci_low_s"] * 1e3, g["ci_high_s"] * 1e3 - y]
            ax.errorbar(g["started"], y, yerr=err, marker="o", capsize=3, color=colours[machine], label=machine)
            for _, r in g.iterrows():  # the framework version under each point: upgrades are visible
                ax.annotate(
                    r["framework version"],
                    (r["started"], r["median_s"] * 1e3),
                    fontsize=7,
                    textcoords="offset points",
                    xytext=(0, -11),
                    ha="center",
                    color=colours[machine],
                )
        # A real date axis around the runs (a day either side), not one stretched to far-off ticks.
        start, end = t["started"].min(), t["started"].max()
        pad = max((end - start) * 0.05, pd.Timedelta(days=1))
        ax.set_xlim(start - pad, end + pad)
        locator = mdates.AutoDateLocator(maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.set_title(title)
        ax.set_ylabel("median step (ms)")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


#: A forest plot's row labels wrap at this many characters.
LABEL_WIDTH = 70
#: The colour of a cell's role in a verdict's forest plot: what it did to the vote.
ROLE_COLOURS = {"supports": "#1b7837", "contradicts": "#b2182b", "inconclusive": "0.55"}


def forest_chart(cells: pd.DataFrame, margin: float, title: str = ""):
    """A verdict's cells, one row each: the ratio (point) and its 95% interval (line) on a log axis, coloured by
    the role the cell played in the vote, with the equivalence band shaded. Needs columns `label`, `speedup`,
    `speedup_ci_low`, `speedup_ci_high`, `role`; a cell without a finite interval shows its point alone."""
    import textwrap

    import numpy as np

    d = cells.reset_index(drop=True)
    # Rules name their cells in full (machine, format, workers...): long names wrap onto lines of their own, and the
    # figure grows with them, so the plot never collapses to make room for its labels.
    names = ["\n".join(textwrap.wrap(str(label), LABEL_WIDTH)) or "-" for label in d["label"]]
    lines = sum(name.count("\n") + 1 for name in names)
    longest = max((len(line) for name in names for line in name.split("\n")), default=10)
    sns.set_theme(style="whitegrid", context="notebook")
    fig, ax = plt.subplots(
        figsize=(max(9.0, 4.5 + 0.06 * longest), 0.9 + 0.17 * lines + 0.07 * len(d)), constrained_layout=True
    )
    y = np.arange(len(d))[::-1]
    for role, colour in ROLE_COLOURS.items():
        part = d["role"] == role
        if not part.any():
            continue
        lo, hi, mid = d.loc[part, "speedup_ci_low"], d.loc[part, "speedup_ci_high"], d.loc[part, "speedup"]
        ok = (np.isfinite(lo) & np.isfinite(hi) & (lo > 0)).to_numpy()
        ax.hlines(y[part.to_numpy()][ok], lo[ok], hi[ok], color=colour, lw=1.6)
        ax.plot(mid, y[part.to_numpy()], "o", color=colour, ms=4, label=f"{role} ({int(part.sum())})")
    ax.axvline(1.0, color="black", lw=1, ls="--")
    ax.axvspan(1 / (1 + margin), 1 + margin, color="0.88", zorder=0)
    ax.set_yticks(y, names, fontsize=7)
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis)
    ax.set_xlabel("ratio (x, log); grey band: the equivalence margin")
    ax.set_ylim(-0.7, len(d) - 0.3)
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(loc="lower right", fontsize=7, frameon=True)
    return fig
