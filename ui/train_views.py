"""The live training view (Train and Presets pages) and the views special to some presets:
classification (accuracy, class probabilities, confusion matrix), the autoencoder's
reconstruction error, typed letters for next-letter models and digits read row by row."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core import cells, charts, mode_texts, sources
from core.describe import escape
from core.spec import ExperimentSpec
from core.snapshot import FAILED, INTERRUPTED
from ui import loads, present, views

LIVE_POINTS = 600  # points per line while the chart redraws every few seconds; all 2000 once the run ends
LETTERS_HELP = "Letters the model knows; it reads the last letters you type, up to its window length."


def failed(run) -> bool:
    """Whether `run` ended in failure (a NaN loss, an error): its weights never trained, or trained
    into a blow-up, so nothing computed from them (predictions, metrics, forecast) is worth showing."""
    return run.snapshot().status in (FAILED, INTERRUPTED)  # interrupted: its worker died, no model


# Seconds between the live view's polls of the run directory. Quick while the user waits for
# something to happen (the first loss point; the end, from the last epoch on, and after Stop:
# measured, a 1 s poll added about half a second to each on average), slower while epochs come
# in, so the browser's redraws leave the CPU to the worker (bench/live.py: Chromium's redraws cost
# about 1 CPU-second per epoch of the default spec).
QUICK_POLL, POLL = 0.25, 1.0


def poll_seconds(run, was_running: bool, snap=None) -> float | None:
    """How often the live view of `run` polls: None once it has ended. snap: the run's snapshot when
    the caller has just read it (each read looks at the run's files)."""
    if not was_running:
        return None
    snap = snap or run.snapshot()
    waiting = snap.epoch == 0 or snap.epoch >= snap.epochs - 1 or run.stopping
    return QUICK_POLL if waiting else POLL


def show_live(run, was_running: bool, key: str = "", compact: bool = False) -> None:
    """The live view of `run` as a fragment that polls the run directory while it trains.

    compact: presentation mode: the status in one line and the charts right under it, in large
    type, with the chart options below them, so the charts fit a 1280x720 first screen."""
    every = poll_seconds(run, was_running)
    st.fragment(live_view, run_every=every)(run, key, was_running=was_running, every=every, compact=compact)


def stop_button(where=st, key: str = "stop") -> None:
    """Stop, wherever Train is (Train, Presets, presentation mode): halts this session's run after the
    current batch. Disabled while nothing trains or a Stop is already on its way; the page reruns in
    full when the run ends (see live_view), which updates it."""
    run = _session_run()
    busy = run is not None and run.snapshot().running
    where.button("Stop", icon=":material/stop:", key=key, on_click=_stop, disabled=not busy or run.stopping,
                 help=None if present.on() else "Halt after the current batch. The history so far and the model are "
                                                 "kept.")


def _session_run():
    from ui import session_runs

    return session_runs.current()


def _stop() -> None:
    run = _session_run()
    if run is not None and run.snapshot().running:
        run.stop()
        st.toast("Stopping: the current batch ends, then the run is saved.", icon=":material/stop:")
    else:
        st.toast("Nothing is training right now, so there is nothing to stop.", icon=":material/info:")


def compact_progress(snap) -> None:
    """The progress bar with the status in its one line of text (presentation mode); a queued or
    failed run keeps the full status box, whose words say what to do."""
    if snap.queued or snap.status in (FAILED, INTERRUPTED):
        views.progress(snap)
        return
    if snap.running:
        eta = f"ETA {views._duration(snap.eta)}" if snap.eta is not None else "ETA after epoch 2"
        text = f"Epoch {snap.epoch} of {snap.epochs} · {eta}"
    else:
        text = f"Status: {snap.message}"  # e.g. "stopped at epoch 6 of 30", as the Train page says it
    st.progress(snap.progress, text=text)


def live_view(run, key: str = "", was_running: bool = False, every: float | None = None, compact: bool = False) -> None:
    """Progress, loss (and accuracy), predictions and metrics of `run`, from its latest snapshot;
    for a failed run only the failure, its advice and the loss up to it.

    was_running: the run was training when the page last ran in full; once it has ended, the
    whole page reruns (this view polls as a fragment) to show what a finished run offers.
    every: the fragment's poll interval; when poll_seconds would now choose another (the first epoch
    is in: slower; the last epoch began or Stop was asked: quicker), the page reruns once to change it.
    compact: see show_live."""
    snap = run.snapshot()
    spec = run.spec
    (compact_progress if compact else views.progress)(snap)
    # The charts come first, the options that change them right under them, then the metrics: at 1280x720
    # the charts start about 50 px higher (in presentation mode the whole chart fits the first screen).
    charts_here, opts, rest = st.container(), st.container().columns(2), st.container()
    log_y = opts[0].toggle("Log-scale loss", key=f"log_loss{key}",
                           help="Show the loss on a log axis: late epochs stay readable.")
    paused = opts[1].toggle("Pause live updates", key=f"pause-{run.run_id}{key}", disabled=not snap.running,
                            help="Charts reset their zoom whenever new data arrives. Pause to zoom and hover.")
    if paused and snap.running:  # draw the snapshot taken when the pause began
        snap = st.session_state.setdefault(f"paused-{run.run_id}", snap)
    else:
        st.session_state.pop(f"paused-{run.run_id}", None)
    if snap.status in (FAILED, INTERRUPTED):
        with charts_here:
            failure_view(run, snap, log_y, key)
    else:
        _training_view(run, snap, spec, log_y, key, compact, charts_here, rest)
    now = run.snapshot()
    if was_running and (not now.running or poll_seconds(run, True, now) != every):
        st.rerun()


def _loss_chart(run, snap, log_y: bool, key: str, where=st, big: bool = False) -> None:
    spec = run.spec
    loss_name = {"mse": "MSE", "mae": "MAE", "huber": "Huber", "crossentropy": "cross-entropy"}[spec.train.loss]
    loss_fig = views.figure_once(("loss", run.run_id, snap.epoch, log_y, big),
                                 lambda: _sized(_few_epoch_ticks(charts.loss_figure(snap.history, log_y, loss_name + (
                                     "" if spec.model.task == "classification" else " (scaled units)"))), big))
    where.plotly_chart(loss_fig, width="stretch", key=f"loss_chart{key}")


def _few_epoch_ticks(fig):
    """At most about 6 upright epoch labels: 10 labels in a 190 px column (800 px window, sidebar open)
    turned sideways and overlapped."""
    shown = len(fig.data[0].x) if fig.data and fig.data[0].x is not None else 0
    fig.update_xaxes(dtick=max(1, -(-shown // 6)), tickangle=0)
    return fig


def _sized(fig, big: bool):
    """`fig`, in presentation mode with its text scaled to the page (present.scale_figure)."""
    return present.scale_figure(fig) if big and fig is not None else fig


def failure_view(run, snap, log_y: bool, key: str = "") -> None:
    """A failed run: the loss of the epochs before the failure (the status above says what failed
    and what to do), and a word on why there is nothing else to see."""
    if snap.epoch:
        left, _ = st.columns([2, 3])
        _loss_chart(run, snap, log_y, key, left)
    st.caption("A failed run has no predictions, metrics or forecast: they would come from weights that did not "
               "train properly. Fix what the status above says (on the Data or Model page), then click **Train** "
               "to run again.")


def _training_view(run, snap, spec: ExperimentSpec, log_y: bool, key: str, big: bool = False, where=st,
                   rest=st) -> None:
    """Loss (and accuracy) and predictions (in `where`), and metrics (in `rest`) of a run that is
    training or has ended well (big: presentation mode, chart text at the page's size)."""
    if snap.queued:  # nothing has trained yet: empty charts would only show meaningless axes (-1..4, 0..6)
        st.caption("Queued: the loss curve, predictions and metrics appear here when a worker starts this run.")
        return
    target, horizon = spec.data.target, spec.window.horizon
    classify = spec.model.task == "classification"
    loss_col, pred_col = where.columns([2, 3])
    _loss_chart(run, snap, log_y, key, loss_col, big)
    pred_key = ("pred", run.run_id, snap.predictions_epoch, snap.status, len(run.predictions_frame()), big)
    if classify:
        acc = views.figure_once(("acc", run.run_id, snap.epoch, big),
                                lambda: _sized(charts.accuracy_figure(snap.history), big))
        loss_col.plotly_chart(acc, width="stretch", key=f"acc_chart{key}")
        pred_fig = views.figure_once(pred_key, lambda: _sized(
            charts.class_figure(run.predictions_frame(), classes_of(run, snap), _wave(run, spec))
            if classes_of(run, snap) else None, big))
    else:
        pred_fig = views.figure_once(pred_key, lambda: _sized(charts.prediction_figure(
            dates_as_steps(run.predictions_frame(), spec), target, horizon=horizon,
            naive_name=(snap.metrics or {}).get("naive_name", "persistence"),
            points=LIVE_POINTS if snap.running else charts.MAX_POINTS), big))
    if pred_fig is not None:
        pred_col.plotly_chart(pred_fig, width="stretch", key=f"pred_chart{key}")
    else:  # the worker has not written the targets yet (it is still starting)
        pred_col.caption("Predictions appear here once the worker has started.")
    if snap.predictions_epoch and snap.running:
        pred_col.caption(f"Predictions from epoch {snap.predictions_epoch}; they refresh every few seconds.")
    if spec.model.mode == "autoencoder" and snap.predictions is not None:
        recon = views.figure_once(("recon", run.run_id, snap.predictions_epoch, snap.status),
                                  lambda: charts.window_error_figure(dates_as_steps(run.predictions_frame(), spec), target))
        pred_col.plotly_chart(recon, width="stretch", key=f"recon{key}")
    with rest:
        if classify:
            class_table(snap, spec.model.cell)
        else:
            views.metrics_table(snap, target, horizon, spec.train.learning_rate, cell=spec.model.cell)


def dates_as_steps(frame: pd.DataFrame, spec: ExperimentSpec) -> pd.DataFrame:
    """Generated series and image rows have made-up dates (a day per row from 2000-01-01): chart them
    by step number instead, so no axis pretends they happened in 2006."""
    if sources.source(spec.data.source).dated(spec.data):
        return frame
    return frame.assign(date=(pd.DatetimeIndex(frame["date"]) - pd.Timestamp("2000-01-01")).days)


def classes_of(run, snap) -> list[str]:
    if snap.metrics and snap.metrics.get("classes"):
        return list(snap.metrics["classes"])
    return [c[2:] for c in run.predictions_frame().columns if c.startswith("p_")]


def _wave(run, spec: ExperimentSpec) -> pd.Series | None:
    """The input wave at each val/test target (for the colour-by-class chart), when there is one input."""
    if len(spec.data.features) != 1 or spec.model.embedding_dim:
        return None
    try:
        frame = loads.load_frame(spec)
    except ValueError:
        return None
    dates = run.predictions_frame()["date"]
    column = spec.data.features[0]
    return frame[column].reindex(pd.DatetimeIndex(dates)).reset_index(drop=True).rename(column)


def class_table(snap, cell: str) -> None:
    """Accuracy and log loss next to the baseline class; the confusion matrix once training ends."""
    if not snap.metrics:
        st.caption("Metrics appear with the first predictions.")
        return
    split = "val" if snap.running else "test"
    label = "validation" if split == "val" else "test"
    m = snap.metrics
    baselines = m["baselines" if split == "test" else "val_baselines"]
    names = {"naive": m.get("naive_name", "baseline"), "majority": "majority class"}
    table = pd.DataFrame([m[split], *baselines.values()],
                         index=[f"{cell} (epoch {snap.predictions_epoch or snap.epoch})",
                                *(names.get(k, k) for k in baselines)]).astype(float)
    table = table.rename(columns={"accuracy": "Accuracy %", "log_loss": "Log loss"})
    st.markdown(f"**{label.capitalize()} metrics**" + (" (live; test metrics appear when training ends)"
                                                      if split == "val" else ""))
    st.dataframe(views.shown(table), width="stretch")
    st.caption("Accuracy counts each window's last step (the accuracy per epoch above counts every step the model "
               "labels). Log loss is the mean cross-entropy of the true class "
               "(lower is better; guessing evenly among k classes scores ln k).")
    best_key = max(baselines, key=lambda k: baselines[k]["accuracy"])
    best = baselines[best_key]
    ok = m[split]["accuracy"] > best["accuracy"]
    (st.success if ok else st.warning)(
        f"On the {label} windows: {cell} {'beats' if ok else 'does not beat'} the best baseline, "
        f"{escape(names.get(best_key, best_key))} ({m[split]['accuracy']:.1f}% vs {best['accuracy']:.1f}% correct).",
        icon=":material/balance:")
    if split == "test" and m.get("confusion"):
        st.plotly_chart(charts.confusion_figure(m["confusion"], m["classes"]), width="content", key="confusion")


def shape_explainer(spec: ExperimentSpec) -> None:
    """(samples, time steps, features) and every layer's output shape, with what it does to the shape."""
    rows, total = loads.layer_table(spec)
    try:
        found = loads.shapes(spec)  # counted and cached; the windows themselves are not needed
        n, t, f = sum(found.counts.values()), *found.input_shape
        st.markdown(f"**Input**: `(samples, time steps, features)` = `({n}, {t}, {f})`  ·  **target** `y` "
                    f"`{(n, *found.y_shape)}`")
    except ValueError:
        st.markdown(f"**Input**: `(samples, {spec.window.length}, {len(spec.data.features)})`")
    table = pd.DataFrame([{**{k: r[k] for k in ("layer", "type", "output shape")}, "what it does": _does(r, spec)}
                          for r in rows])
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption(f"{total:,} parameters. `None` is the batch: any number of samples. " + mode_text(spec))


def mode_text(spec: ExperimentSpec) -> str:
    """The mode's sentence with the spec's numbers in place of `horizon` and (length)."""
    h, text = spec.window.horizon, mode_texts.MODE_TEXT.get(spec.model.mode, "")
    if h == 0:
        text = (text.replace("`horizon` steps after the window", "at the window's last step")
                .replace("`horizon` steps ahead", "at the same step"))
    return (text.replace("`horizon` steps", f"{h} step{'s' * (h != 1)}").replace("(horizon)", f"({h})")
            .replace("(length)", f"({spec.window.length})"))


def _does(row: dict, spec: ExperimentSpec) -> str:
    kind, shape = row["type"], row["output shape"]
    if kind.startswith((*(c.keras_name for c in cells.CELLS.values()), "Bidirectional")):
        seq = shape.count(",") == 2
        return ("return_sequences=True: one state per time step, for the next layer" if seq else
                "return_sequences=False: only the last state, one vector per sample")
    return {"RepeatVector": "copies the state once per output step: the decoder's input sequence",
            "Dropout": "zeroes a random share while training (not when predicting)",
            "Embedding": "a learned vector per token", "Reshape": "drops the feature axis: one token per step",
            }.get(kind, "TimeDistributed: the same Dense at every time step" if kind.startswith("TimeDistributed") else
                  "Dense on every time step (same weights): a projection of each step's inputs"
                  if row["layer"] == "input_dense" else "Dense read-out" + (
                      " (softmax over the classes)" if spec.model.task == "classification" and
                      row["layer"] == "head" else ""))


@st.cache_resource(max_entries=8, show_spinner=False)
def _twin(run_id: str, epoch: int, spec_json: str, steps: int, features: int, classes: int, vocab: int, _weights):
    spec = ExperimentSpec.from_json(spec_json)
    from core import gates  # Keras: only the letters and digits views need it

    return gates.twin(spec, (steps, features), _weights, classes, vocab)


def letters_view(probe) -> None:
    """Type letters: the predicted next letter with its probabilities, and the hidden state per letter."""
    w, spec = probe.windowed, probe.spec
    names = list(w.classes)
    st.markdown("#### Type letters, see the next one")
    text = st.text_input("Letters", value="".join(names[:3]), key="typed_letters", max_chars=40,
                         help=LETTERS_HELP + f" Known letters: {escape(' '.join(names))}.")
    typed = [c for c in text.lower() if c.strip()]
    unknown = sorted({c for c in typed if c not in names})
    if unknown:
        st.warning(f"The model only knows the letters {escape(' '.join(names))}; {escape(' '.join(unknown))} "
                   f"{'is' if len(unknown) == 1 else 'are'} left out.", icon=":material/keyboard:")
    typed = [c for c in typed if c in names][-spec.window.length:]
    if not typed:
        st.info(f"Type one or more of the letters {escape(' '.join(names))}.")
        return
    tokens = np.array([names.index(c) for c in typed])
    if spec.model.embedding_dim:
        x = tokens[:, None].astype(np.float32)
    else:
        x = np.zeros((len(tokens), len(spec.data.features)), np.float32)
        for i, t in enumerate(tokens):
            x[i, spec.data.features.index(names[t])] = 1.0
    x = w.x_scaler.transform(x).astype(np.float32)[None]
    epoch = probe.epochs[-1]
    net = _twin(probe.run_id, epoch, spec.to_json(), len(typed), x.shape[2], len(names), w.vocab,
                probe.history[epoch])
    p = np.asarray(net.predict_on_batch(x))[0].reshape(-1, len(names))[-1]
    from core import gates

    traces = gates.replay(net, x)
    left, right = st.columns(2)
    left.plotly_chart(charts.probability_bars(p, names, f"After “{''.join(typed)}”: next is “{names[int(p.argmax())]}”"),
                      width="stretch", key="letter_probs")
    layer, values = next(iter(traces.items()))
    right.plotly_chart(charts.hidden_figure(values["h"][0], typed, f"Hidden state of {layer}, letter by letter",
                                            "letter"), width="stretch", key="letter_hidden")
    st.caption(f"The model reads at most {spec.window.length} letter{'s' if spec.window.length > 1 else ''} "
               f"(its window), with the weights of epoch {epoch}.")


def image_rows_view(probe) -> None:
    """One test digit, the hidden activations row by row, and the class probabilities."""
    w, spec = probe.windowed, probe.spec
    n = len(w.y["test"])
    st.markdown("#### One digit, row by row")
    i = st.slider("Test image", 0, n - 1, 0, key="digit_index",
                  help="Pick a test image; the network reads it one row per time step, top to bottom.")
    x = w.X["test"][i:i + 1]
    epoch = probe.epochs[-1]
    weights = probe.history[epoch]
    net = _twin(probe.run_id, epoch, spec.to_json(), *w.input_shape, len(w.classes), w.vocab, weights)
    p = np.asarray(net.predict_on_batch(x))[0].reshape(-1, len(w.classes))[-1]
    from core import gates

    traces = gates.replay(net, x)
    layer, values = next(iter(traces.items()))
    pixels = w.x_scaler.inverse_transform(x[0]) if hasattr(w.x_scaler, "inverse_transform") else x[0]
    truth = w.class_name(w.truth["test"][i])
    cols = st.columns([2, 3, 2])
    article = "an" if truth[:1] in "8" or truth.lower()[:1] in "aeio" else "a"
    cols[0].plotly_chart(charts.image_figure(pixels, f"Test image {i}: {article} {truth}"),
                         width="stretch", key="digit_image")
    cols[1].plotly_chart(charts.hidden_figure(values["h"][0], [f"row {r}" for r in range(w.input_shape[0])],
                                              f"Hidden state h of {layer}, row by row", "row"),
                         width="stretch", key="digit_hidden")
    cols[2].plotly_chart(charts.probability_bars(p, w.classes, f"Predicted: {w.classes[int(p.argmax())]}"),
                         width="stretch", key="digit_probs")
    st.caption(f"Weights of epoch {epoch}. Each row of the middle chart is the state after reading that image row: "
               "watch it settle as the digit takes shape.")


def extras(run) -> None:
    """The views special to a kind of data: typed letters, or digits row by row (once a model exists,
    and not for a failed run, whose weights did not train)."""
    spec = run.spec
    if failed(run):
        return
    one_hot = sorted(spec.data.features) == sorted(spec.data.params.get("letters", 5) and
                                                   list("abcdefghijklmnopqrstuvwxyz"[:spec.data.params.get("letters", 5)]))
    tokens = spec.data.features == ["letter"] and bool(spec.model.embedding_dim)
    letters = (spec.data.source == "synthetic" and spec.data.name == "letters" and spec.model.task == "classification"
               and (one_hot or tokens))  # the typed letters can be encoded the way the model reads them
    images = spec.data.source == "builtin" and spec.data.name in ("digits", "mnist") and \
        spec.model.task == "classification" and spec.model.mode == "many_to_one"
    if not (letters or images):
        return
    from ui.probe import probe

    p = probe(run)
    if isinstance(p, str):
        st.caption(escape(p))
        return
    if p.windowed.input_shape[0] != spec.window.length or not p.windowed.classes:
        return
    (letters_view if letters else image_rows_view)(p)
