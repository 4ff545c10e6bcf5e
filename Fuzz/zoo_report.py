#!/usr/bin/env python3
"""Summarises Fuzz/zoo.sh runs: table on stdout, summary.csv and zoo.png (bar chart per scenario).

usage: zoo_report.py zoo.csv CAP OUTDIR

A miss counts as CAP seconds (censored), so a median that is a miss prints as ">CAP".
The ratio is unguided median / guided median ("≥" when the unguided median is censored).
Uses matplotlib when it is importable, else writes the PNG itself (zlib + struct, bars only).
"""
import csv
import statistics
import struct
import sys
import zlib
from collections import OrderedDict


def summarise(rows, cap):
    out = OrderedDict()
    for r in rows:
        s = out.setdefault(r["scenario"], {"target": r["target"], "expected": r["expected"],
                                            "seeds": f'{r["seeds"]} ({r["direct_seeds"]})',
                                            "guided": [], "unguided": [], "other": set()})
        secs = float(r["seconds"]) if r["found"] == "1" else cap
        s[r["mode"]].append((r["found"] == "1", secs))
        if r["found"] != "1" and r["signature"]:
            s["other"].add(f'{r["mode"]}:{r["signature"]}')
    return out


def stats(runs, cap):
    if not runs:
        return None
    times = [t for _, t in runs]
    med = statistics.median(times)
    k = sum(1 for f, _ in runs if f)
    return {"median": med, "max": max(times), "k": k, "n": len(runs),
            # the upper middle run is a miss: the median is only a lower bound
            "censored": 2 * (len(runs) - k) >= len(runs)}


def fmt(st, cap):
    if st is None:
        return "-", "-", "-"
    if not st["censored"]:
        med = f"{st['median']:.2f}"
    else:  # a lower bound: at least half the runs missed
        med = f">{cap:g}" if st["median"] >= cap else f"≥{st['median']:.2f}"
    mx = f">{cap:g}" if st["k"] < st["n"] else f"{st['max']:.2f}"
    return med, mx, f"{st['k']}/{st['n']}"


def ratio(g, u, cap):
    if g is None or u is None or g["censored"]:
        return "-"
    r = u["median"] / max(g["median"], 1e-3)
    return ("≥" if u["censored"] else "") + f"{r:.1f}x"


def png_fallback(path, labels, guided, unguided, cap):
    """Horizontal bars: one row per scenario (table order), guided blue over unguided orange."""
    bar, gap, width, left = 10, 8, 640, 10
    height = len(labels) * (2 * bar + gap) + gap
    img = [[(255, 255, 255)] * width for _ in range(height)]
    scale = (width - left - 10) / cap
    for i in range(len(labels)):
        y0 = gap + i * (2 * bar + gap)
        for j, (val, col) in enumerate(((guided[i], (31, 119, 180)), (unguided[i], (255, 127, 14)))):
            w = max(1, int(val * scale))
            for y in range(y0 + j * bar, y0 + (j + 1) * bar - 1):
                for x in range(left, left + w):
                    img[y][x] = col
    for y in range(height):  # the cap line
        img[y][left + int(cap * scale) - 1] = (0, 0, 0)
    raw = b"".join(b"\x00" + bytes(c for px in row for c in px) for row in img)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    csv_path, cap, outdir = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    summary = summarise(rows, cap)
    header = ["scenario", "target", "seeds (direct)", "guided median s", "guided max s", "guided found",
              "unguided median s", "unguided max s", "unguided found", "ratio"]
    table = []
    for name, s in summary.items():
        g, u = stats(s["guided"], cap), stats(s["unguided"], cap)
        table.append([name, s["target"], s["seeds"], *fmt(g, cap), *fmt(u, cap), ratio(g, u, cap)])
    widths = [max(len(str(r[i])) for r in table + [header]) for i in range(len(header))]
    print(f"\nzoo benchmark: cap {cap:g} s, misses count as the cap")
    for r in [header, ["-" * w for w in widths]] + table:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
    for name, s in summary.items():
        if s["other"]:
            print(f"  {name}: misses that stopped on another finding: {', '.join(sorted(s['other']))}")
    with open(f"{outdir}/summary.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([h.replace(" ", "_") for h in header])
        w.writerows(table)

    labels = list(summary)
    gmed = [statistics.median([t for _, t in summary[n]["guided"]]) if summary[n]["guided"] else 0 for n in labels]
    umed = [statistics.median([t for _, t in summary[n]["unguided"]]) if summary[n]["unguided"] else 0 for n in labels]
    png = f"{outdir}/zoo.png"
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(10, 0.55 * len(labels) + 1.8))
        ys = range(len(labels))
        ax.barh([y - 0.2 for y in ys], gmed, height=0.4, label="libFuzzer (guided)", color="#1f77b4")
        ax.barh([y + 0.2 for y in ys], umed, height=0.4, label="gmemfuzz fuzz --unguided", color="#ff7f0e")
        for y, n in enumerate(labels):
            g, u = stats(summary[n]["guided"], cap), stats(summary[n]["unguided"], cap)
            if g:
                ax.text(gmed[y], y - 0.2, f" {g['k']}/{g['n']}", va="center", fontsize=7)
            if u:
                ax.text(umed[y], y + 0.2, f" {u['k']}/{u['n']}", va="center", fontsize=7)
        ax.set_yticks(list(ys))
        ax.set_yticklabels(labels, fontsize=8)
        ax.invert_yaxis()
        ax.axvline(cap, color="black", linewidth=0.8, linestyle="--")
        ax.set_xlabel(f"median seconds to first expected finding (cap {cap:g} s = miss)")
        ax.set_title("GmemFuzz zoo: time to find, guided vs unguided", pad=20)
        ax.set_xlim(0, cap * 1.12)
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=8, frameon=False)
        fig.tight_layout()
        fig.savefig(png, dpi=110)
        how = "matplotlib"
    except ImportError:
        png_fallback(png, labels, gmed, umed, cap)
        how = "built-in PNG writer (no matplotlib: bars only, rows in table order, blue guided, orange unguided)"
    print(f"\nwrote {csv_path}, {outdir}/summary.csv, {png} ({how})")


if __name__ == "__main__":
    main()
