"""The sequence shapes (model.mode) in words and in a small text diagram, for the Model and Train pages.

Only texts: no Keras needed to read them; core/models.py builds the shapes they describe."""

MODE_TEXT = {
    "many_to_one": "The window's last state predicts one value, `horizon` steps after the window.",
    "direct": "The last state feeds Dense(horizon), which predicts the next `horizon` values at once.",
    "many_to_many": "return_sequences keeps a state per step, and TimeDistributed(Dense) turns each into a "
                    "prediction `horizon` steps ahead, at every step of the window.",
    "seq2seq": "An encoder reads the window into one state; RepeatVector(horizon) hands it to a decoder that "
               "unrolls `horizon` steps, each read out by TimeDistributed(Dense).",
    "autoencoder": "An encoder reads the window into one state; RepeatVector(length) hands it to a decoder that "
                   "unrolls the window again, read out by TimeDistributed(Dense): the network must squeeze the "
                   "window through one state and rebuild it.",
    "stateful": "The layers keep their state from one batch to the next over consecutive, unshuffled windows, "
                "so memory reaches past one window; states are reset each epoch and before evaluation.",
}
MODE_DIAGRAM = {
    "many_to_one": "x1 … xT → [RNN] → h_T\n              → Dense → ŷ(T+h)",
    "direct": "x1 … xT → [RNN] → h_T\n     → Dense(h) → ŷ(T+1) … ŷ(T+h)",
    "many_to_many": "x1     x2    …  xT\n↓      ↓        ↓\n[RNN, sequences]\n↓      ↓        ↓\n"
                    "ŷ(1+h) ŷ(2+h) … ŷ(T+h)",
    "seq2seq": "x1 … xT → [encoder] → h_T\n→ RepeatVector(h) → [decoder]\n→ ŷ(T+1) … ŷ(T+h)",
    "autoencoder": "x1 … xT → [encoder] → h_T\n→ RepeatVector(T) → [decoder]\n→ x̂1 … x̂T",
    "stateful": "batch k:   x… → [RNN] → ŷ\n             ↓ state\nbatch k+1: x… → [RNN] → ŷ",
}
