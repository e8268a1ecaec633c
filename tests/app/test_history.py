"""History says what each run is: a kind column and a filter, a sweep's and a backtest's runs folded
under one row, the uploaded file's own name, and Compare starting with runs that share their targets."""
from __future__ import annotations

import json

from core import runs

from ..conftest import tiny_spec
from .helpers import new_app

TOKEN = "history-test-token"


def _run(root, run_id, spec, rmse, saved_at, **tags):
    """A finished run directory as the worker leaves it (no model: History reads only these files)."""
    path = root / run_id
    path.mkdir(parents=True)
    (path / "spec.json").write_text(spec.to_json())
    (path / "metrics.json").write_text(json.dumps({"test": {"rmse": rmse}, "baselines": {"naive": {"rmse": 1.0}}}))
    (path / "history.csv").write_text("epoch,loss,val_loss\n1,0.5,0.6\n")
    info = {"run_id": run_id, "status": "finished", "message": "finished 1 epoch", "epoch": 1, "epochs": 1,
            "saved_at": saved_at, "workspace": runs.workspace_id(TOKEN)}
    if tags.pop("imported", None):
        info["imported"] = "bundle"
    (path / "run.json").write_text(json.dumps(info))
    for name, tag in tags.items():
        (path / f"{name}.json").write_text(json.dumps(tag))


def test_history_says_what_made_each_run_and_compares_like_with_like(run_store):
    base = tiny_spec()
    upload = tiny_spec(data={"source": "csv", "name": None, "path": "/srv/cache/uploads/ab/f04333894d96-AAPL.csv"})
    _run(run_store, "r-single-old", base, 0.9, "2026-01-01T10:00:00")
    _run(run_store, "r-single-new", base, 0.8, "2026-01-01T10:05:00")
    _run(run_store, "r-race", base.replace(model={"cell": "GRU"}), 0.7, "2026-01-01T10:06:00", race={"race": "r-race"})
    _run(run_store, "r-csv", upload, 0.6, "2026-01-01T10:07:00", imported=True)
    for n in (1, 2):
        _run(run_store, f"r-trial-{n}", base, 0.5 + n / 10, f"2026-01-01T10:1{n}:00",
             sweep={"study": "app-s1", "trial": n})
        _run(run_store, f"r-fold-{n}", base.replace(data={"end": f"2018-0{6 + n}-01"}), 0.4, f"2026-01-01T10:2{n}:00",
             fold={"backtest": "bt-1", "fold": n, "folds": 2})
    for n, seed in enumerate((7, 8)):  # a repeat with two seeds (Train's Repeat with 3 seeds, train --seeds N)
        _run(run_store, f"r-seed-{seed}", base.replace(train={"seed": seed}), 0.3 + n, f"2026-01-01T10:0{8 + n}:00",
             seed={"group": "seeds-x1", "seed": seed, "index": n, "of": 2})
    at = new_app(base, ws=TOKEN)
    at.run()
    at.switch_page("pages/runs.py").run()
    assert not at.exception, at.exception

    show = at.selectbox(key="runs_view")
    assert show.options == ["everything", "single runs", "cell races", "imported", "backtest bt-1", "sweep app-s1",
                            "seeds-x1"]
    main = at.dataframe[0].value
    assert list(main["run"]) == ["r-csv", "r-race", "r-single-new", "r-single-old"]  # the trials and folds are folded
    assert list(main["kind"]) == ["imported", "race", "single", "single"]
    assert main.set_index("run").loc["r-csv", "data"] == "AAPL.csv"  # the name uploaded, not the stored one
    folded = [e.label for e in at.expander]
    assert any(label.startswith("backtest bt-1: 2 folds, the model beat persistence in 2 of 2") for label in folded)
    assert any(label.startswith("sweep app-s1: 2 trials, best test RMSE 0.6") for label in folded)
    assert any(label.startswith("seeds-x1: 2 seeds, the model beat persistence in 1 of 2") for label in folded)
    # The newest run is a backtest fold: Compare starts with it alone, not with the other fold (other targets).
    assert at.multiselect(key="runs_compare:everything").value == ["r-fold-2"]

    at.selectbox(key="runs_one").set_value("r-race").run()  # a run that the next filter leaves out
    show.set_value("single runs").run()
    assert not at.exception, at.exception
    assert list(at.dataframe[0].value["run"]) == ["r-single-new", "r-single-old"]
    assert at.selectbox(key="runs_one").value in ("r-single-new", "r-single-old")
    assert at.multiselect(key="runs_compare:single runs").value == ["r-single-new", "r-single-old"]  # same targets
    at.selectbox(key="runs_view").set_value("sweep app-s1").run()
    assert list(at.dataframe[0].value["kind"]) == ["sweep trial 2", "sweep trial 1"]
    at.selectbox(key="runs_view").set_value("backtest bt-1").run()
    assert list(at.dataframe[0].value["kind"]) == ["backtest fold 2", "backtest fold 1"]
    at.selectbox(key="runs_view").set_value("seeds-x1").run()
    assert list(at.dataframe[0].value["kind"]) == ["seed 8", "seed 7"]
