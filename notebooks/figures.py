#!/usr/bin/env python3
"""Every figure of spacer-sim's sweep and compare CSVs, as SVG and PNG.

    pip install matplotlib                      # once
    python3 notebooks/figures.py                # reads notebooks-out/, writes notebooks-out/fig-*.svg|png

Inputs (each figure is skipped, with a note, when its CSV is missing):
  --sweep    a `spacer-sim sweep` CSV of a preset   (default notebooks-out/sweep-paper.csv)
  --compare  a `spacer-sim compare` CSV              (default notebooks-out/compare-default-workload.csv)

Figures:
  fig-frames-vs-versions      frames against the number of versions, one line per strategy (mean over
                              seeds, band = min..max), one panel per change rate
  fig-fragmentation-vs-frames the trade-off: internal fragmentation against frames / lower bound, every run
  fig-sharing-per-version     page sharing (sharing_pct) and the share of the ideal (ideal_sharing_pct)
                              against the number of versions, one panel per change rate
  fig-real-bars               compare on real tables: frames, sharing and fragmentation per strategy
  fig-tradeoff                issue 7's trade-off: frames / lower bound against mapped pages / default's,
                              every strategy, on the real workloads (--tradeoff-real, compare CSVs) and on
                              synthetic histories of 2..32 versions (--tradeoff-sweep); the shaded box is
                              the target (≤ 1.05 × bound, ≤ 1.10 × default's pages).
                              Regenerate CSVs and figure: notebooks/tradeoff.sh

Columns are read by name (README, "Result CSV"), never by position.
"""
import argparse
import csv
import os
import statistics
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import ticker  # noqa: E402

plt.rcParams.update({
    "font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 9,
    "axes.grid": True, "grid.alpha": 0.3, "svg.fonttype": "none",
    "svg.hashsalt": "spacer-sim", "path.simplify": False,
})
MARKERS = "osD^vP*X<>"


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def labels(rows):
    """A label per row: the strategy, plus the parameters that differ between its variants."""
    by = defaultdict(set)
    for r in rows:
        by[r["strategy"]].add(r["params"])
    out = {}
    for s, variants in by.items():
        parsed = {p: dict(kv.split("=", 1) for kv in p.split(";") if "=" in kv) for p in variants}
        keys = sorted({k for d in parsed.values() for k in d if len({e.get(k) for e in parsed.values()}) > 1})
        for p, d in parsed.items():
            out[(s, p)] = s if not keys else s + " [" + ",".join(f"{k}={d.get(k, '')}" for k in keys) + "]"
    return [out[(r["strategy"], r["params"])] for r in rows]


def style(names):
    """A fixed colour, marker and line style per series name, in a stable order; a strategy's
    second and later variants are dashed, so that variants drawn on top of each other stay visible."""
    cmap = plt.get_cmap("tab10")
    seen = defaultdict(int)
    out = {}
    for i, n in enumerate(sorted(names)):
        base = n.split(" [")[0]
        out[n] = (cmap(i % 10), MARKERS[i % len(MARKERS)], "-" if seen[base] == 0 else (0, (4, 2)))
        seen[base] += 1
    return out


def save(fig, out, name):
    for ext in ("svg", "png"):
        path = os.path.join(out, f"{name}.{ext}")
        fig.savefig(path, dpi=150, bbox_inches="tight", metadata={"Date": None} if ext == "svg" else None)
        print("wrote", path)
    plt.close(fig)


def page_unit(rows):
    sizes = sorted({int(r["page_size"]) for r in rows})
    return ", ".join(f"{s // 1024} KiB" for s in sizes)


def by_rate(rows):
    rates = sorted({r["change_rate"] for r in rows}, key=float)
    return rates, {rate: [r for r in rows if r["change_rate"] == rate] for rate in rates}


def series(rows, names, y):
    """name -> sorted [(versions, mean, min, max)] over seeds."""
    acc = defaultdict(lambda: defaultdict(list))
    for r, n in zip(rows, names):
        acc[n][int(r["versions"])].append(float(r[y]))
    return {n: [(v, statistics.fmean(xs), min(xs), max(xs)) for v, xs in sorted(d.items())] for n, d in acc.items()}


def describe(rows):
    preset = sorted({r["preset"] for r in rows})
    seeds = sorted({int(r["seed"]) for r in rows})
    return f"preset {', '.join(preset)}; {len(seeds)} seed{'s' if len(seeds) > 1 else ''} per point; page {page_unit(rows)}"


def frames_vs_versions(rows, out):
    names = labels(rows)
    st = style(set(names))
    rates, groups = by_rate(rows)
    fig, axes = plt.subplots(1, len(rates), figsize=(4.2 * len(rates), 3.8), sharey=True, squeeze=False)
    for ax, rate in zip(axes[0], rates):
        g = groups[rate]
        for n, pts in sorted(series(g, labels(g), "frames").items()):
            c, m, ls = st[n]
            v = [p[0] for p in pts]
            ax.plot(v, [p[1] for p in pts], marker=m, ms=4, color=c, ls=ls, label=n)
            ax.fill_between(v, [p[2] for p in pts], [p[3] for p in pts], color=c, alpha=0.15, lw=0)
        lb = series(g, ["lower bound"] * len(g), "lower_bound_frames")["lower bound"]
        ax.plot([p[0] for p in lb], [p[1] for p in lb], color="black", ls="--", lw=1, label="lower bound")
        ax.set_title(f"change rate {rate}")
        ax.set_xlabel("versions (one image each)")
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1, 2, 5)))
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda y, _: f"{y:,.0f}"))
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
    axes[0][0].set_ylabel(f"frames (physical pages of {page_unit(rows)}, log scale)")
    axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False)
    fig.suptitle(f"Frames as versions accumulate ({describe(rows)})", y=1.02)
    save(fig, out, "fig-frames-vs-versions")


def fragmentation_vs_frames(rows, out):
    names = labels(rows)
    st = style(set(names))
    rates = sorted({r["change_rate"] for r in rows}, key=float)
    rmark = {rate: MARKERS[i] for i, rate in enumerate(rates)}
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    for n in sorted(set(names)):
        for rate in rates:
            pts = [r for r, m in zip(rows, names) if m == n and r["change_rate"] == rate]
            ax.scatter([int(r["frames"]) / max(int(r["lower_bound_frames"]), 1) for r in pts],
                       [float(r["fragmentation_pct"]) for r in pts],
                       s=14, color=st[n][0], marker=rmark[rate], alpha=0.6, lw=0)
    ax.set_xscale("log")
    ticks = [1, 1.5, 2, 3, 5, 10, 20, 50]
    hi = max(int(r["frames"]) / max(int(r["lower_bound_frames"]), 1) for r in rows)
    ax.set_xticks([t for t in ticks if t <= hi * 1.2], [f"{t:g}" for t in ticks if t <= hi * 1.2])
    ax.minorticks_off()
    ax.set_xlabel("frames / lower bound (1 = every distinct byte stored once; log scale)")
    ax.set_ylabel("internal fragmentation (% of mapped bytes)")
    ax.set_title(f"Fragmentation against frames, every run ({describe(rows)})")
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], ls="", marker="o", color=st[n][0], label=n) for n in sorted(set(names))]
    handles += [Line2D([], [], ls="", marker=rmark[r], color="gray", label=f"change rate {r}") for r in rates]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False)
    save(fig, out, "fig-fragmentation-vs-frames")


def sharing_per_version(rows, out):
    names = labels(rows)
    st = style(set(names))
    rates, groups = by_rate(rows)
    fig, axes = plt.subplots(2, len(rates), figsize=(4.2 * len(rates), 6.6), sharex=True, sharey="row", squeeze=False)
    for j, rate in enumerate(rates):
        g = groups[rate]
        for i, (col, what) in enumerate([("sharing_pct", "pages shared\n(% of mapped pages)"),
                                         ("ideal_sharing_pct", "ideal sharing achieved\n(% of shareable bytes)")]):
            ax = axes[i][j]
            for n, pts in sorted(series(g, labels(g), col).items()):
                c, m, ls = st[n]
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=m, ms=4, color=c, ls=ls, label=n)
            ax.set_ylim(-3, 103)
            if j == 0:
                ax.set_ylabel(what)
            if i == 0:
                ax.set_title(f"change rate {rate}")
            else:
                ax.set_xlabel("versions (one image each)")
    axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False)
    fig.suptitle(f"Sharing as versions accumulate ({describe(rows)})", y=0.99)
    fig.tight_layout()
    save(fig, out, "fig-sharing-per-version")


def real_bars(rows, out, source):
    names = labels(rows)
    order = sorted(range(len(rows)), key=lambda i: int(rows[i]["frames"]))
    fig, axes = plt.subplots(1, 3, figsize=(12.5, 3.9))
    cols = [("frames", f"frames (physical pages of {page_unit(rows)})"), ("sharing_pct", "pages shared (% of mapped pages)"),
            ("fragmentation_pct", "internal fragmentation (% of mapped bytes)")]
    for ax, (col, label) in zip(axes, cols):
        vals = [float(rows[i][col]) for i in order]
        y = range(len(order))
        ax.barh(y, vals, color="#4c72b0")
        ax.set_yticks(list(y), [names[i] for i in order])
        ax.invert_yaxis()
        ax.set_xlabel(label)
        for k, v in zip(y, vals):
            ax.text(v, k, f" {v:,.0f}" if col == "frames" else f" {v:.1f}", va="center", fontsize=8)
        ax.margins(x=0.22)
        if col == "frames":
            lb = int(rows[0]["lower_bound_frames"])
            ax.axvline(lb, color="black", ls="--", lw=1)
            ax.text(lb, len(order) - 0.6, f" lower bound {lb:,}", fontsize=8, ha="left", va="top",
                    bbox=dict(fc="white", ec="none", pad=1))
    for ax in axes[1:]:
        ax.set_yticklabels([])
    r0 = rows[0]
    wl = os.path.basename(r0["workload"])
    fig.suptitle(f"Real tables: {wl}, {r0['images']} images, {r0['instances']} instances, page {int(r0['page_size']) // 1024} KiB, "
                 f"dedup {r0['dedup']}, xrefs {r0['xrefs']}", y=1.02)
    save(fig, out, "fig-real-bars")


def tradeoff(real, sweep_rows, out):
    fig, axes = plt.subplots(1, 2, figsize=(14, 6.6))
    panels = [(axes[0], "real tables (compare)"), (axes[1], "synthetic histories, 2..32 versions (sweep)")]
    for ax, title in panels:
        ax.add_patch(plt.Rectangle((0.9, 0.98), 0.2, 0.07, color="#55a868", alpha=0.18, lw=0))
        ax.text(0.905, 1.0, "target", fontsize=8, color="#2d6b3c")
        ax.set_xscale("log"); ax.set_yscale("log")
        ax.set_xlabel("mapped pages / default's mapped pages (image size)")
        ax.set_ylabel("frames / lower_bound_frames (memory)")
        ax.set_title(title)
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(ticker.FormatStrFormatter("%.2g"))
            axis.set_minor_formatter(ticker.FormatStrFormatter("%.2g"))
    # Real: one marker per strategy variant, one colour per workload.
    all_names = set()
    for path, rows in real:
        all_names.update(labels(rows))
    st = style(all_names)
    wl_colours = plt.get_cmap("Dark2")
    for w, (path, rows) in enumerate(real):
        wl = os.path.basename(rows[0]["workload"]).replace("-workload.csv", "")
        for r, n in zip(rows, labels(rows)):
            x, y = float(r["pages_per_default"]), float(r["frames_per_bound"])
            axes[0].scatter(x, y, marker=st[n][1], color=wl_colours(w), s=42, edgecolor="black", linewidth=0.4,
                            label=n if w == 0 else None)
        axes[0].scatter([], [], color=wl_colours(w), label=f"workload: {wl}", marker="s")
    axes[0].legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, frameon=False)
    # Synthetic: one line per strategy variant through its versions.
    if sweep_rows:
        names = labels(sweep_rows)
        st2 = style(set(names))
        pts = defaultdict(list)
        for r, n in zip(sweep_rows, names):
            pts[n].append((int(r["versions"]), float(r["pages_per_default"]), float(r["frames_per_bound"])))
        for n, p in sorted(pts.items()):
            p.sort()
            c, m, ls = st2[n]
            axes[1].plot([q[1] for q in p], [q[2] for q in p], marker=m, color=c, ls=ls, lw=1.2, ms=4, label=n)
            axes[1].annotate(f"{p[-1][0]}v", (p[-1][1], p[-1][2]), fontsize=6.5, xytext=(3, -8), textcoords="offset points", color=c)
        axes[1].legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, frameon=False)
        r0 = sweep_rows[0]
        axes[1].set_title(f"synthetic preset {r0['preset']}, change rate {r0['change_rate']}, versions "
                          f"{min(int(r['versions']) for r in sweep_rows)}..{max(int(r['versions']) for r in sweep_rows)}")
    fig.suptitle(f"Memory against image size: every strategy (page {page_unit(real[0][1]) if real else ''}, dedup ksm)", y=1.0)
    fig.tight_layout()
    save(fig, out, "fig-tradeoff")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sweep", default="notebooks-out/sweep-paper.csv")
    ap.add_argument("--compare", default="notebooks-out/compare-default-workload.csv")
    ap.add_argument("--out", default="notebooks-out")
    ap.add_argument("--tradeoff-real", nargs="*", default=[f"notebooks-out/tradeoff-{w}.csv" for w in ("default", "lua", "zlib")])
    ap.add_argument("--tradeoff-sweep", default="notebooks-out/sweep-tradeoff.csv")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    made = 0
    if os.path.exists(a.sweep):
        rows = [r for r in read(a.sweep) if r["preset"]]
        if rows:
            frames_vs_versions(rows, a.out)
            fragmentation_vs_frames(rows, a.out)
            sharing_per_version(rows, a.out)
            made += 3
        else:
            print(f"note: {a.sweep} has no preset rows; sweep figures skipped", file=sys.stderr)
    else:
        print(f"note: no {a.sweep}; run the sweep of README 'sweep' first; sweep figures skipped", file=sys.stderr)
    if os.path.exists(a.compare):
        real_bars(read(a.compare), a.out, a.compare)
        made += 1
    else:
        print(f"note: no {a.compare}; run `spacer-sim compare` first; real-dataset bars skipped", file=sys.stderr)
    real = [(p, read(p)) for p in a.tradeoff_real if os.path.exists(p)]
    if real:
        sweep_rows = [r for r in read(a.tradeoff_sweep) if r.get("preset")] if os.path.exists(a.tradeoff_sweep) else []
        tradeoff(real, sweep_rows, a.out)
        made += 1
    else:
        print("note: no trade-off CSVs; run notebooks/tradeoff.sh; trade-off figure skipped", file=sys.stderr)
    if made == 0:
        sys.exit(66)


if __name__ == "__main__":
    main()
