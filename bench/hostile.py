"""What one hostile visitor costs a shared server: its memory before and after each input.

    .venv/bin/python bench/hostile.py [--only windows,features,params,upload,model] [--app-dir DIR]

Not part of the test suite. For each case a fresh `streamlit run app.py` (bench/live.py's Server,
its own temporary runs and cache folders) is opened in headless Chromium on the default page; then
the hostile input arrives as a visitor would send it, the page settles, and the server's memory is
read again. Printed per case: the server's VmRSS and the PSS of the server plus every process it
started (workers), before, at the peak (sampled every 0.25 s) and 5 s after the input, and what the
page said. Issue 26 items 3-6; the figures before the fixes are in that issue.

Cases:
windows   a link with a 300,000-point sine and window.length=2000 (Train clicked)
features  a link listing "Close" 450 times as the input features (Train clicked)
params    a link asking for 4 x 1024 bidirectional LSTM units and a 1024 head, 94 M parameters
          (Train clicked)
upload    a 150 MB PUT straight to Streamlit's upload endpoint with the page's own session id and
          XSRF token, bypassing the browser's size check
model     a `.keras` file of Dense -> Flatten -> Dense that declares 3 x 10^8 parameters (a few KB),
          imported on Runs -> Import
"""
from __future__ import annotations

import argparse
import io
import json
import re
import sys
import time
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import live  # noqa: E402  (bench/live.py: Server, Chromium, /proc readers)

ROOT = Path(__file__).resolve().parents[1]
UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def link(**fields) -> str:
    """The app's share-link format: field=JSON (text as is)."""
    return "/?" + urllib.parse.urlencode({k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()})


CASES = {
    "windows": link(**{"data.source": "synthetic", "data.name": "sine", "data.params": {"points": 300_000},
                       "data.target": "value", "data.features": ["value"], "window.length": 2000}),
    "features": link(**{"data.features": ["Close"] * 450}),
    "params": link(**{"model.units": [1024, 1024, 1024, 1024], "model.bidirectional": True, "model.head_units": 1024}),
}


def hostile_keras() -> bytes:
    """A `.keras` archive whose config declares Dense(10000) -> Flatten -> Dense(30000) on a
    (1000, 1) input, about 3 x 10^8 parameters, with an empty weights file: a few KB."""
    layers = [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 1000, 1], "dtype": "float32", "name": "x"}},
        {"class_name": "Dense", "config": {"units": 10, "name": "d1", "activation": "linear"}},
        {"class_name": "Flatten", "config": {"name": "f"}},
        {"class_name": "Dense", "config": {"units": 30000, "name": "d2", "activation": "linear"}},
    ]
    config = {"module": "keras", "class_name": "Sequential",
              "config": {"name": "s", "layers": [{"module": "keras.layers", **layer} for layer in layers]},
              "build_config": {"input_shape": [None, 1000, 1]}}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("config.json", json.dumps(config))
        z.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        z.writestr("model.weights.h5", b"")
    return buf.getvalue()


def memory(server) -> tuple[float, float]:
    rss = live.rss_mb(server.pid)
    _, pss, _ = live.tree_mb(server.pid)
    return rss, pss


def page_text(page) -> str:
    """The alerts on the page (errors, warnings), shortened: what the visitor was told."""
    texts = page.locator("[data-testid='stAlert'], [data-testid='stException']").all_inner_texts()
    return " | ".join(t.replace("\n", " ")[:200] for t in texts)[:600] or "(no message)"


def click_train(page) -> None:
    button = page.get_by_role("button", name=re.compile(r"^\W*Train$"))
    if button.count() and button.first.is_enabled():
        button.first.click()


def send_upload(page, server, size_mb: int, candidates: list[str]) -> str:
    """PUT `size_mb` of CSV straight to the upload endpoint, as a script would: the session id is
    the UUID of the page's websocket traffic that the endpoint accepts, the XSRF token its cookie."""
    for session in dict.fromkeys(candidates):
        if put_file(page, server, session, 0).startswith("HTTP 2"):
            return put_file(page, server, session, size_mb)
    return "no session id found"


def put_file(page, server, session: str, size_mb: int) -> str:
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    body = b"a,b\n" + b"1,2\n" * (size_mb * 1024 * 1024 // 4)
    boundary = "----rnnlab"
    payload = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.csv\"\r\n"
               f"Content-Type: text/csv\r\n\r\n").encode() + body + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(f"{server.url}/_stcore/upload_file/{session}/bench-file", data=payload,
                                     method="PUT")
    request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    xsrf = cookies.get("_streamlit_xsrf")
    if xsrf:
        request.add_header("X-Xsrftoken", xsrf)
        request.add_header("Cookie", f"_streamlit_xsrf={xsrf}")
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            return f"HTTP {answer.status}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code} {exc.read()[:80]!r}"
    except OSError as exc:
        return f"refused: {exc}"


def run_case(browser, name: str, app_dir: Path) -> dict:
    server = live.Server(app_dir, live.free_port())
    try:
        server.wait_healthy()
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        sessions: list[str] = []
        page.on("websocket", lambda ws: ws.on("framereceived", lambda frame: sessions.extend(
            m.decode() for m in UUID.findall(frame if isinstance(frame, bytes) else frame.encode()))))
        page.goto(server.url + "/")
        live.wait_idle(page)
        time.sleep(2)
        before = memory(server)
        sampler = live.PeakSampler(server.pid)
        sampler.start()
        if name in CASES:
            page.goto(server.url + CASES[name])
            live.wait_idle(page)
            click_train(page)
            time.sleep(8)
            live.wait_idle(page)
            said = page_text(page)
        elif name == "upload":
            said = send_upload(page, server, 150, sessions)
        elif name == "model":
            page.goto(server.url + "/runs")
            live.wait_idle(page)
            page.locator("[data-testid='stButtonGroup'] button", has_text="Import").first.click()
            live.wait_idle(page)
            path = Path(server.tmp) / "hostile.keras"
            path.write_bytes(hostile_keras())
            page.locator("input[type='file']").first.set_input_files(str(path))
            time.sleep(10)
            live.wait_idle(page)
            said = page_text(page)
        else:
            raise SystemExit(f"unknown case {name}")
        time.sleep(5)
        after = memory(server)
        sampler.stop()
        peak = sampler.peak_pss
        live.screenshot(page, f"hostile-{name}")
        context.close()
        return {"case": name, "before": before, "after": after, "peak": peak, "said": said,
                "alive": server.proc.poll() is None}
    finally:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="windows,features,params,upload,model")
    parser.add_argument("--app-dir", default=str(ROOT))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = live.launch_browser(pw)
        live.report("| input | server RSS before | after (+5 s) | server+workers PSS before | after | peak PSS | alive | the page said |")
        live.report("|---|---|---|---|---|---|---|---|")
        for name in args.only.split(","):
            live.log(f"case {name}")
            r = run_case(browser, name, Path(args.app_dir))
            peak = f"{r['peak']:.0f} MB" if isinstance(r["peak"], (int, float)) else str(r["peak"])
            live.report(f"| {name} | {r['before'][0]:.0f} MB | {r['after'][0]:.0f} MB | {r['before'][1]:.0f} MB | "
                        f"{r['after'][1]:.0f} MB | {peak} | {'yes' if r['alive'] else 'NO'} | {r['said']} |")
        browser.close()


if __name__ == "__main__":
    main()
