"""The errors every problem a person can cause turns into: bad data (`DataError`), a bad spec (`SpecError`)."""


class DataError(ValueError):
    """Data that cannot be used, with a message that says what happened and what to do."""


class SpecError(ValueError):
    """A spec that cannot be used. `field` is the dotted path of the offending key.

    Defined here, below core/spec.py, so the registries (core/sources/, core/cells/) that the spec's
    checks ask can raise it; `from core.spec import SpecError` is the same class."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


def sentence(message: str) -> str:
    """An error message as a sentence: no spec field prefix, a capital first letter, a full stop.

    "window.length: must be ..." -> "Must be ...". A message starting with a file name keeps its
    case ("prices.csv has ..." stays as it is)."""
    import re

    message = re.sub(r"^(data|window|split|model|train|evaluate)\.[\w.\[\]]+: ", "", str(message).strip())
    first = message.split(" ", 1)[0]
    if first.isalpha():
        message = message[:1].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."
