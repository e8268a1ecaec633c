"""The sweep's database storage (issue 26, items 2, 10 and 15): a password is never printed, in any
spelling of the URL; a server that accepts the connection and never answers is an error within the
connect timeout, naming the host; a wrong password is refused at once, not tried five times (a real
PostgreSQL server with password logins, started here as tests/pg.py starts one)."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core import sweep
from core.__main__ import main

from .conftest import tiny_spec

ROOT = Path(__file__).resolve().parents[1]
SECRET = "Hunter2-secret"


@pytest.mark.parametrize("url", [
    f"postgres://u:{SECRET}@db.example:5432/lab",
    f"postgresql://u:{SECRET}@db.example/lab",
    f"postgresql+psycopg://u:{SECRET}@db.example/lab?sslmode=require",
    f"postgresql://u@db.example/lab?sslmode=require&password={SECRET}",
    f"postgresql://u:{SECRET}@db.example/lab?PASSWORD={SECRET}",
    f"postgres://u:{SECRET[:4]}/@{SECRET[4:]}@db.example/lab",  # '/' and '@' inside the password
    f"mysql://u:{SECRET}@db.example/lab",
    f"postgres://u:{SECRET.replace('-', '%2D')}@db.example/lab",  # percent-encoded
])
def test_redact_url_hides_the_password_in_every_spelling(url):
    shown = sweep.redact_url(url)
    assert SECRET[:4] not in shown and SECRET[4:] not in shown and "%2D" not in shown, shown
    assert "db.example" in shown and "***" in shown
    assert sweep.redact_url("postgresql://u@db.example/lab") == "postgresql://u@db.example/lab"  # nothing to hide
    if SECRET in url:  # an error text that repeats the URL and the password
        assert SECRET not in sweep.scrub(f"could not use {url} (password {SECRET})", url)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _files(tmp_path) -> tuple[str, str]:
    (tmp_path / "base.json").write_text(tiny_spec().to_json())
    (tmp_path / "space.json").write_text(json.dumps({"model.cell": {"choices": ["LSTM", "GRU"]}}))
    return str(tmp_path / "base.json"), str(tmp_path / "space.json")


@pytest.mark.parametrize("scheme", ["postgres://", "postgresql://", "postgresql+psycopg://", "pg://"])
def test_the_sweep_command_never_prints_the_password(tmp_path, capsys, scheme):
    """Nothing listens on the port: each spelling fails, and neither stdout nor stderr holds the password
    (postgres:// printed the whole URL before)."""
    config, space = _files(tmp_path)
    url = f"{scheme}lab:{SECRET}@127.0.0.1:{_free_port()}/lab?password={SECRET}"
    assert main(["sweep", "--config", config, "--space", space, "--trials", "1", "--storage", url]) == 2
    out, err = capsys.readouterr()
    assert SECRET not in out + err and err.startswith("error: storage: ") and len(err.splitlines()) == 1, err
    if scheme != "pg://":
        assert "127.0.0.1" in err and "nothing accepts connections" in err


def test_a_database_that_never_answers_is_an_error_within_the_timeout(tmp_path):
    """A TCP server that accepts every connection and never says a word: the command ends with one
    error line naming the host within the connect timeout (it hung until killed before)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port, held = server.getsockname()[1], []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])  # kept open, never answered
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    config, space = _files(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RNNLAB_DB_CONNECT_TIMEOUT": "2", "RNNLAB_RUNS_DIR": str(tmp_path)}
    started = time.monotonic()
    try:
        result = subprocess.run([sys.executable, "-m", "core", "sweep", "--config", config, "--space", space,
                                 "--trials", "1", "--storage", f"postgresql://lab:{SECRET}@127.0.0.1:{port}/lab"],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    finally:
        server.close()
        for conn in held:
            conn.close()
    took = time.monotonic() - started
    assert result.returncode == 2 and took < 45, (took, result.stderr)  # a hang would hit the 60 s timeout
    assert result.stderr.splitlines() == [
        f"error: storage: the database at 127.0.0.1:{port}/lab did not answer within 2 s: check that a PostgreSQL "
        "server runs there and is reachable, or allow it longer with $RNNLAB_DB_CONNECT_TIMEOUT (seconds)"]
    assert held, "the command never connected"


@pytest.fixture(scope="module")
def password_postgres():
    """A throwaway PostgreSQL server whose user postgres logs in with the password "right-password"."""
    from . import pg

    bin_dir = pg.binaries()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("Debian's postgresql is not installed; .ci/run installs it when run as root")
        pytest.skip("PostgreSQL is not installed: apt-get install -y postgresql")
    server = pg.Server(bin_dir)
    try:
        password = server.dir / "password"
        password.write_text("right-password\n")
        if server.as_root:
            shutil.chown(server.dir, "postgres", "postgres")
            shutil.chown(password, "postgres", "postgres")
        server._run("initdb", "-D", str(server.data), "-A", "scram-sha-256", "--pwfile", str(password), "-U",
                    "postgres", "--no-sync")
        server._run("pg_ctl", "-D", str(server.data), "-l", str(server.dir / "server.log"), "-w", "-t", "60", "-o",
                    f"-p {server.port} -k {server.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
    except Exception as exc:  # noqa: BLE001 - say why, with the server's log
        server.stop()
        pytest.fail(f"PostgreSQL did not start ({exc}):\n{server.log()}")
    yield server
    server.stop()


def test_a_wrong_password_is_refused_at_once_and_the_right_one_works(tmp_path, capsys, password_postgres):
    server = password_postgres
    config, space = _files(tmp_path)
    wrong = f"postgres://postgres:{SECRET}@127.0.0.1:{server.port}/postgres"
    started = time.monotonic()
    assert main(["sweep", "--config", config, "--space", space, "--trials", "1", "--storage", wrong]) == 2
    took = time.monotonic() - started
    err = capsys.readouterr().err
    assert err.startswith(f"error: storage: the database at 127.0.0.1:{server.port}/postgres refused the login: "
                          "wrong user or password") and SECRET not in err, err
    failures = server.log().count("password authentication failed")
    assert failures == 1, (failures, took)  # one login, not five (the server's own log counts them)
    right = sweep.storage(f"postgres://postgres:right-password@127.0.0.1:{server.port}/postgres", tmp_path, "s")
    study = sweep.open_study("s", right, "val_rmse", 0)
    assert study.study_name == "s"
    with right.engine.connect() as connection:  # every connection carries the statement timeout
        assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == "1min"
