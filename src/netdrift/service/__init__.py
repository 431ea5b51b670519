"""The application service: the one path from a scenario spec to a stored result.

Used by the CLI (``run``, ``paper``) and the dashboard; sits above :mod:`storage` and
:mod:`engine` and below the user interfaces.
"""
