"""Hyperparameter sweeps on Optuna: search a space of spec fields, every trial an ordinary run.

    python -m core sweep --config base.json --space space.json --trials N [--workers K]
                         [--storage URL] [--study NAME] [--metric val_rmse|val_mae|val_accuracy]

A space maps dotted spec fields (the names the share link uses) to a range:

    {"model.cell": {"choices": ["SimpleRNN", "LSTM", "GRU"]},
     "model.units": {"choices": [[16], [64], [32, 32]]},
     "window.length": {"int": [10, 90], "step": 10},
     "train.learning_rate": {"float": [1e-4, 1e-2], "log": true}}

Optuna does the search (TPE, seeded from the spec's seed) and the pruning (MedianPruner on the
per-epoch validation loss). RNN Lab does the training: each trial is a Request to the worker pool
(core/pool.py), trained by a worker process into a run directory of the run store, tagged with its
study and trial in `sweep.json`. A `Sweep` keeps K trials going at once, one per slot, each slot a
thread that asks the study for a trial, submits it, reports its epochs as history.csv grows, and
tells the study the outcome. Nothing here waits on a Keras model: the slots only read run files.

Where the study lives:
- one machine, nothing to start: Optuna's JournalStorage in a file of the run store
  (`sweeps/<study>.journal`; Optuna advises it over SQLite for several processes);
- several machines: `--storage postgresql://user@host/db` (or postgres://; RDBStorage through
  SQLAlchemy and psycopg, with a connect and a statement timeout: db_timeouts). A password in the
  URL is never printed, logged or stored (redact_url); a wrong one is refused at once. Running the same command with the same --study and --storage elsewhere adds that
  machine's workers to the study; N counts trials across all of them. With a database the trials
  send heartbeats, so a trial whose machine died is failed and retried once by another worker.
A trial whose worker process dies (kill -9, out of memory) is failed and retried once, on either storage.

The objective is the validation metric in original units (classification: validation accuracy).
The test set is never used to choose: the best trial's test metrics are reported once, when the
study ends, next to persistence and the other baselines, with the verdict.
"""
from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import runs
from .spec import ExperimentSpec, SpecError
from .sweep_space import (  # noqa: F401  (sweep.<name>, as callers use them)
    KINDS, MAX_CHOICES, MAX_DIMENSIONS, MAX_TRIALS, METRICS, Dimension, SweepError, apply, default_space, metric_for,
    parse_space,
)
from .sweep_storage import (  # noqa: F401
    GRACE_SECONDS, HEARTBEAT_SECONDS, SCHEMES, SECRET_KEYS, db_problem, db_timeouts, fail_orphans, journal_path,
    open_study, redact_url, scrub, storage,
)

SWEEP_FILE = "sweep.json"  # in a trial's run directory: {"study", "trial", "params", "storage"}
POLL_SECONDS = 0.25  # how often a slot reads its trial's run directory


@dataclass
class Outcome:
    """How one trial ended, for the caller's line per trial."""

    number: int
    state: str  # "complete", "pruned", "failed", "skipped"
    value: float | None = None
    run_id: str | None = None
    params: dict = field(default_factory=dict)
    seconds: float = 0.0
    note: str = ""
    pruned_at: int | None = None


def _fresh(trial) -> bool:
    """A trial (a FrozenTrial) that counts against N: not a retry of one that died, not one over the budget."""
    return ("failed_trial" not in trial.system_attrs and "retry_of" not in trial.user_attrs
            and "skipped" not in trial.user_attrs)


def counted(study) -> list:
    """The trials that count against N, in order (retries and skipped ones left out)."""
    return [t for t in study.get_trials(deepcopy=False) if _fresh(t)]


class Sweep:
    """Runs a study's trials through a worker pool, `slots` at a time, until the study has N.

    Args:
        base: the spec every trial starts from.
        dims: the searched fields (parse_space).
        study: the Optuna study (open_study).
        trials: N, counted across every machine working on the study.
        pool: where trials train (core.pool: the app's shared pool, or the command line's own).
        root: the run store; each trial is root/<run id>.
        slots: how many trials this process keeps going at once (--workers).
        metric: the objective (METRICS).
        workspace, csv_root: as for any run (the app's visitor, its upload folder).
        on_trial: called with each finished trial's Outcome (from a slot's thread).
        storage_text: how the study's storage is named in sweep.json (never a password).
    """

    def __init__(self, base: ExperimentSpec, dims: list[Dimension], study, trials: int, pool, root: str | Path,
                 slots: int = 1, metric: str = "val_rmse", workspace: str | None = None,
                 csv_root: str | None = None, on_trial: Callable[[Outcome], None] | None = None,
                 storage_text: str = "journal"):
        self.base, self.dims, self.study, self.trials, self.pool = base, dims, study, trials, pool
        self.root, self.slots, self.metric = Path(root), max(1, slots), metric
        self.workspace, self.csv_root, self.on_trial, self.storage_text = workspace, csv_root, on_trial, storage_text
        self.outcomes: list[Outcome] = []
        self.running: dict[int, str] = {}  # trial number -> run id, trials training now in this process
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- control ------------------------------------------------------------------------------------
    def start(self) -> "Sweep":
        fail_orphans(self.study, self.root)
        self._threads = [threading.Thread(target=self._slot, name=f"sweep-slot-{i}", daemon=True)
                         for i in range(self.slots)]
        for thread in self._threads:
            thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        for thread in self._threads:
            thread.join(timeout)

    @property
    def alive(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def stop(self) -> None:
        """Start no more trials and stop the ones training (their runs are saved as stopped)."""
        self._stop.set()
        with self._lock:
            training = dict(self.running)
        for run_id in training.values():
            self.pool.stop(run_id, self.root / run_id)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    # -- a slot -------------------------------------------------------------------------------------
    def _slot(self) -> None:
        import optuna

        while not self._stop.is_set():
            if hasattr(self.study._storage, "record_heartbeat"):
                import warnings

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                    optuna.storages.fail_stale_trials(self.study)  # a dead machine's trial: failed, queued again
            if len(counted(self.study)) >= self.trials and not self._waiting():
                return
            trial = self.study.ask()
            frozen = self.study._storage.get_trial(trial._trial_id)  # a live Trial has no system_attrs
            if _fresh(frozen) and sum(1 for t in counted(self.study) if t.number <= trial.number) > self.trials:
                # Another worker took the last trial a moment before us: this one is over the budget.
                trial.set_user_attr("skipped", f"over the study's {self.trials} trials")
                self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
                return
            try:
                outcome = self._run_trial(trial)
            except Exception as exc:  # noqa: BLE001 - a database hiccup, a deleted run: fail this trial, go on
                outcome = Outcome(trial.number, "failed", note=f"{exc.__class__.__name__}: {str(exc)[:200]}")
                try:
                    trial.set_user_attr("error", outcome.note)
                    self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
                except Exception:  # noqa: BLE001 - the storage itself is gone: the slot ends
                    return
            with self._lock:
                self.outcomes.append(outcome)
            if self.on_trial is not None:
                self.on_trial(outcome)

    def _waiting(self) -> bool:
        """Whether the study has trials queued for a retry (they run even when N is reached)."""
        import optuna

        return bool(self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,)))

    def _run_trial(self, trial) -> Outcome:
        import optuna

        started = time.perf_counter()
        params = {d.field: d.suggest(trial) for d in self.dims}
        done = Outcome(trial.number, "failed", params=params)
        try:
            spec = apply(self.base, params)
        except SpecError as exc:  # a combination the spec refuses: a failed trial with its reason, not a crash
            trial.set_user_attr("error", str(exc))
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            done.note = f"invalid settings: {exc}"
            return done
        run_id, run_dir = runs.claim(self.root)
        done.run_id = run_id
        trial.set_user_attr("run_id", run_id)
        tag = (SWEEP_FILE, {"study": self.study.study_name, "trial": trial.number, "params": params,
                            "metric": self.metric, "storage": self.storage_text})
        with self._lock:
            if self._stop.is_set():  # Stop came while this trial was being asked for: do not start it
                self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
                done.note = "the sweep was stopped before it started"
                run_dir.rmdir()
                return done
            self.running[trial.number] = run_id
        try:
            runs.submit(self.pool, spec, run_dir=run_dir, workspace=self.workspace, csv_root=self.csv_root, tag=tag)
            pruned_at = self._watch(trial, run_id, run_dir, spec.train.epochs)
        finally:
            with self._lock:
                self.running.pop(trial.number, None)
        done.seconds = time.perf_counter() - started
        _, snap, _ = runs.read_run(run_dir)
        if pruned_at is not None:
            message = (f"pruned at epoch {pruned_at}: its validation loss was worse than the median of the earlier "
                       "trials at that epoch" + (f" (it had finished epoch {snap.epoch} when the stop reached it)"
                                                 if snap.epoch > pruned_at else ""))
            runs.mark_status(run_dir, runs.PRUNED, message)
            self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            done.state, done.pruned_at, done.note = "pruned", pruned_at, message
            return done
        value = _objective(snap.metrics, self.metric)
        if snap.status == runs.FINISHED and value is not None and math.isfinite(value):
            self.study.tell(trial, value)
            done.state, done.value = "complete", value
            return done
        trial.set_user_attr("error", snap.message)
        self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        done.note = snap.message
        if runs.ended_because(run_dir) == runs.WORKER_DIED and _fresh(
                self.study._storage.get_trial(trial._trial_id)) and not self._stop.is_set():
            # Its worker died (kill -9, out of memory): the same settings get one more try.
            self.study.enqueue_trial({d.field: _as_param(d, params[d.field]) for d in self.dims},
                                     user_attrs={"retry_of": trial.number})
            done.note += "; queued again once"
        return done

    def _watch(self, trial, run_id: str, run_dir: Path, epochs: int) -> int | None:
        """Report each new epoch's validation loss until the run ends; the epoch it was pruned at, or
        None. The last epoch is reported but never pruned: the run has cost all it will by then."""
        reported, pruned_at, beat, stopping = 0, None, 0.0, False
        storage = self.study._storage
        while True:
            if self._stop.is_set() and not stopping:
                self.pool.stop(run_id, run_dir)
                stopping = True
            ended = runs.has_ended(run_dir)
            history = runs.read_history(run_dir) or {}
            # The pruner compares in the study's direction: a maximised study (val_accuracy) gets the validation
            # accuracy, a minimised one the validation loss (a loss in a maximised study pruned the best trials).
            losses = history.get("val_accuracy" if METRICS[self.metric][2] == "maximize" else "val_loss", [])
            for epoch in range(reported + 1, len(losses) + 1):
                value = losses[epoch - 1]
                if pruned_at is None and math.isfinite(value):
                    trial.report(value, epoch)
                    if epoch < epochs and trial.should_prune():
                        pruned_at = epoch
                        self.pool.stop(run_id, run_dir)
            reported = max(reported, len(losses))
            if ended:
                return pruned_at
            now = time.monotonic()
            if hasattr(storage, "record_heartbeat") and now - beat >= HEARTBEAT_SECONDS:
                storage.record_heartbeat(trial._trial_id)  # this machine still works on the trial
                beat = now
            time.sleep(POLL_SECONDS)


def _decoded(value):
    """A parameter as the spec takes it: a choice travels as its JSON text ('"LSTM"', '[32, 32]', '32')."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _shown(value):
    """A parameter as a person reads it: choices without their JSON quotes, numbers to 4 significant digits."""
    value = _decoded(value)
    if isinstance(value, float):
        return float(f"{value:.4g}")
    return value if not isinstance(value, (list, dict)) else json.dumps(value)


def _as_param(dim: Dimension, value):
    """A value as Optuna stores the parameter (choices as their JSON text)."""
    return json.dumps(value) if dim.kind == "choices" else value


def _objective(metrics: dict | None, metric: str) -> float | None:
    split, key, _ = METRICS[metric]
    value = ((metrics or {}).get(split) or {}).get(key)
    return None if value is None else float(value)


# -- the end of a study ---------------------------------------------------------------------------
def best(study) -> dict | None:
    """The best completed trial: {"number", "value", "run_id", "params"}; None before any completed."""
    import optuna

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        return None
    trial = study.best_trial
    return {"number": trial.number, "value": trial.value, "run_id": trial.user_attrs.get("run_id"),
            "params": {k: _decoded(v) for k, v in trial.params.items()}}


def test_report(run_dir: str | Path) -> dict | None:
    """The best trial's test metrics next to its baselines, and the verdict: read once, at the end.
    None when the run has no metrics."""
    from . import evaluate

    try:
        metrics = runs.read_run(run_dir)[1].metrics  # null read back as NaN
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not metrics:
        return None
    test, baselines = metrics.get("test", {}), metrics.get("baselines", {})
    if "accuracy" in test:
        naive = baselines.get("naive", {})
        verdict = (f"the best trial {'beats' if test['accuracy'] > naive.get('accuracy', math.nan) else 'does not beat'} "
                   f"the naive baseline ({test['accuracy']:.1f}% vs {naive.get('accuracy', math.nan):.1f}% correct)")
    else:
        verdict = evaluate.full_verdict("the best trial", test, baselines, metrics.get("naive_name", "persistence"))
    return {"test": test, "baselines": baselines, "verdict": verdict}


def trials_table(study) -> list[dict]:
    """One row per trial that counts or was retried: number, state, value, run, duration, pruned at, note."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        if "skipped" in t.user_attrs:
            continue
        seconds = (t.datetime_complete - t.datetime_start).total_seconds() if t.datetime_complete and t.datetime_start \
            else None
        pruned_at = max(t.intermediate_values) if t.state.name == "PRUNED" and t.intermediate_values else None
        retry = t.user_attrs.get("retry_of", t.system_attrs.get("failed_trial"))
        # Only a completed trial has an objective value: Optuna keeps a pruned trial's last reported (scaled) loss
        # as its value, which read like an excellent RMSE next to the others.
        value = t.value if t.state.name == "COMPLETE" else None
        rows.append({"trial": t.number, "state": t.state.name.lower(), "value": value, "run": t.user_attrs.get("run_id"),
                     "seconds": seconds, "pruned at epoch": pruned_at,
                     "note": t.user_attrs.get("error", "") + (f" (retry of trial {retry})" if retry is not None else ""),
                     **{k: _shown(v) for k, v in t.params.items()}})
    return rows


# -- setting a sweep up (the page and the command line both come here) ----------------------------
MAX_WORKERS = 64  # --workers: trials one process keeps going at once


@dataclass
class Setup:
    """A checked sweep, before it starts: what it searches, its objective, and where its study is.

    Made by `plan` (nothing written yet); `open` opens the study, `start` starts the trials."""

    base: ExperimentSpec
    dims: list[Dimension]
    metric: str
    name: str
    root: Path
    trials: int
    storage_url: str | None = None
    study: object = None

    @property
    def where(self) -> str:
        """The study's storage as it may be shown: the journal file, or the URL without its password."""
        return redact_url(self.storage_url) if self.storage_url else str(journal_path(self.root, self.name))

    def open(self) -> "Setup":
        """Open (or create) the study. Raises what the storage raises (db_problem names it for people)."""
        self.study = open_study(self.name, storage(self.storage_url, self.root, self.name), self.metric,
                                self.base.train.seed)
        return self

    def start(self, pool, slots: int, workspace: str | None = None, csv_root: str | None = None,
              on_trial: Callable[[Outcome], None] | None = None, storage_text: str | None = None) -> Sweep:
        """Start the trials through `pool`, `slots` at a time (the study is opened first if it is not)."""
        if self.study is None:
            self.open()
        return Sweep(self.base, self.dims, self.study, self.trials, pool, self.root, slots=slots, metric=self.metric,
                     workspace=workspace, csv_root=csv_root, on_trial=on_trial,
                     storage_text=self.where if storage_text is None else storage_text).start()


def plan(base: ExperimentSpec, space, root: str | Path, trials: int, workers: int = 1, metric: str | None = None,
         name: str | None = None, storage_url: str | None = None) -> Setup:
    """Check a sweep before anything is written: the space against `base`, the metric, N and the slots,
    and the study's name (by default sweep-<a digest of the base, the space and the metric>, so running
    the same command again continues the same study). Raises SweepError naming the field."""
    dims = parse_space(space, base)
    metric = metric_for(base, metric)
    if not 1 <= trials <= MAX_TRIALS:
        raise SweepError("--trials", f"must be a whole number from 1 to {MAX_TRIALS}")
    if not 1 <= workers <= MAX_WORKERS:
        raise SweepError("--workers", f"must be a whole number from 1 to {MAX_WORKERS}")
    digest = hashlib.sha1((base.to_json() + json.dumps(space, sort_keys=True) + metric).encode()).hexdigest()[:10]
    name = name or f"sweep-{digest}"
    if not name.replace("-", "").replace("_", "").isalnum() or len(name) > 64:
        raise SweepError("--study", "use 1 to 64 letters, digits, - and _")
    return Setup(base, dims, metric, name, Path(root), trials, storage_url)
