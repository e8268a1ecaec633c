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

import json
import math
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import unquote_plus

from . import cells, livefiles, runs
from .spec import ExperimentSpec, SpecError

METRICS = {"val_rmse": ("val", "rmse", "minimize"), "val_mae": ("val", "mae", "minimize"),
           "val_accuracy": ("val", "accuracy", "maximize")}
KINDS = ("choices", "int", "float")
SWEEP_FILE = "sweep.json"  # in a trial's run directory: {"study", "trial", "params", "storage"}
HEARTBEAT_SECONDS, GRACE_SECONDS = 5, 20  # a database study fails a trial whose worker was silent for GRACE
POLL_SECONDS = 0.25  # how often a slot reads its trial's run directory
MAX_DIMENSIONS, MAX_CHOICES, MAX_TRIALS = 20, 100, 10_000


class SweepError(ValueError):
    """A space or a sweep setting that cannot work; the message names the field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class Dimension:
    """One searched spec field.

    Attributes:
        field: the dotted spec field ("model.cell", "train.learning_rate").
        kind: "choices", "int" or "float".
        choices: the values of a "choices" dimension (any JSON: [32, 32] is one choice).
        low, high, step, log: the range of an "int" or "float" dimension.
    """

    field: str
    kind: str
    choices: tuple = ()
    low: float = 0
    high: float = 0
    step: float | None = None
    log: bool = False

    def suggest(self, trial) -> Any:
        """This dimension's value for an Optuna trial (choices travel as JSON text: Optuna keeps
        only None, bool, int, float and str as categories)."""
        if self.kind == "choices":
            return json.loads(trial.suggest_categorical(self.field, [json.dumps(c) for c in self.choices]))
        if self.kind == "int":
            return trial.suggest_int(self.field, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.field, float(self.low), float(self.high), step=self.step, log=self.log)

    def extremes(self) -> list:
        """The values that decide whether this dimension can ever give a valid spec."""
        if self.kind == "choices":
            return list(self.choices)
        return [int(self.low), int(self.high)] if self.kind == "int" else [float(self.low), float(self.high)]


def apply(base: ExperimentSpec, params: dict[str, Any]) -> ExperimentSpec:
    """`base` with the dotted fields of `params` replaced, validated. Raises SpecError naming the field."""
    raw = base.to_dict()
    for dotted, value in params.items():
        section, name = dotted.split(".", 1)
        raw[section][name] = value
    return ExperimentSpec.from_dict(raw)


def parse_space(raw: Any, base: ExperimentSpec) -> list[Dimension]:
    """The space file's dict as dimensions, checked against `base` before any trial runs.

    Raises SweepError naming the field: an unknown field, a range that is not one, and a dimension
    none of whose values gives a valid spec (its choices, or the ends of its range, each applied to
    the base spec alone). A value that is valid alone but not with another sampled value is a failed
    trial with its reason, not a refusal.
    """
    if not isinstance(raw, dict) or not raw:
        raise SweepError("space", "must be a JSON object of dotted spec fields to ranges, e.g. "
                                  '{"model.cell": {"choices": ["LSTM", "GRU"]}}')
    if len(raw) > MAX_DIMENSIONS:
        raise SweepError("space", f"has {len(raw)} fields; at most {MAX_DIMENSIONS}")
    fields = base.to_dict()
    out = []
    for dotted, rng in raw.items():
        section, _, name = str(dotted).partition(".")
        if section not in fields or name not in fields[section]:
            known = ", ".join(f"{s}.{n}" for s in fields for n in fields[s])
            raise SweepError(str(dotted), f"is not a spec field; the fields are {known}")
        dim = _dimension(str(dotted), rng)
        valid, why = [], None
        for value in dim.extremes():
            try:
                apply(base, {dim.field: value})
                valid.append(value)
            except SpecError as exc:
                why = why or str(exc)
        if not valid:
            raise SweepError(dim.field, f"none of its values gives a valid spec ({why})")
        out.append(dim)
    return out


def _dimension(dotted: str, rng: Any) -> Dimension:
    kinds = [k for k in KINDS if isinstance(rng, dict) and k in rng]
    if len(kinds) != 1:
        raise SweepError(dotted, 'give one of {"choices": [...]}, {"int": [low, high]} or {"float": [low, high]}')
    kind = kinds[0]
    extra = set(rng) - {kind, "step", "log"}
    if extra:
        raise SweepError(dotted, f"unknown key(s) {', '.join(sorted(extra))}; a range takes step and log")
    if kind == "choices":
        choices = rng["choices"]
        if not isinstance(choices, list) or not choices or len(choices) > MAX_CHOICES:
            raise SweepError(dotted, f"choices must be a list of 1 to {MAX_CHOICES} values")
        if len({json.dumps(c, sort_keys=True) for c in choices}) != len(choices):
            raise SweepError(dotted, "choices must be distinct")
        return Dimension(dotted, kind, tuple(choices))
    bounds = rng[kind]
    number = int if kind == "int" else (int, float)
    if (not isinstance(bounds, list) or len(bounds) != 2 or
            not all(isinstance(b, number) and not isinstance(b, bool) for b in bounds)):
        raise SweepError(dotted, f'{kind} takes [low, high], two {"whole numbers" if kind == "int" else "numbers"}')
    low, high = bounds
    for end, value in (("low", low), ("high", high)):  # json reads NaN and Infinity; neither bounds a range
        if math.isnan(value):
            raise SweepError(dotted, f"{end} is NaN, which is not a number; give two finite numbers")
        if not math.isfinite(value):
            raise SweepError(dotted, f"{end} is {value}, which is not a finite number; give two finite numbers")
    if low > high:
        raise SweepError(dotted, f"[{low}, {high}] is not a range: low must not be above high")
    step, log = rng.get("step"), rng.get("log", False)
    if not isinstance(log, bool):
        raise SweepError(dotted, "log must be true or false")
    if step is not None and (isinstance(step, bool) or not isinstance(step, number) or not math.isfinite(step)
                             or step <= 0):
        raise SweepError(dotted, "step must be a positive finite number")
    if log and (low <= 0 or step is not None):
        raise SweepError(dotted, "a log range needs low above 0 and no step")
    return Dimension(dotted, kind, low=low, high=high, step=step, log=log)


def default_space(task: str = "regression") -> dict:
    """What the app offers first: the cell, the units, the window and the learning rate."""
    return {"model.cell": {"choices": list(cells.NAMES)},
            "model.units": {"choices": [[16], [32], [64], [32, 32]]},
            "window.length": {"int": [10, 60], "step": 10},
            "train.learning_rate": {"float": [1e-4, 1e-2], "log": True}}


def metric_for(spec: ExperimentSpec, metric: str | None) -> str:
    """The objective: `metric`, or val_accuracy for a classifier and val_rmse otherwise. Raises SweepError."""
    metric = metric or ("val_accuracy" if spec.model.task == "classification" else "val_rmse")
    if metric not in METRICS:
        raise SweepError("metric", f"unknown metric {metric!r}; one of {', '.join(METRICS)}")
    if (metric == "val_accuracy") != (spec.model.task == "classification"):
        raise SweepError("metric", f"{metric} does not fit a {spec.model.task} model; use "
                                   f"{'val_accuracy' if spec.model.task == 'classification' else 'val_rmse or val_mae'}")
    return metric


# -- storage and study ----------------------------------------------------------------------------
def journal_path(root: str | Path, study: str) -> Path:
    return Path(root) / "sweeps" / f"{study}.journal"


SCHEMES = ("postgresql://", "postgresql+psycopg://", "postgres://", "sqlite:///", "mysql://")
SECRET_KEYS = frozenset({"password", "passwd", "pwd", "sslpassword"})  # query parameters that hold a password


def db_timeouts() -> tuple[int, int]:
    """(connect, statement) timeouts in seconds for a database study, from $RNNLAB_DB_CONNECT_TIMEOUT
    (default 10; libpq counts anything under 2 as 2) and $RNNLAB_DB_STATEMENT_TIMEOUT (default 60).
    A server that accepts the connection and never answers hung `sweep` silently until killed (150 s
    measured); Optuna's queries take milliseconds, so a minute is generous."""
    def seconds(name: str, default: int) -> int:
        try:
            return max(1, int(float(os.environ.get(name) or default)))
        except ValueError:
            return default

    return seconds("RNNLAB_DB_CONNECT_TIMEOUT", 10), seconds("RNNLAB_DB_STATEMENT_TIMEOUT", 60)


def redact_url(url: str) -> str:
    """A storage URL fit to print, log or store: every password replaced by ***.

    The password of the user part (`user:PW@host`, whatever the scheme: postgres://, postgresql://,
    postgresql+psycopg://, mysql://) and of the query (`?password=PW`, as libpq also accepts) is hidden.
    The user part is taken up to the last `@` before the path, so a password with `@` or `/` in it
    is hidden whole; anything that does not read as a URL is hidden whole. SQLAlchemy's
    `render_as_string(hide_password=True)` keeps `?password=` and is not used for that reason.
    """
    match = re.match(r"([A-Za-z][\w+.-]*://)(.*)", url or "", re.S)
    if match is None:
        return "***" if url else ""
    scheme, rest = match.groups()
    rest, sep, query = rest.partition("?")
    at = rest.rfind("@")
    if at >= 0:
        user, colon, _ = rest[:at].partition(":")
        rest = f"{user}{':***' if colon else ''}@{rest[at + 1:]}"
    if sep:
        pairs = [pair.partition("=") for pair in query.split("&")]
        query = "&".join(f"{k}{eq}***" if unquote_plus(k).lower() in SECRET_KEYS else f"{k}{eq}{v}" for k, eq, v in pairs)
    return scheme + rest + sep + query


def _secrets(url: str) -> list[str]:
    """The passwords in a storage URL, as written and percent-decoded, longest first (for scrub)."""
    found = set()
    match = re.match(r"[A-Za-z][\w+.-]*://(.*)", url or "", re.S)
    if match:
        rest, _, query = match.group(1).partition("?")
        userinfo = rest[: rest.rfind("@")] if "@" in rest else ""
        if ":" in userinfo:
            found.add(userinfo.partition(":")[2])
        for k, _, v in (pair.partition("=") for pair in query.split("&") if query):
            if unquote_plus(k).lower() in SECRET_KEYS:
                found.add(v)
    found |= {unquote_plus(s) for s in found}
    return sorted((s for s in found if len(s) >= 3), key=len, reverse=True)  # shorter: hidden with the URL only


def scrub(text: str, url: str | None) -> str:
    """`text` (an error message, a log line) with the storage URL redacted and its passwords hidden."""
    if not url:
        return text
    text = text.replace(url, redact_url(url))
    for secret in _secrets(url):
        text = text.replace(secret, "***")
    return text


def _where(url: str) -> str:
    """host:port/database of a database URL, for messages (never the user's password)."""
    try:
        from sqlalchemy.engine import make_url

        u = make_url(url)
        return f"{u.host or 'localhost'}{f':{u.port}' if u.port else ''}" + (f"/{u.database}" if u.database else "")
    except Exception:  # noqa: BLE001 - not a URL SQLAlchemy reads
        return redact_url(url)


def _errors(exc: BaseException):
    """The exception and every one it wraps (SQLAlchemy's .orig, __cause__, __context__)."""
    seen = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
    return seen


def db_problem(exc: BaseException, url: str) -> str | None:
    """What went wrong reaching the database and what to do, naming the host (never the password);
    None when `exc` is not a connection problem. These are not retried: a wrong password tried five
    times is five failed logins, and a silent server five timeouts."""
    connect, statement = db_timeouts()
    where = _where(url)
    text = " ".join(f"{e.__class__.__name__} {e}" for e in _errors(exc)).lower()
    states = {getattr(e, "sqlstate", None) for e in _errors(exc)}
    if states & {"28P01", "28000"} or "authentication failed" in text or "no password supplied" in text:
        return (f"the database at {where} refused the login: wrong user or password (nothing was retried). Check "
                "the user and password in --storage, or the server's pg_hba.conf")
    if "connectiontimeout" in text or "timeout expired" in text:
        return (f"the database at {where} did not answer within {connect} s: check that a PostgreSQL server runs "
                "there and is reachable, or allow it longer with $RNNLAB_DB_CONNECT_TIMEOUT (seconds)")
    if "57014" in states or "statement timeout" in text:
        return (f"the database at {where} did not finish a query within {statement} s: check that the server "
                "is not overloaded or locked, or allow it longer with $RNNLAB_DB_STATEMENT_TIMEOUT (seconds)")
    if "connection refused" in text:
        return f"nothing accepts connections at {where}: start the database, or check the host and port in --storage"
    if "translate host name" in text or "name or service not known" in text or "nodename nor servname" in text:
        return f"the host of {where} is not known: check the host in --storage"
    if "does not exist" in text and "database" in text:
        return f"the database at {where} does not exist: create it (createdb) or fix its name in --storage"
    return None


def storage(url: str | None, root: str | Path, study: str):
    """The Optuna storage: a journal file in the run store (None), or a database URL.

    Raises SweepError for a URL that is not a database's and for a database that cannot be reached
    (db_problem); the message never holds the password. A PostgreSQL connection gets a connect timeout
    and a statement timeout (db_timeouts)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # a successful run prints nothing on stderr
    if not url:
        path = journal_path(root, study)
        path.parent.mkdir(parents=True, exist_ok=True)
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    if not url.startswith(SCHEMES):
        raise SweepError("storage", f"{redact_url(url)!r} is not a database URL (postgresql://user@host:port/db)")
    engine_kwargs = {}
    if url.startswith(("postgresql://", "postgres://")):  # psycopg 3, not psycopg2; postgres:// is the common spelling
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("postgresql+psycopg://"):
        engine_kwargs = {"connect_args": _pg_connect_args(url)}
    import warnings

    with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna 5; they are what we need
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        try:
            return _retried(lambda: optuna.storages.RDBStorage(
                url, engine_kwargs=engine_kwargs, heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1)), url)
        except Exception as exc:  # noqa: BLE001 - said in a line, without the password
            problem = db_problem(exc, url)
            if problem is None:
                raise SweepError("storage", scrub(f"the database at {_where(url)} cannot be used "
                                                  f"({exc.__class__.__name__}: {_first_line(exc)})", url)) from None
            raise SweepError("storage", problem) from None


def _pg_connect_args(url: str) -> dict:
    """psycopg's connect_timeout and PostgreSQL's statement_timeout (db_timeouts), added to what the URL's
    query already sets (its own connect_timeout wins; its options are kept)."""
    from sqlalchemy.engine import make_url

    connect, statement = db_timeouts()
    query = make_url(url).query
    options = " ".join(filter(None, [query.get("options") if isinstance(query.get("options"), str) else None,
                                     f"-c statement_timeout={statement * 1000}"]))
    args = {"options": options}
    if "connect_timeout" not in query:
        args["connect_timeout"] = connect
    return args


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:200]


def _retried(make, url: str | None = None, tries: int = 5):
    """make(), again after a moment when it fails: two machines that start on a new database at the
    same moment race to create Optuna's tables (or the study), and the loser gets an IntegrityError.
    A connection problem (db_problem: a wrong password, a timeout, no server) is raised at once."""
    for attempt in range(tries):
        try:
            return make()
        except Exception as exc:  # noqa: BLE001 - the last attempt raises it
            if attempt == tries - 1 or (url and db_problem(exc, url) is not None):
                raise
            time.sleep(0.5 * (attempt + 1))


def open_study(name: str, store, metric: str, seed: int):
    """Create the study, or join it when another machine (or an earlier run) created it."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return _retried(lambda: optuna.create_study(
        study_name=name, storage=store, direction=METRICS[metric][2], load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=2)))  # never at epoch 1


def fail_orphans(study, root: str | Path, min_age: float = 60.0) -> list[int]:
    """Fail the trials a killed sweep left RUNNING in a journal study; the numbers of those failed.

    A sweep command killed with SIGKILL cannot tell the study (its workers stop by themselves, see
    core/worker.py watch_parent), so its trials stayed RUNNING for good. A RUNNING trial whose run
    has ended, or whose run is not live (no worker, no queue) and is `min_age` seconds old, is
    failed when a sweep starts. A database study has heartbeats for this (fail_stale_trials), and
    there other machines' runs are not in this run store: left alone."""
    import optuna

    if hasattr(study._storage, "record_heartbeat"):
        return []
    root, now, failed = Path(root), time.time(), []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        run_id = t.user_attrs.get("run_id")
        run_dir = root / run_id if isinstance(run_id, str) and runs.valid_id(run_id) else None
        started = t.datetime_start.timestamp() if t.datetime_start else now
        if run_dir is not None and (run_dir / "run.json").is_file():
            pass  # its run ended: the sweep that watched it is gone
        elif (run_dir is not None and livefiles.is_live(run_dir)) or now - started < min_age:
            continue  # still training or queued, or just asked for by a sweep running now
        try:
            study._storage.set_trial_user_attr(t._trial_id, "error", "its sweep command ended before the trial "
                                               "did (killed); the trial's run is kept")
            study._storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
            failed.append(t.number)
        except Exception:  # noqa: BLE001 - another sweep finished it a moment ago
            continue
    return failed


# -- one trial ------------------------------------------------------------------------------------
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
        run_id = runs.new_run_id()
        while (self.root / run_id).exists():
            run_id = runs.new_run_id()
        run_dir = self.root / run_id
        done.run_id = run_id
        trial.set_user_attr("run_id", run_id)
        run_dir.mkdir(parents=True)
        livefiles.write_atomic(run_dir / SWEEP_FILE, json.dumps(
            {"study": self.study.study_name, "trial": trial.number, "params": params, "metric": self.metric,
             "storage": self.storage_text}, indent=2) + "\n")
        from .pool import Request

        with self._lock:
            if self._stop.is_set():  # Stop came while this trial was being asked for: do not start it
                self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
                done.note = "the sweep was stopped before it started"
                return done
            self.running[trial.number] = run_id
        try:
            self.pool.submit(Request(run_id, str(run_dir), spec.to_dict(), self.workspace, self.csv_root))
            pruned_at = self._watch(trial, run_id, run_dir, spec.train.epochs)
        finally:
            with self._lock:
                self.running.pop(trial.number, None)
        done.seconds = time.perf_counter() - started
        _, snap, _ = runs.load(run_dir)
        if pruned_at is not None:
            message = (f"pruned at epoch {pruned_at}: its validation loss was worse than the median of the earlier "
                       "trials at that epoch" + (f" (it had finished epoch {snap.epoch} when the stop reached it)"
                                                 if snap.epoch > pruned_at else ""))
            runs.mark_status(run_dir, "pruned", message)
            self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            done.state, done.pruned_at, done.note = "pruned", pruned_at, message
            return done
        value = _objective(snap.metrics, self.metric)
        if snap.status == "finished" and value is not None and math.isfinite(value):
            self.study.tell(trial, value)
            done.state, done.value = "complete", value
            return done
        trial.set_user_attr("error", snap.message)
        self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        done.note = snap.message
        if snap.status == "failed" and "worker process" in snap.message and _fresh(
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
        metrics = runs.load(run_dir)[1].metrics  # null read back as NaN
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
