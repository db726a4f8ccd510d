"""Errors that the command line turns into one line on stderr and exit status 2."""


class InputError(ValueError):
    """Bad user input: unknown model, absurd size, non-finite weights, malformed file.

    The message must be one line that names the problem; ``reports.cli.main`` prints it
    as ``gradproof: error: <message>`` and exits with status 2, never with a traceback.
    """
