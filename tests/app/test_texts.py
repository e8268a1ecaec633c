"""Small texts the pages show, asserted on their functions."""
from ui.runs_views import status_text


def test_a_status_is_not_said_twice():
    assert status_text("finished", "finished 4 epochs") == "finished 4 epochs"
    assert status_text("stopped", "stopped at epoch 2 of 20") == "stopped at epoch 2 of 20"
    assert status_text("failed", "training failed (ValueError: x)") == "training failed (ValueError: x)"
    assert status_text("interrupted", "the app stopped before this run ended") == (
        "interrupted: the app stopped before this run ended")
    assert status_text("running", "") == "running"


def test_follow_training_says_which_epoch_the_heatmaps_show_and_why_it_trails():
    from ui.inspect_views import follow_caption

    assert follow_caption(10, 10).startswith("Weights after epoch 10, the newest kept.")
    trailing = follow_caption(10, 11)
    assert "epoch 10" in trailing and "finished epoch 11" in trailing  # no bare "Epoch 11" over an epoch-10 heatmap


def test_the_trials_table_shows_each_trials_settings_first_and_no_empty_column_or_none():
    import pandas as pd

    from ui.sweep_views import trials_frame

    rows = [{"trial": 0, "state": "complete", "value": 0.01234, "run": "r0", "seconds": 3.21, "pruned at epoch": None,
             "note": "", "cell": "GRU", "units": "16", "learning_rate": 0.001},
            {"trial": 1, "state": "running", "value": None, "run": "r1", "seconds": None, "pruned at epoch": None,
             "note": "", "cell": "LSTM", "units": "8", "learning_rate": 0.01}]
    shown = trials_frame(pd.DataFrame(rows), "val_rmse")
    assert list(shown.columns) == ["trial", "state", "val_rmse", "cell", "units", "learning_rate", "seconds", "run"]
    assert shown.loc[0, "val_rmse"] == "0.0123" and shown.loc[1, "val_rmse"] == "" and shown.loc[1, "seconds"] == ""
    assert not shown.isna().any().any()
