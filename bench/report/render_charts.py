"""Renders tether's benchmark charts from a results JSON (bench/run_bench.ts writes it).

    python render_charts.py results.json OUT_DIR

Prints the path of each PNG written. Agg backend: no display needed.
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ORDER = ["tether-sqlite", "tether-pg", "graphile-worker", "pg-boss", "bullmq", "baseline", "floor"]
COLORS = {
    "tether-sqlite": "#1b6ac9",
    "tether-pg": "#23a9c8",
    "graphile-worker": "#d9822b",
    "pg-boss": "#8e5bb5",
    "bullmq": "#c23b3b",
    "baseline": "#7a7a7a",
    "floor": "#3a3a3a",
}


def ordered(items, key="subject"):
    return sorted(items, key=lambda r: ORDER.index(r[key]) if r[key] in ORDER else 99)


def label_of(results, subject):
    for section in ("dispatch", "throughput", "idleCost"):
        for r in results[section]:
            if r["subject"] == subject:
                return r["label"]
    return subject


def save(fig, out_dir, name):
    path = os.path.join(out_dir, name)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    print(path)


def measured(rows):
    """Runs that got samples: a run whose consumers received nothing has no distribution."""
    return [r for r in rows if r["latency"]["n"] > 0]


def latency_cdf(results, out_dir):
    rates = sorted({r["rate"] for r in results["dispatch"]})
    fig, axes = plt.subplots(1, len(rates), figsize=(4.6 * len(rates), 4.2), sharey=True, squeeze=False)
    for ax, rate in zip(axes[0], rates):
        for r in ordered(measured([r for r in results["dispatch"] if r["rate"] == rate])):
            qs = [p[0] for p in r["curve"]]
            ms = [max(p[1], 0.01) for p in r["curve"]]
            style = "-" if r["valid"] else ":"
            name = r["label"] + ("" if r["valid"] else " (INVALID)")
            ax.plot(ms, qs, style, color=COLORS.get(r["subject"]), label=name, linewidth=1.8)
        ax.set_xscale("log")
        ax.set_title(f"{rate} jobs/s offered")
        ax.set_xlabel("dispatch latency, ms (log)")
        ax.grid(True, which="both", alpha=0.3)
        ax.axhline(0.99, color="#999", linewidth=0.8, linestyle="--")
    axes[0][0].set_ylabel("fraction of jobs dispatched within")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, bbox_to_anchor=(0.5, -0.12), frameon=False)
    fig.suptitle(f"Dispatch latency distribution ({results['dispatch'][0]['pollers']} idle consumers; dashed line: p99)")
    save(fig, out_dir, "dispatch_latency_cdf.png")


def latency_vs_load(results, out_dir):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, key, title in ((axes[0], "p50", "median"), (axes[1], "p99", "99th percentile")):
        for subject in ORDER:
            rows = sorted(measured([r for r in results["dispatch"] if r["subject"] == subject]), key=lambda r: r["rate"])
            if not rows:
                continue
            xs = [r["rate"] for r in rows]
            ys = [max(r["latency"][key], 0.01) for r in rows]
            ax.plot(xs, ys, "o-", color=COLORS.get(subject), label=label_of(results, subject))
            for r in rows:
                if not r["valid"]:
                    ax.plot([r["rate"]], [max(r["latency"][key], 0.01)], "x", color="black", markersize=10)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{title} dispatch latency")
        ax.set_xlabel("offered jobs/s (log)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("ms (log)")
    axes[1].legend(fontsize=8, loc="upper left")
    fig.suptitle("Dispatch latency against offered load (x: run INVALID, achieved rate short of offered)")
    save(fig, out_dir, "dispatch_latency_vs_load.png")


def throughput_vs_offered(results, out_dir):
    fig, ax = plt.subplots(figsize=(6.5, 5))
    top = 1
    for subject in ORDER:
        rows = sorted(measured([r for r in results["dispatch"] if r["subject"] == subject]), key=lambda r: r["rate"])
        if not rows:
            continue
        ax.plot([r["rate"] for r in rows], [r["consumedRate"] for r in rows], "o-", color=COLORS.get(subject),
                label=label_of(results, subject))
        top = max(top, max(r["rate"] for r in rows))
    for r in results["throughput"]:
        if r["mode"] == "one per poll":
            ax.axhline(r["jobsPerSecond"], color=COLORS.get(r["subject"]), linewidth=0.8, linestyle=":")
    ax.plot([1, top], [1, top], color="#bbb", linewidth=1, label="achieved = offered")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("offered jobs/s (log)")
    ax.set_ylabel("jobs/s dispatched to consumers (log)")
    ax.set_title("Throughput against offered load\n(dotted: burn-down capacity, one job per poll)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    save(fig, out_dir, "throughput_vs_offered.png")


def burn_down(results, out_dir):
    rows = results["throughput"]
    if not rows:
        return
    subjects = [s for s in ORDER if any(r["subject"] == s for r in rows)]
    modes = ["one per poll", "batched"]
    fig, ax = plt.subplots(figsize=(8, 0.6 + 0.7 * len(subjects)))
    height = 0.38
    for i, mode in enumerate(modes):
        ys, xs = [], []
        for k, s in enumerate(subjects):
            match = [r for r in rows if r["subject"] == s and r["mode"] == mode]
            if match:
                ys.append(k + (i - 0.5) * height)
                xs.append(match[0]["jobsPerSecond"])
        notes = []
        for s in subjects:
            match = [r for r in rows if r["subject"] == s and r["mode"] == mode]
            if match:
                notes.append(" (capped)" if match[0]["why"] else "")
        bars = ax.barh(ys, xs, height=height, label=mode, color=["#4c78a8", "#f58518"][i])
        for bar, x, note in zip(bars, xs, notes):
            ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {x:,.0f}{note}", va="center", fontsize=8)
    ax.set_yticks(range(len(subjects)))
    ax.set_yticklabels([label_of(results, s) for s in subjects])
    ax.invert_yaxis()
    ax.set_xlabel("jobs/s, create already done; fetch (+ accept) + finish")
    jobs = max(r["jobs"] for r in rows)
    ax.set_title(f"Burning down up to {jobs:,} pre-created jobs, {rows[0]['consumers']} consumers\n"
                 "(capped: stopped at the time cap, rated on the jobs finished by then)")
    ax.legend(loc="lower right")
    ax.grid(True, axis="x", alpha=0.3)
    save(fig, out_dir, "burn_down_throughput.png")


def idle_cost(results, out_dir):
    rows = ordered(results["idleCost"])
    if not rows:
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.8 + 0.55 * len(rows)), sharey=True)
    names = [r["label"] for r in rows]
    q = [max(r["queriesPerSecond"], 0.1) for r in rows]
    axes[0].barh(names, q, color=[COLORS.get(r["subject"]) for r in rows])
    axes[0].set_xlabel("statements (Redis: commands) per second")
    for y, (v, r) in enumerate(zip(q, rows)):
        axes[0].text(v, y, f" {r['queriesPerSecond']:.1f}", va="center", fontsize=8)
    cpu = [r["serverCpuPercent"] + r["clientCpuPercent"] for r in rows]
    axes[1].barh(names, [r["serverCpuPercent"] for r in rows], color="#4c78a8", label="server side")
    axes[1].barh(names, [r["clientCpuPercent"] for r in rows], left=[r["serverCpuPercent"] for r in rows],
                 color="#f58518", label="consumer process")
    for y, v in enumerate(cpu):
        axes[1].text(v, y, f" {v:.1f}%", va="center", fontsize=8)
    axes[1].set_xlabel("CPU, % of one core")
    axes[1].legend(fontsize=8)
    axes[0].invert_yaxis()
    fig.suptitle(f"Idle cost: {rows[0]['consumers']} idle consumers, empty queue")
    save(fig, out_dir, "idle_cost.png")


def main():
    results_path, out_dir = sys.argv[1], sys.argv[2]
    with open(results_path) as f:
        results = json.load(f)
    os.makedirs(out_dir, exist_ok=True)
    if results["dispatch"]:
        latency_cdf(results, out_dir)
        latency_vs_load(results, out_dir)
        throughput_vs_offered(results, out_dir)
    burn_down(results, out_dir)
    idle_cost(results, out_dir)


if __name__ == "__main__":
    main()
