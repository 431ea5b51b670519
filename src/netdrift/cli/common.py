"""Helpers shared by the CLI commands: progress on stderr, JSON output, option groups."""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from netdrift.cli.bounds import (  # re-exported: the argument bounds live in cli/bounds.py
    STEP_MINUTES_BOUND,
    STEPS_BOUND,
    bounded_int,
    step_index_arg,
    step_minutes_arg,
    steps_arg,
)
from netdrift.engine.atomic_files import atomic_path
from netdrift.engine.errors import InputError
from netdrift.engine.forecasting.catalogue import DEFAULT_MODELS, MODEL_NAMES
from netdrift.engine.forecasting.protocol import OBSERVE_CHOICES
from netdrift.engine.forecasting.settings import ForecastSettings
from netdrift.engine.forecasting.settings_schema import SettingField, cli_fields, parse_value
from netdrift.engine.network.events import refuse_repeated_failures
from netdrift.engine.progress_text import progress_text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

DEFAULT_MODELS_TEXT = ",".join(DEFAULT_MODELS)

__all__ = ["CountProgress", "HistoryWhenNeeded", "check_db_folder", "OBSERVE_CHOICES", "MODEL_NAMES", "OUT_FORMATS", "check_out_path", "DEFAULT_MODELS_TEXT", "StderrProgress", "print_json", "add_forecast_options", "forecast_overrides",
           "forecast_settings", "model_names", "positive_int", "non_negative_int", "quiet_broken_pipe",
           "silence_stdout", "write_table_atomically", "os_problem", "refuse_repeated_failures", "add_max_memory_option",
           "memory_size", "with_max_memory", "add_traffic_model_option", "traffic_model", "bounded_int",
           "steps_arg", "step_index_arg", "step_minutes_arg", "STEPS_BOUND", "STEP_MINUTES_BOUND"]


class StderrProgress:
    """``progress(message, fraction)`` printing to stderr at most every ``interval`` seconds."""

    def __init__(self, interval: float = 1.0, enabled: bool = True) -> None:
        self.interval = interval
        self.enabled = enabled
        self._last = 0.0
        self._tty = sys.stderr.isatty()

    def __call__(self, message: str, fraction: float) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self._last < self.interval and fraction < 1.0):
            return
        self._last = now
        line = f"[{fraction * 100:5.1f}%] {message}"
        if self._tty:
            print("\r" + line.ljust(60), end="\n" if fraction >= 1.0 else "", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)


class CountProgress:
    """``progress(done, total)`` of a sweep's failures as ``WHAT: done of total failures (rate/s,
    about T left)`` through a :class:`StderrProgress`, in the Impact page's words
    (:func:`netdrift.engine.progress_text.progress_text`); the rate is measured from the first call.
    ``unit`` names other counted work (a deduction's steps); nothing is shown until ``quiet_for_s``
    seconds after it was made."""

    def __init__(self, bar: StderrProgress, what: str, unit: str = "failures", quiet_for_s: float = 0.0) -> None:
        self.bar, self.what, self.unit, self.quiet_for_s = bar, what, unit, quiet_for_s
        self._t0: float | None = None
        self._made = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = now
        if now - self._made >= self.quiet_for_s:
            self.bar(f"{self.what}: {progress_text(done, total, now - self._t0, self.unit)}", done / max(total, 1))


def print_json(obj: Any) -> None:
    """JSON to stdout; NaN/inf become null so any JSON parser reads it. A closed stdout
    (``| head``) ends the output quietly."""
    try:
        print(json.dumps(_clean(obj), indent=2, default=str))
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()


def silence_stdout() -> None:
    """After a broken pipe: send the rest of stdout to the null device, so neither later
    prints nor the interpreter's last flush raise (what Python's ``signal`` docs advise)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (e.g. a captured stdout)
        sys.stdout = open(os.devnull, "w")


def quiet_broken_pipe(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Wrap a command so that a reader closing stdout early (``netdrift ... | head``) ends it
    quietly with exit 0 instead of a BrokenPipeError traceback; stdout is flushed inside."""

    @functools.wraps(func)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            rc = func(args)
            sys.stdout.flush()
            return rc
        except BrokenPipeError:
            silence_stdout()
            return 0

    return wrapper


def _clean(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if obj == obj and obj not in (float("inf"), float("-inf")) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return _clean(obj.item())
    return obj


def _whole_number_at_least(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
    return value


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    return _whole_number_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """argparse type: a whole number >= 0."""
    return _whole_number_at_least(text, 0)


def memory_size(text: str) -> int:
    """``--max-memory 2G`` -> bytes (argparse type: a bad size is argparse's one line, exit 2)."""
    from netdrift.engine.budget import parse_bytes

    try:
        return parse_bytes(text)
    except InputError as err:
        raise argparse.ArgumentTypeError(f"'{text}': {err.problem}") from None


def add_max_memory_option(p: argparse.ArgumentParser) -> None:
    """``--max-memory SIZE``: the memory budget of the command (see :func:`with_max_memory`)."""
    p.add_argument("--max-memory", type=memory_size, metavar="SIZE",
                   help="memory budget, e.g. 2G or 512M: traffic generation, replay, the load arrays and "
                        "sweeps are refused in one line before they allocate more (default: "
                        "NETDRIFT_MAX_MEMORY if set, else half of the memory available when the command starts)")


def with_max_memory(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run a command under a memory budget fixed once at its start
    (:func:`netdrift.engine.budget.command_budget`): ``args.max_memory`` when given, else
    NETDRIFT_MAX_MEMORY, else half of the memory available then; restored afterwards. A
    ``netdrift`` process (not a caller of ``main()`` inside another program) also counts the
    memory it held at the start, so the budget bounds its peak."""

    @functools.wraps(func)
    def wrapper(args: argparse.Namespace) -> int:
        from netdrift.engine.budget import command_budget

        with command_budget(getattr(args, "max_memory", None), "--max-memory", count_held=_own_process()):
            return func(args)

    return wrapper


def _own_process() -> bool:
    """Whether this process is a ``netdrift`` command (the console script or ``python -m netdrift``)."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return name == "netdrift" or (name == "__main__.py" and Path(sys.argv[0]).parent.name == "netdrift")


def add_traffic_model_option(p: argparse.ArgumentParser) -> None:
    """``--traffic-model sine|backbone``: the generator of synthetic traffic (see :func:`traffic_model`)."""
    p.add_argument("--traffic-model", choices=("sine", "backbone"),
                   help="generator of synthetic traffic: 'sine' (the paper's sums of sinusoids, the default) or "
                        "'backbone' (a proxy for real backbone traffic: weekly cycle, bursts, long-range dependent "
                        "fluctuations, level shifts, missing samples; see docs/traffic.md); refused with replayed "
                        "--traffic")


def traffic_model(args: argparse.Namespace) -> str:
    """The traffic model of ``args`` ('sine' unless --traffic-model says otherwise); any
    --traffic-model with a replayed --traffic or with measured --link-loads is refused (InputError
    naming the flag)."""
    model = getattr(args, "traffic_model", None)
    if model is not None and getattr(args, "link_loads", None):
        raise InputError("--traffic-model", "applies to synthetic traffic only; --link-loads gives measured traffic")
    if model is not None and args.traffic.strip().lower() != "synthetic":
        raise InputError("--traffic-model", f"applies to synthetic traffic only; the replayed --traffic "
                                            f"'{args.traffic}' keeps its own")
    return model or "sine"


def _setting_type(field: SettingField) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return parse_value(field, text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    parse.__name__ = field.name  # argparse names the type in some messages
    return parse


def add_forecast_options(p: argparse.ArgumentParser) -> None:
    """Model options shared by `run` and `paper`, generated from the settings schema (flag, help,
    choices, bounds; the defaults are the engine's); unset ones keep the settings' defaults."""
    g = p.add_argument_group("forecasting")
    for f in cli_fields():
        default = ("on" if f.default else "off") if f.kind is bool else f.default
        g.add_argument(f.flag, dest=f.name, type=_setting_type(f), metavar=f.metavar,
                       choices=f.choices, help=f"{f.help} ({f.bounds_text()}; default {default})")
    g.add_argument("--device", default="auto", help="auto | cpu | cuda (auto: cuda when available)")


def forecast_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The forecasting options the user set, under their flat setting names."""
    return {f.name: getattr(args, f.name) for f in cli_fields() if getattr(args, f.name, None) is not None}


def forecast_settings(overrides: dict[str, Any]) -> ForecastSettings:
    """The scenario's model settings from the options set (InputError naming a bad one)."""
    return ForecastSettings.from_flat(overrides)


def model_names(text: str) -> tuple[str, ...]:
    """``--models a,b`` -> ("a", "b"); unknown names are refused later, naming the valid ones."""
    names = tuple(m.strip() for m in text.split(",") if m.strip())
    if not names:
        raise InputError(f"--models '{text}'", f"at least one model is needed; choose from {', '.join(MODEL_NAMES)}")
    return names


def check_db_folder(url: str | None) -> None:
    """Refuse a SQLite ``--db`` whose folder does not exist (InputError naming the folder), before
    any work: a writing command creates the database file, never folders (the default history's
    data folder aside)."""
    if url is None:
        return
    from netdrift.storage.database import missing_sqlite_file

    path = missing_sqlite_file(url)
    if path is not None and not path.parent.is_dir():
        raise InputError(f"--db '{url}'", f"its folder '{path.parent}' does not exist")


class HistoryWhenNeeded:
    """The history of a writing command, opened no earlier than needed: an existing database
    or a server is opened (and a bad one refused) at once; a SQLite file that does not exist yet
    is created by the first call, so a command refused before it stores anything leaves none."""

    def __init__(self, url: str | None) -> None:
        from netdrift.storage.database import missing_sqlite_file

        check_db_folder(url)
        self.url = url
        self._sessions: sessionmaker[Session] | None = None if missing_sqlite_file(url) is not None else open_db(url)

    def __call__(self) -> sessionmaker[Session]:
        if self._sessions is None:
            self._sessions = open_db(self.url)
        return self._sessions


def open_db(url: str | None) -> sessionmaker[Session]:
    """The sessionmaker for ``url`` (InputError for a bad or unreachable URL)."""
    from netdrift.storage.database import open_database

    return open_database(url)


def require(cond: bool, what: str, problem: str) -> None:
    if not cond:
        raise InputError(what, problem)


#: Output table formats (``--out``) by file extension.
OUT_FORMATS = (".csv", ".parquet")


def check_out_path(out: Path, text: str) -> None:
    """Refuse an ``--out`` that cannot be written before any work (simulate, sweep): an unknown
    extension, a folder, a missing or unwritable folder (probed by creating and removing a
    temporary file there), a file that cannot be overwritten."""
    if out.suffix.lower() not in OUT_FORMATS:
        raise InputError(f"--out '{text}'", "unknown extension: expected .csv or .parquet")
    if out.is_dir():
        raise InputError(f"--out '{text}'", "is a folder; give a file name ending in .csv or .parquet")
    if not out.parent.exists():
        raise InputError(f"--out '{text}'", "its folder does not exist")
    if not out.parent.is_dir():
        raise InputError(f"--out '{text}'", f"'{out.parent}' is not a folder")
    if out.exists() and not os.access(out, os.W_OK):
        raise InputError(f"--out '{text}'", "the file exists and cannot be written")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".probe", dir=out.parent)
    except OSError as err:
        raise InputError(f"--out '{text}'", f"cannot write in its folder ({err.strerror or err})") from None
    os.close(fd)
    Path(probe).unlink(missing_ok=True)


def os_problem(err: OSError) -> str:
    """An OSError as a few words: ``No space left on device`` (errno's text, else the message).

    >>> os_problem(OSError(28, "Error writing bytes to file. Detail: [errno 28] No space left"))
    'No space left on device'
    """
    return os.strerror(err.errno) if err.errno else (err.strerror or str(err))


def write_table_atomically(frame: Any, out: Path, what: str | None = None) -> None:
    """Write to a temporary file beside ``out`` and rename it, so nothing is half-written; a
    full disk or a refused write (ENOSPC, EACCES, ...) is an InputError naming ``what`` (default
    ``--out 'OUT'``), with the temporary file removed and any earlier ``out`` left as it was."""
    what = what or f"--out '{out}'"
    try:
        with atomic_path(out) as tmp:
            if out.suffix.lower() == ".csv":
                frame.to_csv(tmp, index=False)
            else:
                frame.to_parquet(tmp, index=False)
    except OSError as err:
        raise InputError(what, f"could not be written ({os_problem(err)}); no partial file was left") from None
