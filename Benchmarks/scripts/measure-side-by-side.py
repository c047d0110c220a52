#!/usr/bin/env python3
"""`spacer-sim measure` against scripts/reference/measure_pages.py, side by side in one run.

Runs every command once untimed (warm cache), then N rounds in which each command runs once,
interleaved, so that the machine's load falls on all of them alike. Prints the medians of wall
time, child CPU time (user + system, wait4) and peak resident set, and the Python reference's
median divided by each (wall and CPU). docs/benchmarks.md gives the figures.

  Benchmarks/scripts/measure-side-by-side.py --elfs DIR [--spacer-sim BIN] [--before BIN] [-n 9]

DIR: the --out folder of `scripts/real-build.sh sqlite` (its linked executables: ELF files with
e_type 2 or 3, found recursively, sorted). --before: another spacer-sim build to time beside it.
"""
import argparse, os, statistics, time

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ap = argparse.ArgumentParser()
ap.add_argument("--elfs", required=True)
ap.add_argument("--spacer-sim", default=os.path.join(root, ".build/release/spacer-sim"))
ap.add_argument("--before")
ap.add_argument("--python", default="python3")
ap.add_argument("-n", type=int, default=9)
a = ap.parse_args()

files = []
for d, _, names in os.walk(a.elfs):
    for n in names:
        p = os.path.join(d, n)
        if os.path.islink(p) or not os.path.isfile(p):
            continue
        with open(p, "rb") as f:
            h = f.read(18)
        if len(h) == 18 and h[:4] == b"\x7fELF" and h[16] in (2, 3) and h[17] == 0:
            files.append(os.path.relpath(p, a.elfs))
files.sort()
os.chdir(a.elfs)
ref = os.path.join(root, "scripts/reference/measure_pages.py")
cmds = {}
if a.before:
    cmds["before: measure"] = [a.before, "measure"] + files
for j in ("1", "2"):
    cmds[f"measure --jobs {j}"] = [a.spacer_sim, "measure", "--jobs", j] + files
cmds["measure --jobs 2 --format csv"] = [a.spacer_sim, "measure", "--jobs", "2", "--format", "csv"] + files
cmds["python3 measure_pages.py"] = [a.python, ref] + files
cmds["spacer-sim --version"] = [a.spacer_sim, "--version"]
cmds["python3 -c pass"] = [a.python, "-c", "pass"]

devnull = os.open(os.devnull, os.O_WRONLY)
res = {k: [] for k in cmds}
for r in range(a.n + 1):
    for k, c in cmds.items():
        t = time.perf_counter()
        pid = os.posix_spawnp(c[0], c, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
        _, status, ru = os.wait4(pid, 0)
        wall = time.perf_counter() - t
        if status != 0:
            raise SystemExit(f"{k}: exit status {status >> 8}")
        if r > 0:
            res[k].append((wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024))

print(f"{len(files)} executables, {sum(os.path.getsize(f) for f in files)} bytes; {a.n} rounds; load average {os.getloadavg()[0]:.1f}")
med = {k: [statistics.median(x[i] for x in v) for i in range(3)] for k, v in res.items()}
py = med["python3 measure_pages.py"]
print("| command | wall s | CPU s | peak MiB | Python wall / wall | Python CPU / CPU |")
print("|---|---|---|---|---|---|")
for k, (w, c, m) in med.items():
    print(f"| {k} | {w:.4f} | {c:.4f} | {m:.1f} | {py[0] / w:.1f} | {py[1] / c if c else 0:.1f} |")
