"""Engine errors name their input ("train_steps", "failure '2-7@99'"); the CLI names its flag."""

from __future__ import annotations

from netdrift.engine.errors import InputError

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
    "window": "--window",
    "horizon": "--horizon",
    "epochs": "--epochs",
    "train_windows": "--train-windows",
    "liquid_cell": "--liquid-cell",
    "liquid_units": "--liquid-units",
    "liquid_wiring": "--liquid-wiring",
    "ltc_epochs": "--ltc-epochs",
    "ltc_unfolds": "--ltc-unfolds",
    "il_batch": "--il-batch",
    "il_window": "--il-window",
    "il_mode": "--il-mode",
    "il_replay": "--il-replay",
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
