"""The upload store (core/uploads.py): quotas per workspace and in all, an age, the size cap; and the
per-session memory budget ui/patches.py puts on Streamlit's uploaded files."""
from __future__ import annotations

import os
import time

import pytest

from core import uploads
from core.errors import DataError

WS, OTHER = "a" * 20, "b" * 20  # workspace ids as runs.workspace_id makes them
CSV = b"date,close\n2020-01-01,1\n2020-01-02,2\n"


def test_an_upload_is_stored_once_in_its_workspace_folder(tmp_path):
    path = uploads.store(CSV, "my prices.csv", tmp_path, WS)
    assert path.parent == tmp_path / WS and path.name == f"{uploads.digest(CSV)}-my_prices.csv"
    assert path.read_bytes() == CSV
    os.utime(path, (1, 1))
    assert uploads.store(CSV, "my prices.csv", tmp_path, WS) == path and path.stat().st_mtime > 1  # its age restarts
    assert len(list(tmp_path.rglob("*.csv"))) == 1
    assert uploads.store(CSV, "x.csv", tmp_path, "../../etc").parent == tmp_path / uploads.SHARED  # no other folder


def test_a_workspace_over_its_quota_is_refused_and_nothing_is_saved(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNLAB_UPLOAD_QUOTA_MB", "0.001")  # 1,048 bytes
    uploads.store(b"x" * 600, "one.csv", tmp_path, WS)
    with pytest.raises(uploads.QuotaFull, match=r"two.csv \(0.0 MB\) was not saved: this workspace's uploads already "
                                                r"take 0.0 MB of its 0.0 MB \(RNNLAB_UPLOAD_QUOTA_MB\)") as refused:
        uploads.store(b"y" * 600, "two.csv", tmp_path, WS)
    assert refused.value.mine and "deleted 30 days after" in str(refused.value)
    assert [p.name.split("-", 1)[1] for p in (tmp_path / WS).iterdir()] == ["one.csv"]
    uploads.store(b"y" * 600, "two.csv", tmp_path, OTHER)  # another workspace has its own quota


def test_the_total_quota_bounds_all_workspaces_together(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNLAB_UPLOAD_TOTAL_MB", "0.001")
    uploads.store(b"x" * 600, "one.csv", tmp_path, WS)
    with pytest.raises(uploads.QuotaFull, match=r"the server's space for uploads is full .*RNNLAB_UPLOAD_TOTAL_MB") \
            as refused:
        uploads.store(b"y" * 600, "two.csv", tmp_path, OTHER)
    assert not refused.value.mine and not (tmp_path / OTHER).exists()


def test_uploads_older_than_their_age_are_deleted_and_make_room(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNLAB_UPLOAD_DAYS", "2")
    monkeypatch.setenv("RNNLAB_UPLOAD_TOTAL_MB", "0.001")
    old = uploads.store(b"x" * 600, "old.csv", tmp_path, WS)
    legacy = tmp_path / "0123456789ab-legacy.csv"  # stored before workspaces had folders
    legacy.write_bytes(b"z" * 10)
    three_days = time.time() - 3 * 86400
    for path in (old, legacy):
        os.utime(path, (three_days, three_days))
    young = uploads.store(b"y" * 600, "young.csv", tmp_path, OTHER)  # fits once the old one is gone
    assert not old.exists() and not legacy.exists() and young.exists()
    assert not (tmp_path / WS).exists()  # its empty folder went too
    assert uploads.prune(tmp_path, now=time.time() + 3 * 86400) == 1 and not young.exists()


def test_deleting_my_earlier_uploads_keeps_the_one_in_use_and_others_workspaces(tmp_path):
    keep = uploads.store(b"1" * 10, "a.csv", tmp_path, WS)
    gone = uploads.store(b"2" * 10, "b.csv", tmp_path, WS)
    theirs = uploads.store(b"3" * 10, "c.csv", tmp_path, OTHER)
    assert uploads.delete_others(tmp_path, WS, keep=str(keep)) == 1
    assert keep.exists() and not gone.exists() and theirs.exists()


def test_a_file_over_the_size_cap_is_refused_before_it_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNLAB_MAX_CSV_MB", "0.0001")
    with pytest.raises(DataError, match="over the 0 MB limit.*RNNLAB_MAX_CSV_MB"):
        uploads.store(b"x" * 1000, "big.csv", tmp_path, WS)
    assert not any(tmp_path.rglob("*"))


@pytest.mark.parametrize("value", ["", "abc", "-5", "0", "nan", "inf"])
def test_a_cap_that_is_not_a_positive_number_falls_back_to_its_default(monkeypatch, value):
    monkeypatch.setenv("RNNLAB_UPLOAD_QUOTA_MB", value)
    assert uploads.quota_bytes() == uploads.DEFAULT_QUOTA_MB * 2 ** 20


def test_a_session_keeps_only_its_upload_budget_in_memory(monkeypatch):
    """Streamlit kept every file PUT to a session, under any file id, until the session ended."""
    from starlette.exceptions import HTTPException
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
    from streamlit.runtime.uploaded_file_manager import UploadedFileRec

    from ui import patches

    monkeypatch.setattr(MemoryUploadedFileManager, "add_file", MemoryUploadedFileManager.add_file)  # undone after
    patches.bound_session_uploads()
    monkeypatch.setenv("RNNLAB_UPLOAD_SESSION_MB", "0.001")  # 1,048 bytes
    manager = MemoryUploadedFileManager("/_stcore/upload_file")
    for i in range(5):
        manager.add_file("s1", UploadedFileRec(f"f{i}", "x.csv", "text/csv", b"x" * 400))
    assert list(manager.file_storage["s1"]) == ["f3", "f4"]  # the older files made room
    manager.add_file("s2", UploadedFileRec("g", "x.csv", "text/csv", b"x" * 400))  # sessions are apart
    assert len(manager.file_storage["s1"]) == 2 and len(manager.file_storage["s2"]) == 1
    with pytest.raises(HTTPException) as refused:
        manager.add_file("s1", UploadedFileRec("big", "x.csv", "text/csv", b"x" * 2000))
    assert refused.value.status_code == 413 and "RNNLAB_UPLOAD_SESSION_MB" in refused.value.detail
    assert list(manager.file_storage["s1"]) == ["f3", "f4"]


def test_a_run_whose_upload_aged_out_says_to_upload_it_again(tmp_path):
    from core import csvfile

    path = uploads.store(CSV, "prices.csv", tmp_path, WS)
    path.unlink()
    with pytest.raises(DataError, match=r"the uploaded file prices.csv is no longer on the server .*RNNLAB_UPLOAD_DAYS"
                                        r"\). Upload it again on the Data page"):
        csvfile.read_path(path)


def test_an_upload_id_names_a_stored_file_of_the_workspace_and_never_a_path(tmp_path):
    stored = uploads.store(b"date,x\n2020-01-01,1\n2020-01-02,2\n", "my prices.csv", tmp_path, "ab" * 8)
    upload = uploads.upload_id(stored, tmp_path)
    assert upload == stored.name and "/" not in upload and uploads.shown_name(upload) == "my_prices.csv"
    assert uploads.find(tmp_path, "ab" * 8, upload) == stored
    assert uploads.find(tmp_path, "cd" * 8, upload) is None  # another workspace does not have it
    for hostile in ("../" + upload, "/etc/passwd", "0123456789ab-../../x", ""):
        assert uploads.find(tmp_path, "ab" * 8, hostile) is None
    assert uploads.upload_id("/etc/passwd", tmp_path) is None
