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
