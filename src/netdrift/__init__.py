"""netdrift: what happens to my link loads, and to my forecasts, if this link fails?

One namespace for the whole product, in layers that import only downwards:
``netdrift.engine`` (the domain) < ``netdrift.storage`` (the history) < ``netdrift.service``
(the one door to the history) < ``netdrift.cli`` and ``netdrift.dashboard`` (the interfaces).
"""

__version__ = "0.1.0"
