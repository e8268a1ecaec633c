"""Every preset of core/presets.py trained in full, in order: final test metrics against the naive
baseline, and the time per epoch.

    python bench/presets.py [--only NAME [NAME ...]] [--epochs N] [--unscaled]

Each preset trains as `python -m core train --preset NAME` does (its own epochs unless --epochs
caps them, for a quick check), without writing a run directory. --unscaled also runs
sine-to-cosine with its "unscaled x from 3000" toggle (presets.unscaled). Prints one line per
preset as it finishes, then a Markdown table; s/epoch is model build + fit over the epochs run.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import tickers  # noqa: E402,F401  (first: curl_cffi must load before TensorFlow, see core/tickers.py)
from core import data, presets, windows  # noqa: E402
from core.training import FINISHED, TrainingJob  # noqa: E402

UNSCALED = "sine-to-cosine (unscaled x from 3000)"


def metrics_text(values: dict | None, keys: tuple[str, ...]) -> str:
    if not values:
        return "-"
    return ", ".join(f"{k} {values[k]:.2f}%" if k in ("accuracy", "mape") else f"{k} {values[k]:.4g}" for k in keys)


def run_one(label: str, spec, report: tuple[str, ...], epochs: int | None) -> dict:
    if epochs is not None:
        spec = spec.replace(train={"epochs": epochs})
    w = windows.make(data.load(spec.data), spec)
    job = TrainingJob(spec, w)
    snap = job.run()
    metrics = snap.metrics or {}
    test = metrics.get("test")
    naive = (metrics.get("baselines") or {}).get("naive")
    row = {"preset": label, "epochs": f"{snap.epoch}/{spec.train.epochs}",
           "s/epoch": f"{job.fit_seconds / snap.epoch:.2f}" if job.fit_seconds and snap.epoch else "-",
           "test": metrics_text(test, report),
           "baseline": f"{w.naive_name}: {metrics_text(naive, report)}",
           "test windows": str(len(w.y["test"]))}
    note = "" if snap.status == FINISHED else f"  [{snap.status}: {snap.message}]"
    if test and naive:
        key = report[0]
        better = test[key] > naive[key] if key == "accuracy" else test[key] < naive[key]
        note += "" if better else f"  [does not beat {w.naive_name} on {key}]"
    if label == "image-rows" and test:
        note += f"  [90% target {'reached' if test['accuracy'] >= 90 else 'NOT reached'}]"
    row["note"] = note.strip()
    print(f"{label}: {row['epochs']} epochs, {row['s/epoch']} s/epoch; test {row['test']}; "
          f"{row['baseline']}; {row['test windows']} test windows{note}", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these presets (default: all)")
    parser.add_argument("--epochs", type=int, help="cap every preset's epochs (a quick check)")
    parser.add_argument("--unscaled", action="store_true", help=f"also run {UNSCALED!r}")
    args = parser.parse_args()
    names = args.only or list(presets.PRESETS)
    for name in names:
        presets.get(name)  # SpecError naming the presets for a wrong name, before any training
    print(f"machine: {os.cpu_count()} CPUs; {len(names)} presets"
          + (f", epochs capped at {args.epochs}" if args.epochs else ", each with its own epochs"), flush=True)
    t0 = time.perf_counter()
    rows = []
    for name in names:
        preset = presets.get(name)
        rows.append(run_one(name, preset.experiment(), preset.report, args.epochs))
        if name == "sine-to-cosine" and args.unscaled:
            rows.append(run_one(UNSCALED, presets.unscaled(preset.experiment()), preset.report, args.epochs))
    if args.unscaled and "sine-to-cosine" not in names:
        preset = presets.get("sine-to-cosine")
        rows.append(run_one(UNSCALED, presets.unscaled(preset.experiment()), preset.report, args.epochs))
    total = time.perf_counter() - t0

    columns = ["preset", "epochs", "s/epoch", "test", "baseline", "test windows", "note"]
    print("\n| " + " | ".join(columns) + " |")
    print("|" + "|".join("---" for _ in columns) + "|")
    for row in rows:
        print("| " + " | ".join(row[c] for c in columns) + " |")
    print(f"\nmachine: {os.cpu_count()} CPUs; total {total / 60:.1f} min ({total:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
