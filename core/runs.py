"""The run store on disk: one directory per run.

The store's parts live in core/runstore/, each with one job: files.py (names, ids, where runs live, whether one has
ended), write.py (queued, saved, ended), read.py (a run read back, live or finished), listing.py
(the list, ownership, what made a run, delete), bundles.py (export, import of bundles and models),
submit.py (one way to queue a run in the pool). Callers import them from here: `runs.read_run(...)`.

Layout of a run directory (a public interface; files are only ever added):

    spec.json         the full spec, defaults filled in
    history.csv       epoch, loss, val_loss (one row per completed epoch; losses in scaled units)
    predictions.csv   date, split, truth, prediction, naive (one row per val/test target, original units);
                      classification adds p_<class> per class (truth/prediction/naive are label
                      indices), the autoencoder adds window_error
    metrics.json      regression (evaluate.Evaluator.report): "test" and "val" {"mse", "rmse", "mae",
                      "mape", "smape", "mase", "direction"} in original units (percentages in
                      percent; null where undefined), "baselines" and "val_baselines" {"naive",
                      "seasonal_naive", "moving_average", "linear": {the same keys}} (the autoencoder
                      and horizon 0 keep fewer), "lag", "lag_clear", "naive_lag", "up_share",
                      "lag_correlations" {"-5" .. "5": r}, "bias", "error_spread", "season", "season_how", "naive_name";
                      and "test_by_step" [{"step", "rmse", "mae", "naive_rmse", "windows"}, ...]
                      when the mode forecasts. Classification (evaluate.ClassEvaluator.report):
                      "task", "classes", "naive_name", "test"/"val" {"accuracy", "log_loss"},
                      "baselines"/"val_baselines" {"naive", and "majority" unless naive already is
                      the majority class}, "confusion" (test, rows = true class)
    run.json          run_id, status, message, epoch, epochs, elapsed_seconds, saved_at (written
                      last: a directory with run.json is complete)
    model.keras       the trained Keras model (the last good weights)
    forecast.csv      date, forecast: values past the end of the data (when the mode can forecast)
    gates.npz         "<layer name>/<gate>" -> (time steps, units) float32: every gate and state of
                      every recurrent layer over the first test window, final weights (core/gates.py)
    weights.npz       "epoch_<n>/<i>" -> model.get_weights()[i] after epoch n (0: before training),
                      for the epochs the job kept (see TrainingJob.weight_history)
    started.json      run_id, workspace, started_at, written when the run is queued: a directory
                      with started.json, no run.json and no live worker was interrupted
    live.json         the run while it is queued or trains (core/livefiles.py): status, epoch,
                      batch of batches, pid, host, updated_at, queue position, ...
    stop              a request to stop: the worker stops after its current batch
    sweep.json, fold.json, race.json
                      what made the run, when something did: a sweep's trial, a backtest's fold, a
                      cell race's cell (see made_by)

A memory race (core/memory_race.py) is a run directory too, tagged by memory_race.json (its
settings) with results.csv instead of a model: started.json, live.json, stop and run.json as above.

While a run trains, history.csv, predictions.csv, metrics.json and weights.npz are kept current,
each replaced atomically, so `read_run` reads a live run exactly as a finished one.

run.json also holds "workspace": a hash of the workspace token of the browser session that made
the run (null for the command line). The app lists, opens and deletes only its own workspace's runs.
"""
from __future__ import annotations

from .runstore.files import (  # noqa: F401  (the store's names, as callers use them: runs.<name>)
    PREDICTION_COLUMNS, new_run_id, default_root, HISTORY_COLUMNS, workspace_id, RACE_FILE, RACE_RESULTS,
    RUN_FILES, discard, has_state, has_ended, valid_id, owner, CELL_RACE_FILE,
)
from .runstore.write import (  # noqa: F401  (the store's names, as callers use them: runs.<name>)
    predictions_frame, history_frame, write_spec, mark_started, save, RunNotSaved, metrics_json, flat_weights,
    mark_ended, save_gates, mark_status,
)
from .runstore.submit import claim, submit  # noqa: F401
from .snapshot import (  # noqa: F401  (a run's statuses, as the store writes and reads them)
    ACTIVE, ENDED, FAILED, FINISHED, INTERRUPTED, PRUNED, QUEUED, RUNNING, STOPPED, WORKER_DIED,
)
from .runstore.read import (  # noqa: F401  (the store's names, as callers use them: runs.<name>)
    weight_history, read_run, DOWNLOADS, read_spec, read_history, read_predictions, imported_as, file_version,
    SHOWN_FILES, version, ended_because, sweep_info, has_model, load_model, downloads, read_download,
)
from .runstore.listing import (  # noqa: F401  (the store's names, as callers use them: runs.<name>)
    interrupted, find, list_runs, summary, KINDS, made_by, targets_key, delete, _gone_already,
)
from .runstore.bundles import (  # noqa: F401  (the store's names, as callers use them: runs.<name>)
    BUNDLE_FILES, bundle, load_model_safely, NOT_RECURRENT, import_model, import_bundle, ImportRefused,
    check_size, max_model_bytes,
)
