"""Cost of replaying the gates (core/gates.py) against a Keras predict() on the same windows.

    python bench/gates.py [--repeats 30]

For each model (the default LSTM 64, a GRU 64, a SimpleRNN 64 and a 2-layer bidirectional LSTM)
on the default dataset (S&P 500, window 60): the median time to replay one window next to
`model.predict` on that window (target: ratio <= 1, no slower than predict), and the time for
all the test windows next to `predict` on them.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from statistics import median

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import data, gates, models, windows  # noqa: E402
from core.spec import ExperimentSpec  # noqa: E402


def timed(fn, repeats: int) -> float:
    fn()  # warm-up: traces Keras's predict function once
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    base = ExperimentSpec()
    w = windows.make(data.load(base.data), base)
    X = w.X["test"]
    print(f"default dataset: {w.shape_text()}")
    print(f"{'model':<22}{'1 window replay':>17}{'predict':>10}{'ratio':>8}"
          f"{'all ' + str(len(X)) + ' test windows replay':>30}{'predict':>10}{'ratio':>8}")
    worst = 0.0
    for label, model in (("LSTM 64", {}), ("GRU 64", {"cell": "GRU"}), ("SimpleRNN 64", {"cell": "SimpleRNN"}),
                         ("BiLSTM 64+32", {"units": [64, 32], "bidirectional": True})):
        spec = base.replace(model=model)
        net = models.build(spec.model, spec.train, w.input_shape, spec.window.horizon)
        one = X[:1]
        t_replay = timed(lambda: gates.replay(net, one), args.repeats)
        t_predict = timed(lambda: net.predict(one, verbose=0), args.repeats)
        t_all = timed(lambda: gates.replay(net, X), max(3, args.repeats // 10))
        t_all_predict = timed(lambda: net.predict(X, verbose=0), max(3, args.repeats // 10))
        worst = max(worst, t_replay / t_predict)
        print(f"{label:<22}{t_replay * 1e3:>14.2f} ms{t_predict * 1e3:>7.2f} ms{t_replay / t_predict:>8.3f}"
              f"{t_all * 1e3:>27.1f} ms{t_all_predict * 1e3:>7.1f} ms{t_all / t_all_predict:>8.2f}")
    print(f"one-window replay / predict, worst model: {worst:.3f} (target <= 1)")


if __name__ == "__main__":
    main()
