"""Engine errors name their input ("train_steps", "failure '2-7@99'"); the CLI names its flag."""

from __future__ import annotations

from netdrift.engine.errors import InputError
from netdrift.engine.forecasting.settings_schema import cli_fields

__all__ = ["FLAGS", "cli_message"]

#: The engine's input names -> the flag that sets them.
FLAGS: dict[str, str] = {
    "steps": "--steps",
    "step_minutes": "--step-minutes",
    "train_steps": "--train-steps",
    "failure": "--fail",
    "traffic": "--traffic",
    "traffic_model": "--traffic-model",
    "models": "--models",
    "observe": "--observe",
    "interval": "--interval",
    "warn_utilization": "--warn-utilization",
    "seed": "--seed",
    "peak_utilization": "--peak-utilization",
    "from": "--from",
    "to": "--to",
    "srlg": "--srlg",
    "kind": "--kind",
    "executor": "--executor",
    "ray_address": "--ray-address",
    "device": "--device",
    "forecast": "--forecast",
    "deduce": "--deduce",
    "link_loads": "--link-loads",
    "prom_query": "--prom-query",
    "prom_mapping": "--prom-mapping",
    "prom_start": "--prom-start",
    "prom_end": "--prom-end",
    "prom_steps": "--prom-steps",
    "prom_step": "--prom-step",
    "prom_timeout": "--prom-timeout",
    # every model setting a flag sets, from the settings schema
    **{f.name: f.flag for f in cli_fields()},
}


def cli_message(err: InputError) -> str:
    """``err``'s one line with the input named by its flag where it has one.

    >>> cli_message(InputError("train_steps", "50 must be smaller than the run's steps (40)"))
    "--train-steps: 50 must be smaller than the run's steps (40)"
    >>> cli_message(InputError("failure 'x@3'", "no such link"))
    "--fail 'x@3': no such link"
    >>> cli_message(InputError("topology 'a.gml'", "file is truncated"))
    "topology 'a.gml': file is truncated"
    """
    head, sep, rest = err.what.partition(" ")
    what = FLAGS.get(head, head) + sep + rest
    return what if err.problem is None else f"{what}: {err.problem}"
