"""Uploads sent straight to a real server's upload endpoint, as a hostile visitor would, bypassing
the browser's size check: `streamlit run app.py` with this repository's .streamlit/config.toml.

Issue 26.5: 150 MB PUTs were answered 204 and kept in the server's memory (Streamlit's default
`server.maxUploadSize` is 200 MB), as many as a session cared to send.
"""
from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
websockets = pytest.importorskip("websockets")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(port, session id, xsrf cookie) of a running app whose session has finished its first run."""
    port = _free_port()
    tmp = tmp_path_factory.mktemp("server")
    env = {**os.environ, "RNNLAB_RUNS_DIR": str(tmp / "runs"), "RNNLAB_CACHE_DIR": str(tmp / "cache"),
           "RNNLAB_UPLOAD_SESSION_MB": "1"}
    log = open(tmp / "streamlit.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port), "--server.fileWatcherType", "none",
                             "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        cookie = _wait_up(port, proc, log)
        ws, session = _session(port)
        yield port, session, cookie
        ws.close()
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _wait_up(port: int, proc, log) -> str:
    """Wait for the health check; the XSRF cookie it sets (as the browser gets it)."""
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            response = urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
            if response.read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        log.seek(0)
        pytest.fail(f"streamlit did not start:\n{log.read()}")
    cookies = [h for h in response.headers.get_all("Set-Cookie") or [] if h.startswith("_streamlit_xsrf=")]
    assert cookies, "the health check set no XSRF cookie"
    return cookies[0].split(";")[0].split("=", 1)[1]


def _session(port: int):
    """Open a session over the websocket as the browser does and run the app once; (socket, its
    session id). The socket must stay open: the endpoint takes uploads for connected sessions only."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.sync.client import connect

    ws = connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"], max_size=None)
    rerun = BackMsg()
    rerun.rerun_script.query_string = ""
    ws.send(rerun.SerializeToString())
    session, deadline = None, time.time() + 90
    while time.time() < deadline:
        msg = ForwardMsg.FromString(ws.recv(timeout=90))
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            session = msg.new_session.initialize.session_id
        if kind == "script_finished" and session:
            break
    assert session, "no session id came back"
    return ws, session


def _put(port: int, session: str, cookie: str, body_size: int, declared: int | None = None) -> int:
    """PUT a multipart file of `body_size` bytes; with `declared`, send only the headers claiming that
    Content-Length and read the answer (a server that waits for the body times out: a failure)."""
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.csv\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    conn.putrequest("PUT", f"/_stcore/upload_file/{session}/{uuid.uuid4()}")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(declared or len(head) + body_size + len(tail)))
    conn.putheader("Cookie", f"_streamlit_xsrf={cookie}")
    conn.putheader("X-Xsrftoken", cookie)
    conn.endheaders()
    if declared is None:
        conn.send(head + b"1" * body_size + tail)
    try:
        return conn.getresponse().status
    finally:
        conn.close()


def test_the_upload_endpoint_refuses_a_file_over_the_configured_cap(server):
    port, session, cookie = server
    assert _put(port, session, cookie, 10_000) == 204  # the plumbing (session, XSRF) is right
    assert _put(port, session, cookie, 0, declared=50 * 2 ** 20 + 10_000) == 413  # server.maxUploadSize = 50


def test_one_session_cannot_hold_more_than_its_upload_budget(server):
    port, session, cookie = server
    assert _put(port, session, cookie, 600_000) == 204
    assert _put(port, session, cookie, 1_200_000) == 413  # over RNNLAB_UPLOAD_SESSION_MB=1 on its own
