"""`netdrift history`: list and show stored scenarios and sweeps, import recovery files."""

from __future__ import annotations

import argparse
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from netdrift.cli.common import check_db_folder, open_db, print_json, quiet_broken_pipe


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("history", help="list or show stored scenarios and sweeps, import recovery files")
    hs = p.add_subparsers(dest="history_command", required=True, parser_class=type(p))
    lp = hs.add_parser("list", help="every stored scenario, then every stored sweep")
    lp.add_argument("--db", help="SQLAlchemy URL of the history")
    lp.add_argument("--json", action="store_true", help="scenarios as JSON (with --sweeps: the sweeps)")
    lp.add_argument("--sweeps", action="store_true", help="only the stored sweeps")
    lp.set_defaults(func=list_cmd)
    sp = hs.add_parser("show", help="one scenario: config and metrics")
    sp.add_argument("id", type=int)
    sp.add_argument("--db", help="SQLAlchemy URL of the history")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=show_cmd)
    ip = hs.add_parser("import", help="store a run kept in a recovery file (netdrift-unsaved-*.npz) when a save failed")
    ip.add_argument("file", type=Path, help="the netdrift-unsaved-*.npz file (or its .json)")
    ip.add_argument("--db", help="SQLAlchemy URL of the history")
    ip.set_defaults(func=import_cmd)


def _plain(obj: object) -> Any:
    return asdict(obj) if is_dataclass(obj) and not isinstance(obj, type) else obj


@quiet_broken_pipe
def list_cmd(args: argparse.Namespace) -> int:
    from netdrift.service.history import missing_sqlite_file, reading

    missing = missing_sqlite_file(args.db)
    if missing is not None:  # nothing stored yet; reading must not create the file or its folder
        if args.json:
            print_json([])
        else:
            print(f"no {'sweeps' if args.sweeps else 'scenarios'} stored yet (no database at {missing})")
        return 0
    with reading(open_db(args.db)) as history:
        items = [] if args.sweeps else [_plain(x) for x in history.list_scenarios()]
        sweeps = history.list_sweeps() if args.sweeps or not args.json else []
    if args.json:
        print_json(sweeps if args.sweeps else items)
        return 0
    if not args.sweeps:
        if not items:
            print("no scenarios stored yet")
        for it in items:
            events = ", ".join(str(e) for e in it.get("events", [])) or "no failures"
            print(f"{it['id']:>5}  {str(it.get('created'))[:19]}  {it.get('status'):<11} {it.get('topology')}  "
                  f"[{', '.join(it.get('models', []))}]  {events}")
    if sweeps:
        if not args.sweeps:
            print("sweeps:")
        for sw in sweeps:
            print(f"{sw['id']:>5}  {sw['created_at'][:19].replace('T', ' ')}  {sw['kind']:<11} {sw['topology']}  "
                  f"{sw['n_failures']} failures")
    elif args.sweeps:
        print("no sweeps stored yet")
    return 0


@quiet_broken_pipe
def import_cmd(args: argparse.Namespace) -> int:
    """Store a recovery file as a new scenario; one line naming its id."""
    from netdrift.service.recovery import read_unsaved, store_recovered

    recovered = read_unsaved(args.file)  # checked whole before the database is opened
    check_db_folder(args.db)
    sid = store_recovered(open_db(args.db), recovered)
    print(f"stored {args.file} as scenario {sid}")
    return 0


@quiet_broken_pipe
def show_cmd(args: argparse.Namespace) -> int:
    from netdrift.engine.errors import InputError
    from netdrift.engine.evaluation.scoring import summary_table
    from netdrift.service.history import missing_sqlite_file, reading

    missing = missing_sqlite_file(args.db)
    if missing is not None:
        raise InputError(f"scenario {args.id}", f"no database at {missing} (nothing stored there yet)")
    with reading(open_db(args.db)) as history:
        detail = history.get_scenario(args.id)
        rows = history.load_metrics(args.id)
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
