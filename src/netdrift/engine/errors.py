"""Errors the engine raises for bad input: one clear message naming the input and the problem."""

from __future__ import annotations

__all__ = ["InputError"]


class InputError(ValueError):
    """Bad user input (file, argument, id). ``str(err)`` is the one line shown to the user.

    Examples
    --------
    >>> str(InputError("topology 'x.graphml'", "file is truncated"))
    "topology 'x.graphml': file is truncated"
    """

    def __init__(self, what: str, problem: str | None = None) -> None:
        self.what = what
        self.problem = problem
        super().__init__(what if problem is None else f"{what}: {problem}")
