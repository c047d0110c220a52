#!/usr/bin/env python3
"""Every figure of spacer-sim's sweep, compare and real-build CSVs, as SVG and PNG.

    pip install matplotlib                      # once
    python3 notebooks/figures.py                # reads notebooks-out/, writes notebooks-out/fig-*.svg|png

Inputs (each figure is skipped, with a note, when its CSV is missing):
  --sweep          a `spacer-sim sweep` CSV          (default notebooks-out/sweep-paper.csv)
  --compare        a `spacer-sim compare` CSV        (default notebooks-out/compare-default-workload.csv)
  --tradeoff-real  compare CSVs of the real workloads (default notebooks-out/tradeoff-{default,lua,zlib}.csv)
  --tradeoff-sweep a sweep CSV                       (default notebooks-out/sweep-tradeoff.csv)
  --agreement      agreement.csv files of scripts/real-build.sh (default notebooks-out/agreement*.csv)
  --explain        `spacer-sim explain` CSVs         (default notebooks-out/explain-{default,lua,zlib}.csv)
  --run            `spacer-sim run` CSVs (default notebooks-out/run-*.csv)
  --runtime        `spacer-sim run --runtime K` CSVs (default notebooks-out/runtime-*.csv)
  --where COL=VAL  keep only rows whose COL is VAL (repeatable; applies to every CSV that has COL)

Figures:
  fig-frames-vs-versions      frames against the number of versions, one line per strategy variant
                              (mean over seeds, band = min..max)
  fig-fragmentation-vs-frames internal fragmentation against frames / lower bound, every run
  fig-sharing-per-version     page sharing (sharing_pct) and the share of the ideal (ideal_sharing_pct)
                              against the number of versions (mean over seeds)
  fig-real-bars               compare on real tables: frames, sharing and fragmentation per strategy
  fig-tradeoff                issue 7's trade-off: frames / lower bound against mapped pages / default's,
                              every strategy, on the real workloads and on synthetic histories; the shaded
                              box is the target (<= 1.05 x bound, <= 1.10 x default's pages).
                              Regenerate CSVs and figure: notebooks/tradeoff.sh
  fig-explain                 explain on the real workloads: one stacked bar per strategy variant, the lower
                              bound then frames above it by cause (one panel per workload).
                              Regenerate CSVs and figure: notebooks/explain.sh
  fig-parity                  predicted (simulator) against measured (linked ELF) pages and frames, one
                              point per (strategy, zone, image set), with the y = x line.
                              Regenerate: scripts/real-build.sh zlib --out DIR, then --agreement DIR/agreement.csv
  fig-memory-over-time        issue 13 (the paper's Evaluation (1)): Σ Pss of the running instances against
                              time, one panel per mechanism (ksm, loader), one line per strategy, the
                              final measured/predicted frames in the legend.
  fig-runtime-ratios          issue 13: median time / the default strategy's median run directly (same image
                              and lifetime), per strategy, one panel per lifetime (short: whole processes;
                              long: per iteration), bars per mode (direct, ksm, loader), whiskers: quartiles
                              of the per-image ratios.
                              Regenerate both: notebooks/real-run.sh sqlite (root, gcc; ~15 min)

Faceting: a figure never averages over anything but seeds. Every run-identity column that varies in
the CSV and is not drawn (page_size, dedup, instances_per_image, max_page_sharing, xrefs, preset,
change_rate, workload, tables) gets small multiples: one panel per combination of its values. More
than 12 combinations: the figure is refused with a message naming the varying columns (use --where).

Styles: every strategy variant is labelled like the CLI, `name[k=v;...]` with its non-default
parameters (defaults from `spacer-sim strategies --verbose`, found via --spacer-sim, $SPACER_SIM,
.build/{release,debug}/spacer-sim or PATH; without one, a strategy whose variants differ is labelled
with its full parameters), and gets its own colour AND marker, fixed by its position in the sorted
list of every label of this invocation, the same in every figure. `default` is always drawn, hollow
and on top; a variant with parameters is drawn dashed and smaller above its base strategy, so that
coinciding series stay visible.

Columns are read by name (README, "Result CSV"), never by position. A missing column exits 2 with
the file and the column; no figure written gives exit 66; a refused figure gives exit 2.
"""
import argparse
import csv
import glob
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
from collections import defaultdict

try:
    import matplotlib
except ImportError:  # pragma: no cover - exercised by hand
    matplotlib = None

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MAX_PANELS = 12

# The identity of a run (README, sweep "Columns"); `seed` is the only column averaged over.
FACET_KEYS = ["preset", "workload", "tables", "change_rate", "page_size", "dedup", "instances_per_image",
              "max_page_sharing", "xrefs"]

# 16 colours (tab10, then the dark half of tab20b/c) and 13 markers: label i gets colour i % 16 and
# marker i % 13, so up to 13 variants differ in both, and up to 208 in the pair.
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd"]
MARKERS = ["o", "s", "D", "^", "v", "P", "X", "*", "<", ">", "h", "p", "d"]


class InputError(Exception):
    """A problem with an input file: printed as `figures.py: <message>`, exit 2."""


class Refused(Exception):
    """A figure that would need more than MAX_PANELS panels."""


# ----------------------------------------------------------------------------------------------
# Reading

def read(path):
    """Rows of a CSV as dicts (comment lines starting with # skipped), each remembering its file."""
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(line for line in f if not line.startswith("#"))
            rows = list(reader)
            header = reader.fieldnames or []
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}")
    except csv.Error as e:
        raise InputError(f"{path}: not a CSV: {e}")
    if not header:
        raise InputError(f"{path}: empty file (no header row)")
    for r in rows:
        r["__file__"] = path
    return rows, header


def require(header, path, columns, figure):
    missing = [c for c in columns if c not in header]
    if missing:
        raise InputError(f"{path}: missing column{'s' if len(missing) > 1 else ''} "
                         f"{', '.join(repr(c) for c in missing)} (needed by {figure}; the file has: {', '.join(header)})")


def num(v):
    """A float, or None for an empty / non-numeric field."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def keep(rows, figure, *cols):
    """Rows whose columns `cols` are all numbers; says how many were dropped (errored runs, say)."""
    good = [r for r in rows if all(num(r.get(c)) is not None for c in cols)]
    if len(good) < len(rows):
        print(f"note: {figure}: {len(rows) - len(good)} row(s) without a number in {', '.join(cols)} left out", file=sys.stderr)
    return good


def apply_where(rows, where):
    for col, val in where:
        rows = [r for r in rows if col not in r or r[col] == val]
    return rows


# ----------------------------------------------------------------------------------------------
# Labels and styles

def parse_params(params):
    """'k=v;k2=v2' -> [(k, v), ...] in the given order."""
    out = []
    for kv in (params or "").split(";"):
        if "=" in kv:
            k, v = kv.split("=", 1)
            out.append((k.strip(), v.strip()))
    return out


def split_given(s):
    """'name[k=v;...]' (as --strategies takes it) -> (name, 'k=v;...')."""
    m = re.fullmatch(r"\s*([^\[\]]+?)\s*(?:\[(.*)\])?\s*", s or "")
    return (m.group(1), m.group(2) or "") if m else (s, "")


_DEFAULTS_CACHE = {}


def strategy_defaults(binary=None):
    """{strategy: {parameter: default}} from `spacer-sim strategies --verbose`, or None without a binary."""
    cands = [binary, os.environ.get("SPACER_SIM"), os.path.join(ROOT, ".build/release/spacer-sim"),
             os.path.join(ROOT, ".build/debug/spacer-sim"), shutil.which("spacer-sim")]
    for exe in cands:
        if not exe or not os.access(exe, os.X_OK):
            continue
        if exe in _DEFAULTS_CACHE:
            return _DEFAULTS_CACHE[exe]
        try:
            text = subprocess.run([exe, "strategies", "--verbose"], capture_output=True, text=True, timeout=30, check=True).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        out = parse_strategies_verbose(text)
        if out:
            _DEFAULTS_CACHE[exe] = out
            return out
    return None


def parse_strategies_verbose(text):
    """Parses `spacer-sim strategies --verbose`: a strategy line starts in column 0 with its name; its
    parameter lines are indented, `--param NAME=<type>  (default VALUE)  help` (VALUE may be quoted)."""
    out = {}
    current = None
    for line in text.splitlines():
        if not line.strip():
            continue
        if not line[0].isspace():
            current = line.split()[0]
            out[current] = {}
            continue
        m = re.match(r'\s+--param\s+([A-Za-z0-9_.-]+)=\S*\s+\(default\s+("[^"]*"|[^)\s]*)\)', line)
        if m and current is not None:
            v = m.group(2)
            out[current][m.group(1)] = v[1:-1] if v.startswith('"') else v
    return out


class Labeller:
    """CLI-like labels for (strategy, params). With known defaults: `name[k=v;...]` with only the
    non-default parameters. Without: `name` when the strategy has one variant in the inputs, else
    `name[every k=v]`."""

    def __init__(self, defaults=None):
        self.defaults = defaults
        self.variants = defaultdict(set)

    def observe(self, strategy, params):
        self.variants[strategy].add(params or "")

    def label(self, strategy, params):
        kv = parse_params(params)
        if self.defaults is not None and strategy in self.defaults:
            d = self.defaults[strategy]
            changed = [(k, v) for k, v in kv if d.get(k) != v]
        elif len(self.variants.get(strategy, ())) > 1:
            changed = kv
        else:
            changed = []
        return strategy + ("[" + ";".join(f"{k}={v}" for k, v in changed) + "]" if changed else "")


def styles(labels):
    """label -> (colour, marker), fixed by the position in the sorted label list."""
    return {n: (COLOURS[i % len(COLOURS)], MARKERS[i % len(MARKERS)]) for i, n in enumerate(sorted(set(labels)))}


def is_default(label):
    return label == "default"


# ----------------------------------------------------------------------------------------------
# Facets

def sort_values(values):
    if all(num(v) is not None for v in values):
        return sorted(values, key=float)
    return sorted(values)


def facet_title(key, v):
    if key == "page_size":
        n = int(float(v)) if num(v) is not None else None
        return f"page {n // 1024} KiB" if n and n % 1024 == 0 else f"page {v} B"
    if key == "instances_per_image":
        return f"{v} instance{'s' if v != '1' else ''}/image" if v else "instances per workload"
    if key == "change_rate":
        return f"change rate {v}" if v else "no change rate (tables)"
    if key in ("workload", "tables"):
        return f"{key} {os.path.basename(v.rstrip('/')) or '–'}"
    if key == "preset":
        return f"preset {v}" if v else "tables (no preset)"
    return f"{key} {v}"


def facets(rows, figure, exclude=()):
    """(varying keys, [(combo dict, rows)]) over FACET_KEYS present in the rows; Refused when more
    than MAX_PANELS combinations."""
    keys = [k for k in FACET_KEYS if k not in exclude and any(k in r for r in rows)
            and len({r.get(k, "") for r in rows}) > 1]
    groups = defaultdict(list)
    for r in rows:
        groups[tuple(r.get(k, "") for k in keys)].append(r)
    if len(groups) > MAX_PANELS:
        def values(k):
            vs = sort_values({r.get(k, "") for r in rows})
            return f"{k} ({len(vs)} values: {', '.join(vs[:6])}{', …' if len(vs) > 6 else ''})"
        first = sort_values({r.get(keys[0], "") for r in rows})[0]
        raise Refused(f"{figure}: refusing to draw {len(groups)} panels (more than {MAX_PANELS}); the columns that "
                      f"vary are {', '.join(values(k) for k in keys)}. Select a slice with --where COL=VALUE "
                      f"(e.g. --where {keys[0]}={first}) or split the sweep.")
    order = [tuple(c) for c in sorted(groups, key=lambda c: [float(x) if num(x) is not None else math.inf for x in c] + list(c))]
    return keys, [({k: v for k, v in zip(keys, c)}, groups[c]) for c in order]


def combo_title(combo):
    return " · ".join(facet_title(k, v) for k, v in combo.items()) or None


def constants(rows, exclude=()):
    """A caption of the identity columns that do not vary (so every panel shares them)."""
    parts = []
    for k in FACET_KEYS:
        if k in exclude or not any(k in r for r in rows):
            continue
        vals = {r.get(k, "") for r in rows}
        if len(vals) == 1:
            v = vals.pop()
            # A preset's rows name their workload `preset:NAME` and their tables `generated`: said by `preset`.
            if (k == "workload" and v.startswith("preset:")) or (k == "tables" and v == "generated"):
                continue
            if v:
                parts.append(facet_title(k, v))
    return ", ".join(parts)


def seed_caption(rows, group_key, spread="band = min–max"):
    """'mean of N seeds' (or 'N–M seeds' when points differ; 'one run' without seeds)."""
    per = defaultdict(set)
    for r in rows:
        per[group_key(r)].add(r.get("seed", ""))
    ns = sorted({len(s) for s in per.values()}) or [1]
    if ns == [1]:
        return "one seed per point" if any(r.get("seed") for r in rows) else "one run per point"
    n = f"{ns[0]}" if len(ns) == 1 else f"{ns[0]}–{ns[-1]}"
    return f"mean of {n} seeds, {spread}" if spread else f"mean of {n} seeds"


def grid(n, ncols_max=4, keys=None, combos=None):
    """(columns, rows) of a panel grid; with two or more facet keys, one column per value of the last
    one (when it has at most ncols_max values), so that rows and columns read as a table."""
    if keys and len(keys) >= 2 and combos:
        last = {c[keys[-1]] for c, _ in combos}
        if len(last) <= ncols_max and n % len(last) == 0:
            return len(last), n // len(last)
    ncols = max(1, min(n, ncols_max))
    return ncols, max(1, math.ceil(n / ncols))


def page_unit(rows):
    sizes = sorted({int(float(r["page_size"])) for r in rows if num(r.get("page_size")) is not None})
    return ", ".join(f"{s // 1024} KiB" for s in sizes) or "?"


# ----------------------------------------------------------------------------------------------
# Drawing helpers

FORMATS = ["svg", "png"]


def save(fig, out, name):
    import matplotlib.pyplot as plt
    for ext in FORMATS:
        path = os.path.join(out, f"{name}.{ext}")
        fig.savefig(path, dpi=150, bbox_inches="tight", metadata={"Date": None} if ext == "svg" else None)
        print("wrote", path)
    plt.close(fig)


def report(fig, name, keys, combos):
    fig.spacer_panels = [c for c, _ in combos]
    fig.spacer_facet_keys = list(keys)
    what = f", one per {' × '.join(keys)}" if keys else ""
    print(f"{name}: {len(combos)} panel{'s' if len(combos) != 1 else ''}{what}")


def line_style(label):
    """A variant with parameters (`name[...]`) is dashed, so that it stays visible on top of its base strategy."""
    return (0, (4, 2)) if "[" in label else "-"


def integer_x(ax):
    from matplotlib import ticker
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))


def title(fig, text, width):
    """A suptitle wrapped to the figure's width (about 17 characters per inch at 11 pt)."""
    import textwrap
    fig.suptitle("\n".join(textwrap.wrap(text, max(40, int(width * 15)))))


def frames_unit(rows):
    sizes = {r.get("page_size") for r in rows}
    return f"physical pages of {page_unit(rows)}" if len(sizes) == 1 else "physical pages of the panel's page size"


def legend_handles(st, names, line=True):
    from matplotlib.lines import Line2D
    return [Line2D([], [], color=st[n][0], marker=st[n][1], ls=line_style(n) if line else "", ms=6,
                   mfc="none" if is_default(n) else st[n][0], mew=1.6 if is_default(n) else 1.0, label=n)
            for n in sorted(names)]


def series(rows, label_of, x, y):
    """label -> sorted [(x, mean, min, max, n)] over seeds."""
    acc = defaultdict(lambda: defaultdict(list))
    for r in rows:
        acc[label_of(r)][num(r[x])].append(num(r[y]))
    return {n: [(v, statistics.fmean(ys), min(ys), max(ys), len(ys)) for v, ys in sorted(d.items())] for n, d in acc.items()}


def draw_series(ax, st, pts_by_label, band=True):
    """One line per variant; `default` drawn last, hollow and on top, so that it is never hidden."""
    # Variants with parameters after (above) their base strategy, smaller and dashed, default last.
    names = sorted(pts_by_label, key=lambda n: (is_default(n), "[" in n, n))
    for k, n in enumerate(names):
        pts = pts_by_label[n]
        c, m = st[n]
        d = is_default(n)
        v = [p[0] for p in pts]
        ax.plot(v, [p[1] for p in pts], marker=m, ms=6 if d else (3.2 if "[" in n else 5), color=c, lw=1.6 if d else 1.2, ls=line_style(n),
                mfc="none" if d else c, mew=1.6 if d else 1.0, zorder=5 if d else 3, label=n)
        if band and any(p[4] > 1 for p in pts):
            ax.fill_between(v, [p[2] for p in pts], [p[3] for p in pts], color=c, alpha=0.13, lw=0, zorder=1)


def log_ticks(ax):
    from matplotlib import ticker
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1, 2, 5)))
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda y, _: f"{y:,.0f}"))
    ax.yaxis.set_minor_formatter(ticker.NullFormatter())


def subplots(n, w=4.3, h=3.5, keys=None, combos=None, ncols_max=4, **kw):
    import matplotlib.pyplot as plt
    ncols, nrows = grid(n, ncols_max=ncols_max, keys=keys, combos=combos)
    fig, axes = plt.subplots(nrows, ncols, figsize=(w * ncols, h * nrows), squeeze=False, **kw)
    flat = [a for row in axes for a in row]
    for a in flat[n:]:
        a.set_visible(False)
    return fig, flat[:n], ncols


# ----------------------------------------------------------------------------------------------
# Figures. Each takes rows (dicts) and a label function / style map, and returns the Figure.

SWEEP_COLUMNS = ["strategy", "params", "seed", "versions", "page_size", "frames", "lower_bound_frames"]


def frames_vs_versions(rows, out, lab, st):
    name = "fig-frames-vs-versions"
    rows = keep(rows, name, "versions", "frames", "lower_bound_frames")
    keys, combos = facets(rows, name, exclude=("versions",))
    fig, axes, ncols = subplots(len(combos), keys=keys, combos=combos, sharey=True)
    cap = seed_caption(rows, lambda r: (tuple(r.get(k, "") for k in FACET_KEYS), r["strategy"], r["params"], r["versions"]))
    for i, (ax, (combo, g)) in enumerate(zip(axes, combos)):
        draw_series(ax, st, series(g, lab, "versions", "frames"))
        lb = series(g, lambda r: "lower bound", "versions", "lower_bound_frames")["lower bound"]
        ax.plot([p[0] for p in lb], [p[1] for p in lb], color="black", ls="--", lw=1, zorder=4)
        ax.set_title(combo_title(combo) or "all runs", fontsize=10)
        ax.set_xlabel("versions (one image each)")
        integer_x(ax)
        log_ticks(ax)
        if i % ncols == 0:
            ax.set_ylabel(f"frames ({cap.split(',')[0]}; log)\n{frames_unit(rows)}")
    from matplotlib.lines import Line2D
    names = {lab(r) for r in rows}
    handles = legend_handles(st, names) + [Line2D([], [], color="black", ls="--", lw=1, label="lower bound")]
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 0.95), frameon=False)
    title(fig, f"Frames as versions accumulate ({constants(rows)}; {cap})", fig.get_figwidth())
    fig.tight_layout()
    report(fig, name, keys, combos)
    save(fig, out, name)
    return fig


def fragmentation_vs_frames(rows, out, lab, st):
    name = "fig-fragmentation-vs-frames"
    rows = keep(rows, name, "frames", "lower_bound_frames", "fragmentation_pct")
    # Every run is its own point (no averaging), so versions and seeds are not faceted.
    keys, combos = facets(rows, name, exclude=("versions",))
    fig, axes, ncols = subplots(len(combos), w=4.6, h=3.8, keys=keys, combos=combos, sharey=True, sharex=True)
    ratio = lambda r: num(r["frames"]) / max(num(r["lower_bound_frames"]), 1)  # noqa: E731
    hi = max(ratio(r) for r in rows)
    for i, (ax, (combo, g)) in enumerate(zip(axes, combos)):
        by = defaultdict(list)
        for r in g:
            by[lab(r)].append(r)
        for n in sorted(by, key=lambda n: (is_default(n), "[" in n, n)):  # variants smaller, above their base
            c, m = st[n]
            d = is_default(n)
            ax.scatter([ratio(r) for r in by[n]], [num(r["fragmentation_pct"]) for r in by[n]], s=28 if d else (7 if "[" in n else 20),
                       marker=m, facecolors="none" if d else c, edgecolors=c, linewidths=1.2 if d else 0.3,
                       alpha=0.9 if d else 0.65, zorder=5 if d else 3)
        ax.set_xscale("log")
        ticks = [1, 1.5, 2, 3, 5, 10, 20, 50]
        ax.set_xticks([t for t in ticks if t <= hi * 1.2], [f"{t:g}" for t in ticks if t <= hi * 1.2])
        ax.minorticks_off()
        ax.set_title(combo_title(combo) or "all runs", fontsize=10)
        ax.set_xlabel("frames / lower bound (log)")
        if i % ncols == 0:
            ax.set_ylabel("internal fragmentation (% of mapped bytes)")
    fig.legend(handles=legend_handles(st, {lab(r) for r in rows}, line=False), loc="upper left",
               bbox_to_anchor=(1.0, 0.95), frameon=False)
    title(fig, f"Fragmentation against frames, every run: one point per (versions, seed) ({constants(rows)})", fig.get_figwidth())
    fig.tight_layout()
    report(fig, name, keys, combos)
    save(fig, out, name)
    return fig


def sharing_per_version(rows, out, lab, st):
    import matplotlib.pyplot as plt
    name = "fig-sharing-per-version"
    rows = keep(rows, name, "versions", "sharing_pct", "ideal_sharing_pct")
    keys, combos = facets(rows, name, exclude=("versions",))
    ncols, frows = grid(len(combos), keys=keys, combos=combos)
    # One sub-figure per facet, holding the two metrics one above the other.
    fig = plt.figure(figsize=(4.3 * ncols, 5.4 * frows), layout="constrained")
    subs = fig.subfigures(frows, ncols, squeeze=False, wspace=0.03, hspace=0.04)
    cap = seed_caption(rows, lambda r: (tuple(r.get(k, "") for k in FACET_KEYS), r["strategy"], r["params"], r["versions"]), spread="")
    metrics = [("sharing_pct", "pages shared\n(% of mapped pages)"),
               ("ideal_sharing_pct", "ideal sharing achieved\n(% of shareable bytes)")]
    for j in range(frows * ncols):
        sub = subs[j // ncols][j % ncols]
        if j >= len(combos):
            continue
        combo, g = combos[j]
        axes = sub.subplots(2, 1, sharex=True)
        sub.suptitle(combo_title(combo) or "all runs", fontsize=10)
        for i, (ax, (col, what)) in enumerate(zip(axes, metrics)):
            draw_series(ax, st, series(g, lab, "versions", col), band=False)
            ax.set_ylim(-3, 103)
            integer_x(ax)
            if j % ncols == 0:
                ax.set_ylabel(what)
            if i == 1:
                ax.set_xlabel("versions (one image each)")
    fig.legend(handles=legend_handles(st, {lab(r) for r in rows}), loc="upper left", bbox_to_anchor=(1.0, 0.95), frameon=False)
    title(fig, f"Sharing as versions accumulate ({constants(rows)}; {cap})", fig.get_figwidth())
    report(fig, name, keys, combos)
    save(fig, out, name)
    return fig


COMPARE_COLUMNS = ["strategy", "params", "workload", "images", "instances", "page_size", "dedup", "xrefs",
                   "frames", "lower_bound_frames", "sharing_pct", "fragmentation_pct"]


def real_bars(rows, out, lab, st):
    import matplotlib.pyplot as plt
    name = "fig-real-bars"
    rows = keep(rows, name, "frames", "sharing_pct", "fragmentation_pct")
    keys, combos = facets(rows, name)
    fig, axes = plt.subplots(len(combos), 3, figsize=(12.5, 0.5 + 0.32 * max(len(g) for _, g in combos) * len(combos) + 0.9 * len(combos)),
                             squeeze=False)
    for row, (combo, g) in zip(axes, combos):
        order = sorted(g, key=lambda r: num(r["frames"]))
        names = [lab(r) for r in order]
        cols = [("frames", f"frames (physical pages of {page_unit(g)})"), ("sharing_pct", "pages shared (% of mapped pages)"),
                ("fragmentation_pct", "internal fragmentation (% of mapped bytes)")]
        for ax, (col, label) in zip(row, cols):
            vals = [num(r[col]) for r in order]
            y = list(range(len(order)))
            ax.barh(y, vals, color=[st[n][0] for n in names], edgecolor=["black" if is_default(n) else "none" for n in names])
            for k, (v, n) in enumerate(zip(vals, names)):  # the variant's marker at the bar's end
                ax.scatter([v], [k], marker=st[n][1], s=30, facecolors="white" if is_default(n) else st[n][0],
                           edgecolors="black", linewidths=0.6, zorder=4)
            ax.set_yticks(y, names)
            ax.invert_yaxis()
            ax.set_xlabel(label)
            for k, v in zip(y, vals):
                ax.text(v, k, f" {v:,.0f}" if col == "frames" else f" {v:.1f}", va="center", fontsize=8)
            ax.margins(x=0.22)
            if col == "frames":
                lbs = {num(r["lower_bound_frames"]) for r in g} - {None}
                if lbs:
                    lb = max(lbs)
                    ax.axvline(lb, color="black", ls="--", lw=1)
                    ax.text(lb, len(order) - 0.6, f" lower bound {lb:,.0f}", fontsize=8, ha="left", va="top",
                            bbox=dict(fc="white", ec="none", pad=1))
        for ax in row[1:]:
            ax.set_yticklabels([])
        r0 = g[0]
        t = combo_title(combo)
        row[1].set_title((t + ": " if t else "") + f"{os.path.basename(r0['workload'])}, {r0['images']} images, "
                         f"{r0['instances']} instances", fontsize=10)
    title(fig, f"Real tables, one run per strategy ({constants(rows)})", fig.get_figwidth())
    fig.tight_layout()
    report(fig, name, keys, combos)
    save(fig, out, name)
    return fig


EXPLAIN_COLUMNS = ["strategy", "params", "workload", "page_size", "cause", "frames", "strategy_frames", "lower_bound_frames"]
# The causes of `spacer-sim explain`, in its chain order (docs/design.md §4), each with a fixed colour.
EXPLAIN_CAUSES = [("ksm-cap", "#7f7f7f"), ("writable", "#8c564b"), ("trampoline-tables", "#9467bd"),
                  ("address-divergence", "#d62728"), ("call-divergence", "#ff7f0e"), ("data-divergence", "#bcbd22"),
                  ("identity-duplication", "#e377c2"), ("image-set-boundary", "#1f77b4"), ("padding", "#17becf")]


def explain_bars(rows, out, lab, st):
    """fig-explain: per workload (and other varying key) one panel; per strategy variant one
    horizontal bar of its frames: the lower bound, then one stacked segment per cause."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    name = "fig-explain"
    rows = keep(rows, name, "frames", "strategy_frames", "lower_bound_frames")
    known = {c for c, _ in EXPLAIN_CAUSES}
    for r in rows:
        if r["cause"] not in known:
            raise InputError(f"{r['__file__']}: unknown cause {r['cause']!r} (expected one of {', '.join(sorted(known))})")
    keys, combos = facets(rows, name)
    bars = []
    for combo, g in combos:
        per = defaultdict(dict)
        for r in g:
            per[lab(r)][r["cause"]] = r
        for label, causes in per.items():
            first = next(iter(causes.values()))
            total = sum(num(r["frames"]) for r in causes.values())
            if total != num(first["strategy_frames"]) - num(first["lower_bound_frames"]):
                raise InputError(f"{first['__file__']}: {label}: causes sum to {total:.0f}, strategy_frames − lower_bound_frames = "
                                 f"{num(first['strategy_frames']) - num(first['lower_bound_frames']):.0f}")
        bars.append(per)
    ncols = 1
    height = max(len(p) for p in bars)
    fig, axes = plt.subplots(len(combos), ncols, figsize=(11, 0.9 + (0.34 * height + 0.9) * len(combos)), squeeze=False)
    for ax, (combo, g), per in zip(axes[:, 0], combos, bars):
        order = sorted(per, key=lambda n: (num(next(iter(per[n].values()))["strategy_frames"]), n))
        y = list(range(len(order)))
        lbs = [num(next(iter(per[n].values()))["lower_bound_frames"]) for n in order]
        ax.barh(y, lbs, color="#dddddd", edgecolor="#999999", linewidth=0.5)
        left = list(lbs)
        for cause, colour in EXPLAIN_CAUSES:
            vals = [num(per[n][cause]["frames"]) if cause in per[n] else 0 for n in order]
            ax.barh(y, vals, left=left, color=colour, edgecolor="none")
            left = [a + b for a, b in zip(left, vals)]
        # An outlier (function-per-page: 9× the others) would squash every other bar: the axis
        # stops at 1.3 × the second largest bar, and a cut bar says so at its end.
        totals = sorted(num(next(iter(per[n].values()))["strategy_frames"]) for n in order)
        limit = 1.3 * totals[-2] if len(totals) >= 2 and totals[-1] > 3 * totals[-2] else None
        for k, n in enumerate(order):
            r0 = next(iter(per[n].values()))
            lb, fr = num(r0["lower_bound_frames"]), num(r0["strategy_frames"])
            label = f" {fr:,.0f} ({fr / lb:.2f}× bound)" if lb else f" {fr:,.0f}"
            if limit is not None and fr > limit:
                ax.text(limit, k, f"{label} (bar cut) ", va="center", ha="right", fontsize=8, bbox=dict(fc="white", ec="none", pad=1))
            else:
                ax.text(fr, k, label, va="center", fontsize=8)
        if limit is not None:
            ax.set_xlim(0, limit)
        ax.set_yticks(y, order)
        for tick, n in zip(ax.get_yticklabels(), order):
            tick.set_color(st[n][0] if n in st else "black")
        ax.invert_yaxis()
        if limit is None:
            ax.margins(x=0.18)
        ax.set_xlabel(f"frames (physical pages of {page_unit(g)}): lower bound, then frames above it by cause")
        r0 = g[0]
        t = combo_title(combo)
        ax.set_title(t or f"workload {os.path.basename(r0['workload'])}", fontsize=10)
    handles = [Patch(facecolor="#dddddd", edgecolor="#999999", label="lower_bound_frames")] + \
              [Patch(facecolor=c, label=n) for n, c in EXPLAIN_CAUSES]
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 0.95), frameon=False)
    title(fig, f"Where the frames go: spacer-sim explain, one bar per strategy ({constants(rows)})", fig.get_figwidth())
    fig.tight_layout()
    report(fig, name, keys, combos)
    save(fig, out, name)
    return fig


TRADEOFF_COLUMNS = ["strategy", "params", "page_size", "pages_per_default", "frames_per_bound"]


def tradeoff(real, sweep_rows, out, lab, st):
    """One panel per real workload (and per other varying key), then one per slice of the sweep."""
    name = "fig-tradeoff"
    real = keep(real, name, "pages_per_default", "frames_per_bound")
    sweep_rows = keep(sweep_rows, name, "versions", "pages_per_default", "frames_per_bound")
    panels = []
    if real:
        keys_r, combos_r = facets(real, name)
        panels += [("real", c, g) for c, g in combos_r]
    else:
        keys_r, combos_r = [], []
    if sweep_rows:
        keys_s, combos_s = facets(sweep_rows, name, exclude=("versions",))
        panels += [("sweep", c, g) for c, g in combos_s]
    else:
        keys_s, combos_s = [], []
    if len(panels) > MAX_PANELS:
        raise Refused(f"{name}: refusing to draw {len(panels)} panels (more than {MAX_PANELS}); varying columns: "
                      f"{', '.join(keys_r)} (real), {', '.join(keys_s)} (sweep); select with --where COL=VALUE")
    allrows = real + sweep_rows
    # The page size in the panel titles when it is not the same everywhere (then the suptitle lacks it).
    varies = len({r.get("page_size") for r in allrows}) > 1

    def page_note(g, combo):
        return f"page {page_unit(g)}" if varies and "page_size" not in combo else ""
    fig, axes, ncols = subplots(len(panels), w=6.2, h=5.0, ncols_max=2)
    import matplotlib.pyplot as plt
    from matplotlib import ticker
    for i, (ax, (kind, combo, g)) in enumerate(zip(axes, panels)):
        ax.add_patch(plt.Rectangle((0.9, 0.98), 0.2, 0.07, color="#55a868", alpha=0.18, lw=0))
        ax.text(0.905, 1.0, "target", fontsize=8, color="#2d6b3c")
        ax.set_xscale("log"); ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_locator(ticker.LogLocator(base=10, subs=(1, 1.2, 1.5, 2, 3, 5, 7)))
            axis.set_major_formatter(ticker.FormatStrFormatter("%.2g"))
            axis.set_minor_formatter(ticker.NullFormatter())
        ax.set_xlabel("mapped pages / default's (image size)")
        if i % ncols == 0:
            ax.set_ylabel("frames / lower bound (memory)")
        t = combo_title(combo)
        if kind == "real":
            wl = os.path.basename(g[0].get("workload", "")).replace("-workload.csv", "")
            rest = combo_title({k: v for k, v in combo.items() if k != "workload"})
            ax.set_title(f"real: {wl}" + "".join(f" ({x})" for x in (rest, page_note(g, combo)) if x), fontsize=10)
            by = defaultdict(list)
            for r in g:
                by[lab(r)].append(r)
            # A variant with parameters is drawn smaller and above its base strategy, default hollow on
            # top of everything: points that coincide all stay visible.
            for n in sorted(by, key=lambda n: (is_default(n), "[" in n, n)):
                c, m = st[n]
                d = is_default(n)
                ax.scatter([num(r["pages_per_default"]) for r in by[n]], [num(r["frames_per_bound"]) for r in by[n]],
                           marker=m, s=90 if d else (26 if "[" in n else 64), facecolors="none" if d else c,
                           edgecolors="black" if not d else c, linewidths=1.8 if d else 0.4, zorder=6 if d else (4 if "[" in n else 3))
        else:
            vs = sorted({int(num(r["versions"])) for r in g})
            what = "synthetic" if any(r.get("preset") for r in g) else "sweep on tables"
            ctx = constants(g, exclude=("page_size", "dedup", "max_page_sharing", "xrefs", "instances_per_image") + tuple(combo))
            import textwrap
            ax.set_title("\n".join(textwrap.wrap(f"{what}: " + ", ".join(
                x for x in (t, ctx, page_note(g, combo), f"versions {vs[0]}..{vs[-1]}") if x), 75)), fontsize=10)
            xs = series(g, lab, "versions", "pages_per_default")
            ys = series(g, lab, "versions", "frames_per_bound")
            for n in sorted(xs, key=lambda n: (is_default(n), "[" in n, n)):
                c, m = st[n]
                d = is_default(n)
                px, py = xs[n], ys[n]
                ax.plot([p[1] for p in px], [p[1] for p in py], marker=m, color=c, lw=1.2, ms=6 if d else (3 if "[" in n else 5),
                        ls=line_style(n),
                        mfc="none" if d else c, mew=1.6 if d else 1.0, zorder=5 if d else 3)
                if any(p[4] > 1 for p in py):
                    ax.errorbar([p[1] for p in px], [p[1] for p in py],
                                xerr=[[p[1] - p[2] for p in px], [p[3] - p[1] for p in px]],
                                yerr=[[p[1] - p[2] for p in py], [p[3] - p[1] for p in py]], fmt="none", ecolor=c, lw=0.8, alpha=0.6)
                ax.annotate(f"{int(px[-1][0])}v", (px[-1][1], py[-1][1]), fontsize=6.5, xytext=(3, -8),
                            textcoords="offset points", color=c)
    names = {lab(r) for r in real} | {lab(r) for r in sweep_rows}
    fig.legend(handles=legend_handles(st, names, line=False), loc="upper left", bbox_to_anchor=(1.0, 0.95), frameon=False)
    cap = seed_caption(sweep_rows, lambda r: (tuple(r.get(k, "") for k in FACET_KEYS), r["strategy"], r["params"], r["versions"])) if sweep_rows else ""
    fig.suptitle(f"Memory against image size, every strategy ({constants(allrows, exclude=('workload', 'tables', 'preset', 'change_rate'))}"
                 + (f"; sweep: {cap}" if cap else "") + ")")
    fig.tight_layout()
    report(fig, name, keys_r + [k for k in keys_s if k not in keys_r], [(c, g) for _, c, g in panels])
    save(fig, out, name)
    return fig


AGREEMENT_COLUMNS = ["library", "strategy", "zone", "predicted_total_pages", "measured_total_pages",
                     "predicted_frames", "measured_frames"]


def parity(rows, out, lab, st):
    """Predicted against measured, one point per (strategy, zone, image set), y = x."""
    import matplotlib.pyplot as plt
    name = "fig-parity"
    metrics = [("total_pages", "mapped pages", "pages"), ("frames", "frames (distinct physical pages)", "frames")]
    if all("predicted_pages_sharing" in r and "measured_pages_sharing" in r for r in rows):
        metrics.append(("pages_sharing", "pages sharing (KSM's counter)", "pages"))
    usable = [r for r in rows if num(r.get("predicted_frames")) is not None and num(r.get("measured_frames")) is not None]
    skipped = sorted({f"{r['strategy']}/{r['zone']}" for r in rows if r not in usable})
    if skipped:
        print(f"note: {name}: no prediction for {', '.join(skipped)} (measured only); left out", file=sys.stderr)
    if not usable:
        raise InputError(f"{rows[0]['__file__'] if rows else 'agreement.csv'}: no row with both predicted and measured frames")
    libs = sorted({r["library"] for r in usable})
    zones = sorted({r["zone"] for r in usable})
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.2 * len(metrics), 5.4), squeeze=False)
    axes = axes[0]
    for ax, (col, what, unit) in zip(axes, metrics):
        pts = [(num(r[f"predicted_{col}"]), num(r[f"measured_{col}"]), r) for r in usable]
        pts = [p for p in pts if p[0] is not None and p[1] is not None]
        hi = max([v for p in pts for v in p[:2]] + [1]) * 1.6
        # symlog: linear below 1, so that an empty zone (0 predicted, 0 measured) sits at the origin.
        from matplotlib import ticker
        for axis, setscale in ((ax.xaxis, ax.set_xscale), (ax.yaxis, ax.set_yscale)):
            setscale("symlog", linthresh=1, linscale=0.4)
            axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.plot([0, hi], [0, hi], color="black", lw=1, ls="--", zorder=1)
        for pred, meas, r in sorted(pts, key=lambda p: (is_default(lab(p[2])), lab(p[2]))):
            n = lab(r)
            c, m = st[n]
            d = is_default(n)
            ax.scatter([pred], [meas], marker=m, s=80 if d else 44, facecolors="none" if d else c, edgecolors=c if d else "black",
                       linewidths=1.6 if d else 0.4, zorder=5 if d else 3)
            if pred or meas:  # zone labels alternate right-below / left-above so that neighbours stay legible
                tag = r["zone"] + (f" ({r['library']})" if len(libs) > 1 else "")
                left = zones.index(r["zone"]) % 2 == 1
                ax.annotate(tag, (pred, meas), fontsize=6.5, xytext=(-6, 3) if left else (6, -6), ha="right" if left else "left",
                            textcoords="offset points", color="#444444")
        ax.set_xlim(-0.3, hi); ax.set_ylim(-0.3, hi)
        ax.set_aspect("equal")
        ax.set_xlabel(f"predicted by the simulator ({unit}, symlog)")
        ax.set_ylabel(f"measured on the linked ELF ({unit}, symlog)")
        off = [abs(p[1] - p[0]) for p in pts]
        exact = sum(1 for p in pts if p[0] == p[1])
        empty = sum(1 for p in pts if p[0] == 0 and p[1] == 0)
        ax.set_title(f"{what}\n{exact}/{len(pts)} points exact ({empty} empty zones at 0), "
                     f"largest |measured − predicted| {max(off) if off else 0:,.0f}", fontsize=9.5)
    from matplotlib.lines import Line2D
    handles = legend_handles(st, {lab(r) for r in usable}, line=False)
    handles.append(Line2D([], [], color="black", ls="--", lw=1, label="y = x (prediction exact)"))
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 0.92), frameon=False)
    files = sorted({r["__file__"] for r in rows})
    fig.suptitle(f"Predicted against measured, one point per (strategy, zone, image set): image sets {', '.join(libs)}; "
                 f"zones {', '.join(zones)}\n(from {', '.join(files)}; "
                 f"pages of 4 KiB (real-build.sh's default); each point is labelled with its zone", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.spacer_panels = [{"metric": c} for c, _, _ in metrics]
    fig.spacer_facet_keys = ["metric"]
    print(f"{name}: {len(metrics)} panels, one per metric; {len(usable)} points per panel")
    save(fig, out, name)
    return fig


# ----------------------------------------------------------------------------------------------

def setup_matplotlib():
    if matplotlib is None:
        print("figures.py: matplotlib is not installed: pip install matplotlib", file=sys.stderr)
        sys.exit(69)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({
        "font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 9,
        "axes.grid": True, "grid.alpha": 0.3, "svg.fonttype": "none",
        "svg.hashsalt": "spacer-sim", "path.simplify": False,
    })


RUN_COLUMNS = ["kind", "strategy", "dedup", "time_s", "instances_running", "pss_kib", "predicted_frames", "measured_frames"]
RUNTIME_COLUMNS = ["kind", "strategy", "mode", "image", "lifetime", "median_ms", "p25_ms", "p75_ms", "ratio_to_default"]


def memory_over_time(rows, out, st):
    """Σ Pss against time per strategy, one panel per mechanism (issue 13, Evaluation (1))."""
    import matplotlib.pyplot as plt
    name = "fig-memory-over-time"
    samples = [r for r in rows if r["kind"] == "sample" and num(r["time_s"]) is not None and num(r["pss_kib"]) is not None]
    finals = {(r["dedup"], r["strategy"]): r for r in rows if r["kind"] == "final"}
    if not samples:
        raise InputError(f"{rows[0]['__file__'] if rows else 'run CSV'}: no sample rows")
    dedups = [d for d in ("ksm", "loader") if any(r["dedup"] == d for r in samples)] + \
        sorted({r["dedup"] for r in samples} - {"ksm", "loader"})
    fig, axes = plt.subplots(1, len(dedups), figsize=(6.2 * len(dedups), 4.4), squeeze=False, sharey=True)
    for ax, d in zip(axes[0], dedups):
        by = defaultdict(list)
        for r in samples:
            if r["dedup"] == d:
                by[r["strategy"]].append((num(r["time_s"]), num(r["pss_kib"]) / 1024))
        for n in sorted(by, key=lambda n: (is_default(n), n)):
            c, m = st[n]
            pts = sorted(by[n])
            f = finals.get((d, n))
            extra = f" (final {pts[-1][1]:.1f} MiB; frames {f['measured_frames']} measured / {f['predicted_frames']} predicted)" if f else ""
            ax.plot([p[0] for p in pts], [p[1] for p in pts], color=c, marker=m, ms=3, lw=1.8 if is_default(n) else 1.3,
                    mfc="none" if is_default(n) else c, zorder=5 if is_default(n) else 3, label=n + extra)
        ax.set_title(f"{d}: Σ Pss of the instances", fontsize=10)
        ax.set_xlabel("time since the first start (s)")
        ax.legend(fontsize=7, loc="lower right")
    axes[0][0].set_ylabel("memory (MiB, Σ Pss from smaps_rollup)")
    inst = sorted({r["instances_running"] for r in rows if r["kind"] == "final"})
    fig.suptitle(f"Memory over time on the real mechanisms (instances at the end: {', '.join(inst)}; "
                 f"from {', '.join(sorted({r['__file__'] for r in rows}))})", fontsize=9.5)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.spacer_panels = [{"dedup": d} for d in dedups]
    fig.spacer_facet_keys = ["dedup"]
    print(f"{name}: {len(dedups)} panels, one per dedup")
    save(fig, out, name)
    return fig


def runtime_ratios(rows, out, st):
    """Median time / default's per strategy, bars per mode, one panel per lifetime (issue 13)."""
    import matplotlib.pyplot as plt
    name = "fig-runtime-ratios"
    # Baseline: the default strategy run directly (the normal way), same file, image and lifetime;
    # so bars show the layout's cost and the mechanism's together.
    base = {(r["__file__"], r["lifetime"], r["image"]): num(r["median_ms"]) for r in rows
            if r["kind"] == "series" and is_default(r["strategy"]) and r["mode"] == "direct"}
    series_rows = []
    for r in rows:
        b = base.get((r["__file__"], r["lifetime"], r["image"]))
        if r["kind"] == "series" and b and num(r["median_ms"]) is not None:
            series_rows.append(dict(r, ratio=num(r["median_ms"]) / b))
    # direct appears in every file: keep it once (the first file's).
    first = sorted({r["__file__"] for r in series_rows})[:1]
    series_rows = [r for r in series_rows if r["mode"] != "direct" or r["__file__"] in first]
    if not series_rows:
        raise InputError(f"{rows[0]['__file__'] if rows else 'runtime CSV'}: no series rows of the default strategy run directly")
    lifetimes = [l for l in ("short", "long") if any(r["lifetime"] == l for r in series_rows)]
    modes = [m for m in ("direct", "ksm", "loader") if any(r["mode"] == m for r in series_rows)]
    strategies = sorted({r["strategy"] for r in series_rows}, key=lambda n: (not is_default(n), n))
    fig, axes = plt.subplots(1, len(lifetimes), figsize=(5.8 * len(lifetimes), 4.2), squeeze=False, sharey=True)
    width = 0.8 / max(len(modes), 1)
    for ax, lt in zip(axes[0], lifetimes):
        for j, mode in enumerate(modes):
            xs, ys, lo, hi = [], [], [], []
            for i, s in enumerate(strategies):
                rs = sorted(r["ratio"] for r in series_rows if r["lifetime"] == lt and r["mode"] == mode and r["strategy"] == s)
                if not rs:
                    continue
                g = math.exp(sum(math.log(x) for x in rs) / len(rs))
                xs.append(i + (j - (len(modes) - 1) / 2) * width); ys.append(g)
                lo.append(g - rs[len(rs) // 4]); hi.append(rs[(3 * len(rs)) // 4] - g)
            ax.bar(xs, ys, width=width * 0.95, yerr=[[max(v, 0) for v in lo], [max(v, 0) for v in hi]], capsize=3,
                   color=COLOURS[j % len(COLOURS)], label=mode)
        ax.axhline(1.0, color="black", lw=1, ls="--")
        ax.set_xticks(range(len(strategies)))
        ax.set_xticklabels(strategies, rotation=20, ha="right")
        ax.set_title(f"{lt}-lived: {'whole processes' if lt == 'short' else 'per workload iteration'}", fontsize=10)
        ax.legend(fontsize=8)
    axes[0][0].set_ylabel("median time / default run directly (geo. mean over images)")
    fig.suptitle(f"Runtime relative to the default layout run directly by the kernel (bars: geometric mean over images; "
                 f"whiskers: quartiles of the per-image ratios)\nfrom {', '.join(sorted({r['__file__'] for r in rows}))}", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    fig.spacer_panels = [{"lifetime": l} for l in lifetimes]
    fig.spacer_facet_keys = ["lifetime"]
    print(f"{name}: {len(lifetimes)} panels, one per lifetime")
    save(fig, out, name)
    return fig


def load(path, columns, figure, where):
    rows, header = read(path)
    require(header, path, columns, figure)
    return apply_where(rows, where)


def parse_where(items):
    out = []
    for w in items:
        if "=" not in w:
            raise InputError(f"--where {w!r}: expected COL=VALUE")
        out.append(tuple(w.split("=", 1)))
    return out


def run(argv=None):
    """Draws every figure whose inputs exist; returns (exit status, {figure name: Figure})."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sweep", default="notebooks-out/sweep-paper.csv")
    ap.add_argument("--compare", default="notebooks-out/compare-default-workload.csv")
    ap.add_argument("--out", default="notebooks-out")
    ap.add_argument("--tradeoff-real", nargs="*", default=[f"notebooks-out/tradeoff-{w}.csv" for w in ("default", "lua", "zlib")])
    ap.add_argument("--tradeoff-sweep", default="notebooks-out/sweep-tradeoff.csv")
    ap.add_argument("--explain", nargs="*", default=[f"notebooks-out/explain-{w}.csv" for w in ("default", "lua", "zlib")])
    ap.add_argument("--agreement", nargs="*", default=None,
                    help="agreement.csv of scripts/real-build.sh (default: notebooks-out/agreement*.csv)")
    ap.add_argument("--run", nargs="*", default=None, help="`spacer-sim run` CSVs (default: notebooks-out/run-*.csv)")
    ap.add_argument("--runtime", nargs="*", default=None, help="`spacer-sim run --runtime` CSVs (default: notebooks-out/runtime-*.csv)")
    ap.add_argument("--where", action="append", default=[], metavar="COL=VALUE", help="keep only rows with COL == VALUE")
    ap.add_argument("--spacer-sim", default=None, help="spacer-sim binary for the strategies' parameter defaults")
    ap.add_argument("--no-spacer-sim", action="store_true", help="do not ask spacer-sim for parameter defaults")
    ap.add_argument("--formats", default="svg,png", help="comma-separated output formats (default svg,png)")
    a = ap.parse_args(argv)
    FORMATS[:] = [f.strip() for f in a.formats.split(",") if f.strip()]
    setup_matplotlib()
    where = parse_where(a.where)
    os.makedirs(a.out, exist_ok=True)
    agreement = a.agreement if a.agreement is not None else sorted(glob.glob("notebooks-out/agreement*.csv"))

    # Read every input first: one label list, hence one style map, for all figures.
    sweep = load(a.sweep, SWEEP_COLUMNS + ["fragmentation_pct", "sharing_pct", "ideal_sharing_pct"], "the sweep figures", where) \
        if os.path.exists(a.sweep) else None
    compare = load(a.compare, COMPARE_COLUMNS, "fig-real-bars", where) if os.path.exists(a.compare) else None
    real = [r for p in a.tradeoff_real if os.path.exists(p) for r in load(p, TRADEOFF_COLUMNS + ["workload"], "fig-tradeoff", where)]
    tsweep = load(a.tradeoff_sweep, TRADEOFF_COLUMNS + ["versions", "seed"], "fig-tradeoff", where) \
        if real and os.path.exists(a.tradeoff_sweep) else []
    agree = [r for p in agreement for r in load(p, AGREEMENT_COLUMNS, "fig-parity", where)]
    explain = [r for p in a.explain if os.path.exists(p) for r in load(p, EXPLAIN_COLUMNS, "fig-explain", where)]
    run_files = a.run if a.run is not None else sorted(glob.glob("notebooks-out/run-*.csv"))
    runtime_files = a.runtime if a.runtime is not None else sorted(glob.glob("notebooks-out/runtime-*.csv"))
    runs = [r for p in run_files if os.path.exists(p) for r in load(p, RUN_COLUMNS, "fig-memory-over-time", where)]
    runtimes = [r for p in runtime_files if os.path.exists(p) for r in load(p, RUNTIME_COLUMNS, "fig-runtime-ratios", where)]

    defaults = None if a.no_spacer_sim else strategy_defaults(a.spacer_sim)
    if defaults is None:
        print("note: no spacer-sim binary for parameter defaults (--spacer-sim PATH); a strategy whose variants "
              "differ is labelled with all its parameters", file=sys.stderr)
    labeller = Labeller(defaults)
    for r in (sweep or []) + (compare or []) + real + tsweep + explain:
        labeller.observe(r["strategy"], r["params"])
    for r in agree:
        labeller.observe(*split_given(r["strategy"]))
    lab = lambda r: labeller.label(r["strategy"], r["params"])  # noqa: E731
    lab_given = lambda r: labeller.label(*split_given(r["strategy"]))  # noqa: E731
    st = styles([lab(r) for r in (sweep or []) + (compare or []) + real + tsweep + explain] + [lab_given(r) for r in agree if num(r.get("predicted_frames")) is not None]
                + [r["strategy"] for r in runs])

    figs, refused = {}, []

    def attempt(fn, *args):
        try:
            f = fn(*args)
            figs[f.spacer_name] = f
        except Refused as e:
            print(f"figures.py: {e}", file=sys.stderr)
            refused.append(str(e))

    if sweep is not None:
        if sweep:
            for fn, nm in ((frames_vs_versions, "fig-frames-vs-versions"), (fragmentation_vs_frames, "fig-fragmentation-vs-frames"),
                           (sharing_per_version, "fig-sharing-per-version")):
                attempt(lambda *x, fn=fn, nm=nm: named(fn(*x), nm), sweep, a.out, lab, st)
        else:
            print(f"note: {a.sweep} has no rows (after --where); sweep figures skipped", file=sys.stderr)
    else:
        print(f"note: no {a.sweep}; run the sweep of README 'sweep' first; sweep figures skipped", file=sys.stderr)
    if compare:
        attempt(lambda *x: named(real_bars(*x), "fig-real-bars"), compare, a.out, lab, st)
    else:
        print(f"note: no {a.compare} (or no rows); run `spacer-sim compare` first; real-dataset bars skipped", file=sys.stderr)
    if real:
        attempt(lambda *x: named(tradeoff(*x), "fig-tradeoff"), real, tsweep, a.out, lab, st)
    else:
        print("note: no trade-off CSVs; run notebooks/tradeoff.sh; trade-off figure skipped", file=sys.stderr)
    if explain:
        attempt(lambda *x: named(explain_bars(*x), "fig-explain"), explain, a.out, lab, st)
    else:
        print("note: no explain CSVs; run notebooks/explain.sh; fig-explain skipped", file=sys.stderr)
    if agree:
        attempt(lambda *x: named(parity(*x), "fig-parity"), agree, a.out, lab_given, st)
    else:
        print("note: no agreement.csv (scripts/real-build.sh zlib --out DIR, then --agreement DIR/agreement.csv); "
              "parity plot skipped", file=sys.stderr)
    if runs:
        attempt(lambda *x: named(memory_over_time(*x), "fig-memory-over-time"), runs, a.out, st)
    else:
        print("note: no run CSVs (notebooks/real-run.sh); memory-over-time figure skipped", file=sys.stderr)
    if runtimes:
        attempt(lambda *x: named(runtime_ratios(*x), "fig-runtime-ratios"), runtimes, a.out, st)
    else:
        print("note: no runtime CSVs (notebooks/real-run.sh); runtime figure skipped", file=sys.stderr)
    if refused:
        return 2, figs
    return (0 if figs else 66), figs


def named(fig, nm):
    fig.spacer_name = nm
    return fig


def main():
    try:
        status, _ = run()
    except InputError as e:
        print(f"figures.py: {e}", file=sys.stderr)
        sys.exit(2)
    sys.exit(status)


if __name__ == "__main__":
    main()
