"""Uploads on the Data page go to the workspace's folder of the upload store, within its quota."""
from __future__ import annotations

from core import data, runs

from .test_data_page import EURO_CSV, data_page, errors, upload


def test_an_upload_is_kept_in_the_workspace_folder_and_a_useless_one_is_not_kept():
    at = upload(data_page(), "euro.csv", EURO_CSV.encode("utf-8"))
    path = at.session_state["spec"].data.path
    workspace = runs.workspace_id(at.session_state["workspace"])
    assert str(data.uploads_dir() / workspace) in path
    upload(at, "broken.csv", b"date,name\n2020-01-01,a\n2020-01-02,b\n")
    assert "no numeric column" in errors(at)
    assert [p.name.endswith("-euro.csv") for p in (data.uploads_dir() / workspace).iterdir()] == [True]


def test_a_full_workspace_says_so_and_can_make_room(monkeypatch):
    monkeypatch.setenv("RNNLAB_UPLOAD_QUOTA_MB", str(len(EURO_CSV) * 2.5 / 2 ** 20))  # room for two files
    files = [(f"{name}.csv", EURO_CSV.replace("Schluss", name).encode("utf-8")) for name in ("A", "B", "C")]
    at = upload(data_page(), *files[0])
    at = upload(at, *files[1])
    in_use = at.session_state["spec"].data.path
    at = upload(at, *files[2])
    assert "C.csv" in errors(at) and "RNNLAB_UPLOAD_QUOTA_MB" in errors(at) and "previous data is kept" in errors(at)
    assert at.session_state["spec"].data.path == in_use
    at.button(key=[b.key for b in at.button if b.label == "Delete my earlier uploads"][0]).click().run()
    assert errors(at) == "" and at.session_state["spec"].data.path.endswith("-C.csv")  # stored on the rerun
    folder = data.uploads_dir() / runs.workspace_id(at.session_state["workspace"])
    assert sorted(p.name.split("-", 1)[1] for p in folder.iterdir()) == ["B.csv", "C.csv"]


def test_a_link_names_an_upload_by_its_id_and_a_visitor_without_it_is_told_so():
    from .helpers import new_app

    at = upload(data_page(), "euro.csv", EURO_CSV.encode("utf-8"))
    at.run()  # the address is written after the page draws
    query = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert "data.path" not in query and "data.name" not in query
    assert query["data.upload"].endswith("-euro.csv") and len(query["data.upload"]) == len("0123456789ab-euro.csv")
    assert not any(str(data.uploads_dir()) in v or v.startswith("/") for v in query.values())  # no server path

    mine = new_app(**query)  # the same workspace (its ws in the address): a refresh reads the upload again
    mine.run()
    assert mine.session_state["spec"].data.path.endswith(query["data.upload"])
    assert not any("does not have" in w.value for w in mine.warning), [w.value for w in mine.warning]

    shared = {k: v for k, v in query.items() if k not in ("ws", "run")}  # a share link: another visitor
    other = new_app(**shared)
    other.run()
    assert not other.exception, other.exception
    message = " ".join(w.value for w in other.warning)
    assert "euro.csv, which this workspace does not have" in message and "Upload euro.csv on the Data page" in message
    assert other.session_state["spec"].data.source != "csv"  # the default data, not a path that is not there
