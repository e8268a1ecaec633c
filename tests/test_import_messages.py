"""The reason an imported model is refused fits what was refused (issue 26, item 15): a lookup
layer that names a vocabulary file outside the archive is not "Python code (e.g. a Lambda layer)"."""
from __future__ import annotations

import json
import zipfile

import keras
import pytest

from core import runs


def test_a_vocabulary_file_outside_the_archive_is_refused_as_such(tmp_path):
    inputs = keras.Input((1,), dtype="string")
    model = keras.Model(inputs, keras.layers.StringLookup(vocabulary=["a", "b"])(inputs))
    model.save(tmp_path / "ok.keras")
    source = zipfile.ZipFile(tmp_path / "ok.keras")
    with zipfile.ZipFile(tmp_path / "reads-a-file.keras", "w") as archive:  # the hostile file, made here
        for name in source.namelist():
            data = source.read(name)
            if name == "config.json":
                config = json.loads(data)
                next(layer for layer in config["config"]["layers"] if layer["class_name"] == "StringLookup"
                     )["config"]["vocabulary"] = "/etc/passwd"
                data = json.dumps(config)
            archive.writestr(name, data)
    with pytest.raises(runs.ImportRefused) as refused:
        runs.load_model_safely(tmp_path / "reads-a-file.keras")
    message = str(refused.value)
    # core/model_check refuses the lookup layer by name before Keras reads anything; a lookup layer the
    # counter knew would reach Keras, whose refusal is worded for the vocabulary file. Never "Lambda".
    assert "Lambda" not in message and "Python code" not in message
    assert "StringLookup" in message or "vocabulary file from outside its own archive" in message


def test_a_file_that_is_no_zip_is_called_damaged_and_the_fix_is_named():
    from core import archives

    with pytest.raises(archives.ImportRefused) as refused:
        archives.Bounded(b"these bytes are no zip archive", "the model")
    text = str(refused.value)
    assert text.startswith("the model is damaged or of another kind") and "Export it again" in text
