"""Where a sweep's study lives: Optuna's JournalStorage in a file of the run store, or a database URL
(PostgreSQL through SQLAlchemy and psycopg, with timeouts), whose password is never printed, logged
or stored; and the trials a sweep that ended left running. See core/sweep.py."""
from __future__ import annotations

import os
import re
import time
from pathlib import Path
from urllib.parse import unquote_plus

from . import livefiles, runs
from .sweep_space import METRICS, SweepError

HEARTBEAT_SECONDS, GRACE_SECONDS = 5, 20  # a database study fails a trial whose worker was silent for GRACE


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
        if run_dir is not None and runs.has_ended(run_dir):
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
