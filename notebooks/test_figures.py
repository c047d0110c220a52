#!/usr/bin/env python3
"""Tests of notebooks/figures.py on tiny synthetic CSVs.

    python3 -m pytest notebooks/test_figures.py      # or
    python3 notebooks/test_figures.py

Skipped, with the reason printed, when matplotlib is not installed.
"""
import csv
import io
import os
import subprocess
import sys
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
try:
    import matplotlib  # noqa: F401
    HAVE_MPL = True
except ImportError:
    HAVE_MPL = False
    print("test_figures.py: skipped: matplotlib is not installed (pip install matplotlib)", file=sys.stderr)

import figures  # noqa: E402  (imports without matplotlib too)

SPACER_DELTA = "slot-size=16;shared-tables=false;map-used-only={}"
# The sweep columns figures.py reads, with tool_commit / input_digest instead of git_commit.
HEADER = ["strategy", "params", "workload", "tables", "images", "instances", "page_size", "dedup", "max_page_sharing",
          "xrefs", "seed", "total_pages", "frames", "sharing_pct", "fragmentation_pct", "lower_bound_frames",
          "frames_per_bound", "pages_per_default", "solver_status", "tool_version", "tool_commit", "input_digest",
          "preset", "versions", "change_rate", "instances_per_image", "ideal_sharing_pct"]


def sweep_rows(page_sizes=(4096, 16384), dedups=("ksm",), seeds=(1, 2), rates=("0.2",)):
    rows = []
    variants = [("default", ""), ("spacer-delta", SPACER_DELTA.format("false")), ("spacer-delta", SPACER_DELTA.format("true"))]
    for ps in page_sizes:
        for dd in dedups:
            for rate in rates:
                for v in (2, 3, 4):
                    for seed in seeds:
                        for k, (s, p) in enumerate(variants):
                            frames = 10 * v + k + seed + ps // 4096
                            rows.append({"strategy": s, "params": p, "workload": "preset:small", "tables": "generated",
                                         "images": v, "instances": v, "page_size": ps, "dedup": dd, "max_page_sharing": 256,
                                         "xrefs": "resolve", "seed": seed, "total_pages": frames + 5, "frames": frames,
                                         "sharing_pct": 10 * k, "fragmentation_pct": 20 + k, "lower_bound_frames": 5 * v,
                                         "frames_per_bound": frames / (5 * v), "pages_per_default": 1 + k / 10,
                                         "solver_status": "ok", "tool_version": "0.1.0", "tool_commit": "abc",
                                         "input_digest": "d1", "preset": "small", "versions": v, "change_rate": rate,
                                         "instances_per_image": 1, "ideal_sharing_pct": 30 * k})
    return rows


def write(path, rows, header=HEADER):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def run(args):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status, figs = figures.run(args)
    return status, figs, out.getvalue(), err.getvalue()


def variant_styles(ax):
    """(colour, marker) of every labelled line of a panel."""
    from matplotlib.colors import to_hex
    return {ln.get_label(): (to_hex(ln.get_color()), ln.get_marker()) for ln in ax.get_lines()
            if not ln.get_label().startswith("_")}


class Labels(unittest.TestCase):
    """No matplotlib needed."""

    def test_cli_label_with_defaults(self):
        text = ("spacer-delta       Spacer-Δ: ...\n"
                "                   --param slot-size=<int>  (default 16)  bytes per slot\n"
                "                   --param map-used-only=<bool>  (default false)  map only used pages\n"
                "dce                default after removing\n"
                "                   --param roots=<string>  (default \"\")  comma-separated\n")
        d = figures.parse_strategies_verbose(text)
        self.assertEqual(d, {"spacer-delta": {"slot-size": "16", "map-used-only": "false"}, "dce": {"roots": ""}})
        lab = figures.Labeller(d)
        self.assertEqual(lab.label("spacer-delta", "slot-size=16;map-used-only=true"), "spacer-delta[map-used-only=true]")
        self.assertEqual(lab.label("spacer-delta", "slot-size=16;map-used-only=false"), "spacer-delta")
        self.assertEqual(lab.label("dce", "roots="), "dce")

    def test_label_without_defaults(self):
        lab = figures.Labeller(None)
        for p in ("a=1;b=2", "a=1;b=3"):
            lab.observe("s", p)
        lab.observe("t", "x=1")
        self.assertEqual(lab.label("s", "a=1;b=3"), "s[a=1;b=3]")
        self.assertEqual(lab.label("t", "x=1"), "t")

    def test_styles_distinct_and_stable(self):
        names = [f"v{i}" for i in range(30)]
        st = figures.styles(names)
        self.assertEqual(len(set(st.values())), 30)
        self.assertEqual(len({st[n][1] for n in sorted(names)[:13]}), 13)  # 13 markers, 16 colours
        self.assertEqual(figures.styles(list(reversed(names))), st)


@unittest.skipUnless(HAVE_MPL, "matplotlib is not installed (pip install matplotlib)")
class Figures(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.none = os.path.join(self.dir, "absent.csv")

    def tearDown(self):
        self.tmp.cleanup()

    def args(self, **kw):
        a = ["--out", self.dir, "--compare", self.none, "--tradeoff-real", "--agreement", "--explain", "--run", "--runtime", "--no-spacer-sim",
             "--formats", "png"]
        for k, v in kw.items():
            a += [f"--{k.replace('_', '-')}", v]
        return a

    def test_one_panel_per_page_size_and_distinct_variants(self):
        path = os.path.join(self.dir, "sweep.csv")
        write(path, sweep_rows(page_sizes=(4096, 16384)))
        status, figs, out, err = run(self.args(sweep=path))
        self.assertEqual(status, 0, err)
        fig = figs["fig-frames-vs-versions"]
        self.assertEqual(fig.spacer_facet_keys, ["page_size"])
        self.assertEqual([c["page_size"] for c in fig.spacer_panels], ["4096", "16384"])
        panels = [ax for ax in fig.axes if ax.get_visible()]
        self.assertEqual(len(panels), 2)
        self.assertEqual([ax.get_title() for ax in panels], ["page 4 KiB", "page 16 KiB"])
        self.assertIn("fig-frames-vs-versions: 2 panels, one per page_size", out)
        # Every variant in its own (colour, marker), the same in both panels and in the other figures.
        st = [variant_styles(ax) for ax in panels]
        self.assertEqual(len(st[0]), 3)
        self.assertEqual(len(set(st[0].values())), 3, st[0])
        self.assertEqual(len({c for c, _ in st[0].values()}), 3)
        self.assertEqual(len({m for _, m in st[0].values()}), 3)
        self.assertEqual(st[0], st[1])
        self.assertIn("default", st[0])  # default always drawn
        sharing = figs["fig-sharing-per-version"]
        self.assertEqual(len(sharing.spacer_panels), 2)
        self.assertEqual(variant_styles(sharing.axes[0]), st[0])
        # Averaged over the two seeds only, and said so.
        self.assertIn("mean of 2 seeds", panels[0].get_ylabel())
        line = [ln for ln in panels[0].get_lines() if ln.get_label() == "default"][0]
        self.assertEqual(list(line.get_ydata()), [10 * 2 + 1.5 + 1, 10 * 3 + 1.5 + 1, 10 * 4 + 1.5 + 1])
        self.assertTrue(os.path.exists(os.path.join(self.dir, "fig-frames-vs-versions.png")))

    def test_two_varying_keys_facet_as_a_grid(self):
        path = os.path.join(self.dir, "sweep.csv")
        write(path, sweep_rows(page_sizes=(4096, 16384), dedups=("ksm", "loader")))
        status, figs, out, err = run(self.args(sweep=path))
        self.assertEqual(status, 0, err)
        self.assertEqual(len(figs["fig-frames-vs-versions"].spacer_panels), 4)
        self.assertEqual(figs["fig-frames-vs-versions"].spacer_facet_keys, ["page_size", "dedup"])

    def test_too_many_panels_refused_naming_columns(self):
        path = os.path.join(self.dir, "sweep.csv")
        write(path, sweep_rows(page_sizes=(4096, 8192, 16384, 65536), dedups=("ksm", "loader"), seeds=(1,),
                               rates=("0.1", "0.2")))
        status, figs, out, err = run(self.args(sweep=path))
        self.assertEqual(status, 2)
        self.assertIn("refusing to draw 16 panels", err)
        for col in ("page_size", "dedup", "change_rate"):
            self.assertIn(col, err)
        status, figs, out, err = run(self.args(sweep=path) + ["--where", "dedup=ksm"])
        self.assertEqual(status, 0, err)
        self.assertEqual(len(figs["fig-frames-vs-versions"].spacer_panels), 8)

    def test_compare_with_empty_seed_and_without_git_commit(self):
        rows = [r for r in sweep_rows(page_sizes=(4096,), seeds=(1,)) if r["versions"] == 4]
        for r in rows:
            r["seed"] = ""
            r["workload"] = "datasets/real/zlib-workload.csv"
        header = [h for h in HEADER if h not in ("preset", "versions", "change_rate", "instances_per_image", "ideal_sharing_pct")]
        path = os.path.join(self.dir, "compare.csv")
        write(path, rows, header)
        status, figs, out, err = run(self.args(compare=path, sweep=self.none, tradeoff_sweep=self.none)
                                     + ["--tradeoff-real", path])
        self.assertEqual(status, 0, err)
        self.assertIn("fig-real-bars", figs)
        self.assertIn("fig-tradeoff", figs)

    def test_parity(self):
        path = os.path.join(self.dir, "agreement.csv")
        rows = [
            "library,strategy,zone,predicted_total_pages,measured_total_pages,predicted_frames,measured_frames,"
            "predicted_pages_sharing,measured_pages_sharing",
            "zlib,default,code,55,55,55,55,0,0",
            "zlib,spacer-delta[map-used-only=true],code,125,126,43,44,115,115",
            "zlib,default,whole image,,1575,,252,,1497",
        ]
        with open(path, "w") as f:
            f.write("\n".join(rows) + "\n")
        status, figs, out, err = run(self.args(sweep=self.none) + ["--agreement", path])
        self.assertEqual(status, 0, err)
        fig = figs["fig-parity"]
        self.assertEqual(len(fig.spacer_panels), 3)
        ax = fig.axes[1]
        self.assertIn("frames", ax.get_xlabel())
        self.assertIn("largest |measured − predicted| 1", ax.get_title())
        self.assertTrue(os.path.exists(os.path.join(self.dir, "fig-parity.png")))

    def explain_csv(self, name, rows):
        path = os.path.join(self.dir, name)
        header = ["strategy", "params", "workload", "tables", "images", "instances", "page_size", "dedup", "max_page_sharing", "xrefs",
                  "seed", "cause", "frames", "pages", "strategy_frames", "lower_bound_frames", "total_pages", "tool_version",
                  "tool_commit", "input_digest"]
        out = []
        for wl, strategy, params, frames, bound, parts in rows:
            for cause, _ in figures.EXPLAIN_CAUSES:
                out.append({"strategy": strategy, "params": params, "workload": wl, "tables": "datasets/real", "images": 8,
                            "instances": 8, "page_size": 4096, "dedup": "ksm", "max_page_sharing": 256, "xrefs": "resolve",
                            "seed": "", "cause": cause, "frames": parts.get(cause, 0), "pages": "", "strategy_frames": frames,
                            "lower_bound_frames": bound, "total_pages": 100, "tool_version": "0.2.0", "tool_commit": "abc",
                            "input_digest": "d1"})
        write(path, out, header)
        return path

    def test_explain_stacked_bars_per_workload(self):
        a = self.explain_csv("explain-a.csv", [
            ("datasets/real/default-workload.csv", "default", "", 30, 10, {"image-set-boundary": 15, "padding": 5}),
            ("datasets/real/default-workload.csv", "spacer-delta", "", 14, 10, {"trampoline-tables": 3, "padding": 1})])
        b = self.explain_csv("explain-b.csv", [("datasets/real/zlib-workload.csv", "default", "", 7, 5, {"call-divergence": 2})])
        status, figs, out, err = run(self.args(sweep=self.none) + ["--explain", a, b])
        self.assertEqual(status, 0, err)
        fig = figs["fig-explain"]
        self.assertEqual(fig.spacer_facet_keys, ["workload"])
        self.assertEqual(len(fig.spacer_panels), 2)
        ax = fig.axes[0]
        # Bars sorted by frames: spacer-delta (14) first; its bound segment 10, then 3 trampoline frames from 10.
        self.assertEqual([t.get_text() for t in ax.get_yticklabels()], ["spacer-delta", "default"])
        widths = [(round(p.get_x()), round(p.get_width())) for p in ax.patches if p.get_width() > 0 and abs(p.get_y() + p.get_height() / 2) < 0.01]
        self.assertEqual(widths, [(0, 10), (10, 3), (13, 1)])
        self.assertTrue(os.path.exists(os.path.join(self.dir, "fig-explain.png")))

    def test_explain_outlier_bar_is_cut(self):
        a = self.explain_csv("explain-o.csv", [
            ("w.csv", "default", "", 12, 10, {"padding": 2}),
            ("w.csv", "spacer-delta", "", 14, 10, {"padding": 4}),
            ("w.csv", "function-per-page", "", 100, 10, {"padding": 90})])
        status, figs, out, err = run(self.args(sweep=self.none) + ["--explain", a])
        self.assertEqual(status, 0, err)
        ax = figs["fig-explain"].axes[0]
        # 100 > 3 × 14: the axis stops at 1.3 × 14 and the cut bar says so.
        self.assertAlmostEqual(ax.get_xlim()[1], 1.3 * 14)
        self.assertTrue(any("(bar cut)" in t.get_text() and "100" in t.get_text() for t in ax.texts))

    def test_explain_sum_mismatch_exits_2(self):
        a = self.explain_csv("explain-bad.csv", [("w.csv", "default", "", 30, 10, {"padding": 5})])
        p = subprocess.run([sys.executable, os.path.join(HERE, "figures.py")] + self.args(sweep=self.none) + ["--explain", a],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("causes sum to 5", p.stderr)
        self.assertNotIn("Traceback", p.stderr)

    def test_memory_over_time(self):
        path = os.path.join(self.dir, "run.csv")
        head = "kind,strategy,dedup,time_s,instances_running,pss_kib,predicted_frames,measured_frames"
        rows = [head] + [f"sample,{s},{d},{t},{t + 1},{(t + 1) * k * 1024},," for d in ("ksm", "loader")
                         for s, k in (("default", 3), ("spacer-delta", 1)) for t in range(3)]
        rows += ["final,default,ksm,2,3,9216,255,486", "final,spacer-delta,ksm,2,3,3072,235,466"]
        with open(path, "w") as f:
            f.write("\n".join(rows) + "\n")
        status, figs, out, err = run(self.args(sweep=self.none) + ["--run", path])
        self.assertEqual(status, 0, err)
        fig = figs["fig-memory-over-time"]
        self.assertEqual(fig.spacer_panels, [{"dedup": "ksm"}, {"dedup": "loader"}])
        lines = {ln.get_label(): ln for ln in fig.axes[0].get_lines()}
        self.assertIn("default (final 9.0 MiB; frames 486 measured / 255 predicted)", lines)
        self.assertEqual(list(lines["default (final 9.0 MiB; frames 486 measured / 255 predicted)"].get_ydata()), [3.0, 6.0, 9.0])

    def test_runtime_ratios_against_default_run_directly(self):
        path = os.path.join(self.dir, "runtime.csv")
        head = "kind,strategy,mode,image,lifetime,median_ms,p25_ms,p75_ms,ratio_to_default"
        rows = [head]
        for s, f in (("default", 1.0), ("spacer-delta", 1.1)):
            for mode, g in (("direct", 1.0), ("ksm", 1.2)):
                for img in ("a", "b"):
                    rows.append(f"series,{s},{mode},{img},short,{100 * f * g},0,0,")
        with open(path, "w") as f:
            f.write("\n".join(rows) + "\n")
        status, figs, out, err = run(self.args(sweep=self.none) + ["--runtime", path])
        self.assertEqual(status, 0, err)
        fig = figs["fig-runtime-ratios"]
        self.assertEqual(fig.spacer_panels, [{"lifetime": "short"}])
        heights = sorted(round(b.get_height(), 3) for b in fig.axes[0].patches)
        self.assertEqual(heights, [1.0, 1.1, 1.2, 1.32])

    def test_missing_column_exits_2_naming_file_and_column(self):
        path = os.path.join(self.dir, "sweep.csv")
        header = [h for h in HEADER if h != "lower_bound_frames"]
        write(path, sweep_rows(), header)
        p = subprocess.run([sys.executable, os.path.join(HERE, "figures.py")] + self.args(sweep=path),
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(path, p.stderr)
        self.assertIn("'lower_bound_frames'", p.stderr)
        self.assertNotIn("Traceback", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
