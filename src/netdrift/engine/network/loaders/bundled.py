"""The real topologies shipped in ``sample_topologies/`` (Topology Zoo, CC BY 4.0)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["samples_dir", "bundled_topologies", "TOPOLOGY_SUFFIXES"]

#: File endings recognised as topology files.
TOPOLOGY_SUFFIXES = (".graphml", ".gml", ".xml", ".txt", ".json")


def samples_dir() -> Path:
    """The folder of bundled topologies, the first of: ``$NETDRIFT_SAMPLES_DIR``;
    ``<checkout>/sample_topologies`` (a source checkout or editable install);
    ``<prefix>/share/netdrift/sample_topologies`` (where a wheel install puts them)."""
    env = os.environ.get("NETDRIFT_SAMPLES_DIR")
    if env:
        return Path(env)
    import netdrift

    checkout = Path(netdrift.__file__).resolve().parents[2] / "sample_topologies"  # <checkout>/src/netdrift/
    if checkout.is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "netdrift" / "sample_topologies"


def bundled_topologies() -> dict[str, Path]:
    """Lower-case name -> file of every bundled topology, sorted by name.

    >>> "geant2001" in bundled_topologies()
    True
    """
    folder = samples_dir()
    if not folder.is_dir():
        return {}
    found = {
        p.stem.lower(): p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in TOPOLOGY_SUFFIXES and not p.name.startswith(".")
    }
    return dict(sorted(found.items()))
