"""ui/spec_state.py: widget values become the spec field's annotated type."""
import pytest

from ui.spec_state import cast, field_type


@pytest.mark.parametrize("section, name, value, expected", [
    ("window", "length", 30.0, 30),  # number_input gives a float for an int field
    ("train", "learning_rate", 1, 1.0),  # a whole number in a float field (Keras's SGD failed on int momentum)
    ("train", "clipnorm", 2, 2.0),  # float | None
    ("model", "bidirectional", 1, True),
    ("evaluate", "season", None, None),
    ("split", "val", 300, 300),  # float | int: left as the widget gives it (a share or a count)
    ("split", "val", 0.2, 0.2),
    ("model", "units", [64, 32], [64, 32]),  # no plain type: as it is
])
def test_cast_follows_the_annotation(section, name, value, expected):
    out = cast(section, name, value)
    assert out == expected and type(out) is type(expected)


def test_field_type_reads_the_dataclass():
    assert field_type("window", "length") is int
    with pytest.raises(KeyError):
        field_type("window", "no_such_field")
