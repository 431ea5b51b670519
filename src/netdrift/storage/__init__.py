"""Scenario history: SQLAlchemy 2.0 over SQLite (any SQLAlchemy URL works).

Usage::

    from netdrift.storage import open_database, ScenarioRepository
    Session = open_database()          # $NETDRIFT_DATA_DIR or ~/.local/share/netdrift
    with Session() as s:
        for sc in ScenarioRepository(s).list_scenarios():
            print(sc.id, sc.topology, sc.status, sc.events)
"""

from netdrift.storage.data_dir import default_data_dir, default_db_url
from netdrift.storage.database import SCHEMA_VERSION, display_url, open_database
from netdrift.storage.repository import ScenarioDetail, ScenarioRepository, ScenarioSummary

__all__ = [
    "SCHEMA_VERSION",
    "default_data_dir",
    "default_db_url",
    "display_url",
    "open_database",
    "ScenarioRepository",
    "ScenarioSummary",
    "ScenarioDetail",
]
