"""`netdrift history`: list and show stored scenarios."""

from __future__ import annotations

import argparse
from dataclasses import asdict, is_dataclass

from cli.common import open_db, print_json, quiet_broken_pipe


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("history", help="list or show stored scenarios")
    hs = p.add_subparsers(dest="history_command", required=True, parser_class=type(p))
    lp = hs.add_parser("list", help="every stored scenario")
    lp.add_argument("--db", help="SQLAlchemy URL of the history")
    lp.add_argument("--json", action="store_true")
    lp.set_defaults(func=list_cmd)
    sp = hs.add_parser("show", help="one scenario: config and metrics")
    sp.add_argument("id", type=int)
    sp.add_argument("--db", help="SQLAlchemy URL of the history")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=show_cmd)


def _plain(obj: object) -> object:
    return asdict(obj) if is_dataclass(obj) and not isinstance(obj, type) else obj


@quiet_broken_pipe
def list_cmd(args: argparse.Namespace) -> int:
    from storage.database import missing_sqlite_file
    from storage.repository import ScenarioRepository

    missing = missing_sqlite_file(args.db)
    if missing is not None:  # nothing stored yet; reading must not create the file or its folder
        if args.json:
            print_json([])
        else:
            print(f"no scenarios stored yet (no database at {missing})")
        return 0
    Session = open_db(args.db)
    with Session() as s:
        items = [_plain(x) for x in ScenarioRepository(s).list_scenarios()]
    if args.json:
        print_json(items)
        return 0
    if not items:
        print("no scenarios stored yet")
    for it in items:
        events = ", ".join(str(e) for e in it.get("events", [])) or "no failures"
        print(f"{it['id']:>5}  {str(it.get('created'))[:19]}  {it.get('status'):<11} {it.get('topology')}  "
              f"[{', '.join(it.get('models', []))}]  {events}")
    return 0


@quiet_broken_pipe
def show_cmd(args: argparse.Namespace) -> int:
    from engine.errors import InputError
    from engine.evaluation.scoring import summary_table
    from storage.database import missing_sqlite_file
    from storage.repository import ScenarioRepository

    missing = missing_sqlite_file(args.db)
    if missing is not None:
        raise InputError(f"scenario {args.id}", f"no database at {missing} (nothing stored there yet)")
    Session = open_db(args.db)
    with Session() as s:
        repo = ScenarioRepository(s)
        detail = repo.get_scenario(args.id)
        rows = repo.load_metrics(args.id)
    d = _plain(detail)
    d.pop("topology", None)  # asdict made the Topology a plain dict: take its name from the object
    d["topology"] = detail.topology.name
    d["metrics"] = summary_table(rows)
    if args.json:
        print_json(d)
        return 0
    for k, v in d.items():
        if k != "metrics":
            print(f"{k}: {v}")
    print("metrics (RMSE/MAE Mbit/s, MAPE/sMAPE %, TTC steps):")
    for model, m in d["metrics"].items():
        print(f"  {model}: " + ", ".join(f"{k}={v}" for k, v in m.items()))
    return 0
