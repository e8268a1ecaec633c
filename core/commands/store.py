"""python -m core runs / presets / worker / import-model: the run store, the presets, and the two
processes the app starts."""
from __future__ import annotations

import argparse

from .common import fail, unwritable


def runs_command(args: argparse.Namespace) -> int:
    from .. import livefiles, runs

    root = runs.default_root()
    if args.action == "list":
        rows = runs.list_runs(root, everyone=True)
        if not rows:
            print(f"no runs in {root}")
            return 0
        print(f"{'run':<24}{'status':<12}{'cell':<10}{'units':<8}{'data':<16}{'epochs':>8}{'test RMSE':>12}"
              f"{'persistence':>13}")
        for r in rows:
            epochs = f"{r['epoch'] if r['epoch'] is not None else '?'}/{r['epochs']}"
            rmse = f"{r['rmse']:.4f}" if r["rmse"] is not None else "-"
            naive = f"{r['naive_rmse']:.4f}" if r["naive_rmse"] is not None else "-"
            print(f"{r['run_id']:<24}{r['status']:<12}{str(r['cell']):<10}{str(r['units']):<8}"
                  f"{str(r['data'])[:15]:<16}{epochs:>8}{rmse:>12}{naive:>13}")
        return 0
    path = runs.find(args.run, root)
    if path is None and runs.valid_id(args.run) and (root / args.run / "started.json").is_file():
        live = livefiles.is_live(root / args.run)
        return fail(f"run {args.run!r} " + ("is still training; export it when it has ended" if live else
                     "was interrupted before it ended, so it has no results to export; its settings are in "
                     f"{root / args.run / 'spec.json'} (train them again with --config)"))
    if path is None:
        return fail(f"no run {args.run!r} in {root}; `python -m core runs list` shows the runs")
    if args.out.is_dir():
        return fail(f"--out {args.out} is a folder; give the .zip file to write")
    problem = unwritable(args.out.parent, "the folder of --out")
    if problem:
        return fail(problem)
    try:
        args.out.write_bytes(runs.bundle(path))
    except OSError as exc:
        return fail(f"cannot write {args.out}: {exc.strerror}", 1)
    print(f"wrote {args.out}")
    return 0


def presets_command(args: argparse.Namespace) -> int:
    from ..presets import PRESETS

    width = max(len(name) for name in PRESETS)
    for preset in PRESETS.values():
        print(f"{preset.name:<{width}}  {preset.title}")
    return 0


def worker_command(args: argparse.Namespace) -> int:
    from .. import worker as workers

    return workers.serve()


def import_model_command(args: argparse.Namespace) -> int:
    from .. import model_import

    return model_import.serve()
