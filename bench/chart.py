#!/usr/bin/env python3
"""Draws bench/chart.png from bench/results.json with gnuplot (called by bench/chart.sh).

One pair of bars per scenario that has a baseline: the scenario's median ns/op and its
baseline's, with min-max error bars, on a log scale, the ratio written above each pair.
Skipped scenarios are listed under the chart. Standard library only.
"""

import json
import os
import subprocess
import sys
import tempfile


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "bench/results.json"
    png = sys.argv[2] if len(sys.argv) > 2 else "bench/chart.png"
    with open(src) as f:
        results = json.load(f)
    rows = {s["name"]: s for s in results["scenarios"]}
    pairs, skipped = [], []
    for s in results["scenarios"]:
        if not s.get("baseline"):
            continue
        if s.get("skipped") or s.get("ns_per_op") is None:
            note = f'{s["name"]} ({s.get("skipped", "no samples")})'
            base = rows.get(s["baseline"])
            if base and base.get("ns_per_op") is not None:
                note += f'; its baseline {base["name"]}: {base["ns_per_op"]:.0f} ns/op'
            skipped.append(note)
            continue
        b = rows.get(s["baseline"])
        if not b or b.get("ns_per_op") is None:
            continue
        pairs.append((s, b))
    if not pairs:
        print(f"chart: nothing to draw in {src}", file=sys.stderr)
        return

    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data.tsv")
        with open(data, "w") as f:
            for s, b in pairs:
                label = f'{s["name"]}\\nvs {b["name"]}'
                target = f' (≤ {s["target"]:g})' if s.get("target") is not None else ""
                ratio = f"{s['ratio']:.3g}{target}"
                f.write(
                    f'"{label}"\t{s["ns_per_op"]}\t{s["min"]}\t{s["max"]}\t'
                    f'{b["ns_per_op"]}\t{b["min"]}\t{b["max"]}\t"{ratio}"\n'
                )
        top = max(max(s["max"], b["max"]) for s, b in pairs)
        bottom = min(min(s["min"], b["min"]) for s, b in pairs)
        title = f'lwt_rust benchmarks: {results.get("machine", "")}, ' \
                f'median of {results.get("repetitions", "?")} ({results.get("mode", "")} mode)'
        notes = []
        if skipped:
            notes.append("skipped: " + "; ".join(skipped))
        for s in results["scenarios"]:
            if s.get("rss_target_bytes_per_task") is not None and "rss_bytes_per_task" in s:
                notes.append(
                    f'{s["name"]}: peak RSS growth {s["rss_bytes_per_task"]:.0f} B per task '
                    f'(target {s["rss_target_bytes_per_task"]})'
                )
        footnote = "    ".join(notes)
        script = f"""
set terminal pngcairo size {max(1200, 170 * len(pairs))},700 font ",10" noenhanced
set output "{png}"
set datafile separator "\\t"
set title "{title}"
set ylabel "ns per operation (median, min-max bars; log scale)"
set logscale y
set yrange [{bottom / 3}:{top * 8}]
set grid ytics
set key top left
set style data histogram
set style histogram errorbars gap 2 lw 1
set style fill solid 0.7 border -1
set boxwidth 0.9
set bmargin 8
set xtics rotate by -25 left
set label 1 "{footnote}" at screen 0.01, screen 0.02
plot "{data}" using 2:3:4:xtic(1) title "scenario" lc rgb "#c0504d", \\
     "" using 5:6:7 title "baseline" lc rgb "#4f81bd", \\
     "" using 0:($4 > $7 ? $4 * 2.2 : $7 * 2.2):8 with labels font ",9" notitle
"""
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    print(f"chart: wrote {png}")


if __name__ == "__main__":
    main()
