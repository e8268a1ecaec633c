"""The address: the visitor's workspace token, the current run and the setup, all in the URL.

The URL carries `?ws=<token>&run=<id>&model.cell=GRU&...`, so a refresh or a bookmark finds the
same workspace, run and setup. A share link carries only the setup (never `ws`), so it gives no
access to anyone's runs.
"""
from __future__ import annotations

import re
import secrets

import streamlit as st

from core import data, describe, runs, uploads
from core.errors import sentence
from core.spec import ExperimentSpec, SpecError

from . import spec_state

WS_PARAM, RUN_PARAM = "ws", "run"
UPLOAD_PARAM = "data.upload"  # an uploaded CSV by its id (core/uploads.py), in place of data.path: no server path in a link
RUN_KEY = "run_id"  # st.session_state: the id of the session's current run
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def workspace_token() -> str:
    """This visitor's workspace token: from ?ws= in the URL, or a new random one.

    Runs are stored with a hash of it, and the app lists, opens and deletes only the runs of the
    session's workspace, so on a shared deployment no visitor sees another's runs. The token
    stays in the URL, so a refresh or a bookmark keeps the runs; sharing a setup uses a link
    without it (see share_link).
    """
    token = st.session_state.get("workspace")
    if token is None:
        given = st.query_params.get(WS_PARAM)
        token = given if given and _TOKEN.match(given) else secrets.token_urlsafe(12)
        st.session_state["workspace"] = token
    return token


def workspace() -> str:
    """The workspace id runs of this session are stored under (a hash of the token)."""
    return runs.workspace_id(workspace_token())


def _param_of(field: str | None, params: dict[str, str]) -> str | None:
    """The link parameter a SpecError's field comes from ("model.units[1]" -> "model.units")."""
    for key in params:
        if field == key or (field or "").startswith((key + ".", key + "[")):
            return key
    return None


def spec_of_link() -> ExperimentSpec | None:
    """The setup in the URL's query parameters ("model.cell=GRU&..."): a share link, or this
    visitor's own address after a refresh (the URL always carries the current setup).

    A bad value does not throw the link away: that field keeps its default and the rest of the
    link is used. Sets st.session_state["link_message"] to what app.py tells the visitor: the
    link's setup was opened, which fields were left out and why, or why none of it could be used."""
    params = {key: st.query_params[key] for key in st.query_params if "." in key}
    if not params:
        return None
    shared = WS_PARAM not in st.query_params  # a refresh has the visitor's ws; a share link never does
    lacking = _upload_of_link(params)
    left_out: list[str] = []
    while True:
        try:
            spec = data.check_outside_spec(ExperimentSpec.from_query(params))
            break
        except SpecError as exc:
            why = sentence(str(exc))
            key = _param_of(exc.field, params)
            if key is None:  # a rule across fields that no single value of the link explains
                for name in [*params, *(k for k, _ in left_out)]:
                    st.query_params.pop(name, None)
                # The first value left out is the cause when leaving it out broke a rule (a CSV source without its path).
                cause = left_out[0][1] if left_out else _named(exc.field, why)
                st.session_state["link_message"] = ("error", f"The link's setup could not be used: {cause} Starting "
                                                             "from the defaults instead.")
                return None
            left_out.append((key, _named(key, why)))
            del params[key]
            st.query_params.pop(key, None)
    if lacking:
        st.session_state["link_message"] = (
            "warning", f"The link's data is a file uploaded to this app, {lacking}, which this workspace does not have "
                       "(it was uploaded in another browser, or deleted after "
                       f"{uploads.max_age_days():g} days), so the default data is used. Upload {lacking} on the Data "
                       f"page to use it; the rest of the setup is the link's: {describe.describe(spec)}.")
    elif left_out:
        fields = "; ".join(why for _, why in left_out)
        st.session_state["link_message"] = ("warning", f"Opened the link's setup without {len(left_out)} value"
                                                       f"{'s' if len(left_out) != 1 else ''} it could not use, which "
                                                       f"keep their defaults: {fields} The rest is the link's: "
                                                       f"{describe.describe(spec)}.")
    elif shared:
        st.session_state["link_message"] = ("ok", f"Opened a shared setup: {describe.describe(spec)}.")
    return spec


def _upload_of_link(params: dict[str, str]) -> str | None:
    """Turn the link's upload id (data.upload) into the stored file's path in `params`, in place.
    When this workspace lacks that upload, the link's data fields are dropped (they describe a file
    that is not here) and the name the visitor gave the file is returned, for the message."""
    upload = params.pop(UPLOAD_PARAM, None)
    if upload is None:
        return None
    path = uploads.find(data.uploads_dir(), workspace(), upload)
    if path is not None:
        params["data.path"] = str(path)
        params.setdefault("data.name", "")  # a CSV has no built-in name (a link leaves the empty one out)
        return None
    for key in [k for k in params if k.startswith("data.")]:
        del params[key]
    for key in [k for k in st.query_params if k.startswith("data.")]:
        st.query_params.pop(key, None)
    return uploads.shown_name(upload) or "(no name)"


def link_query(spec: ExperimentSpec) -> dict[str, str]:
    """`spec`'s link parameters, with an uploaded CSV named by its id (data.upload), never by the
    server's path, and without the empty data.name a CSV source has."""
    query = spec.to_query()
    if spec.data.source == "csv" or spec.data.path:
        upload = uploads.upload_id(spec.data.path, data.uploads_dir())
        query.pop("data.path", None)
        if upload:
            query[UPLOAD_PARAM] = upload
        if not spec.data.name:
            query.pop("data.name", None)
    return query


def _named(field: str | None, why: str) -> str:
    """"model.cell: unknown cell ..." so a person knows which value in the link to fix."""
    return f"{field}: {why[:1].lower()}{why[1:]}" if field else why


def _sync_spec_params() -> None:
    """Write the current setup into the URL (only fields that differ from the defaults)."""
    wanted = link_query(spec_state.get_spec())
    present = {key: st.query_params[key] for key in st.query_params if "." in key}
    if present == wanted:
        return
    for key in present:
        if key not in wanted:
            del st.query_params[key]
    for key, value in wanted.items():
        if present.get(key) != value:
            st.query_params[key] = value


def share_link(spec: ExperimentSpec) -> str:
    """A link that opens the app with `spec`'s whole configuration (and not this visitor's runs)."""
    from urllib.parse import urlencode

    base = (st.context.url or "http://localhost:8501/").split("?")[0]
    query = urlencode(link_query(spec))
    return base + ("?" + query if query else "")


def keep_run_in_url() -> None:
    """Put this session's workspace token, run id and setup in the URL (?ws=, ?run=, ?model.cell=...),
    which a page switch clears."""
    _sync_spec_params()
    token = workspace_token()
    if st.query_params.get(WS_PARAM) != token:
        st.query_params[WS_PARAM] = token
    run_id = st.session_state.get(RUN_KEY)
    if run_id is not None and st.query_params.get(RUN_PARAM) != run_id:
        st.query_params[RUN_PARAM] = run_id


def url_run_id() -> str | None:
    """The run this session shows: the one it trained or opened, else ?run= in the URL."""
    return st.session_state.get(RUN_KEY) or st.query_params.get(RUN_PARAM)


def show_run(run_id: str | None) -> None:
    """Make `run_id` the session's run and put it in the URL (None: no run)."""
    if run_id is None:
        st.session_state.pop(RUN_KEY, None)
        st.query_params.pop(RUN_PARAM, None)
    else:
        st.session_state[RUN_KEY] = run_id
        st.query_params[RUN_PARAM] = run_id
