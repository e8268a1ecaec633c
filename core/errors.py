"""The error every data problem a person can cause turns into."""


class DataError(ValueError):
    """Data that cannot be used, with a message that says what happened and what to do."""


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
