"""The error every data problem a person can cause turns into."""


class DataError(ValueError):
    """Data that cannot be used, with a message that says what happened and what to do."""
