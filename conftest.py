"""Root pytest configuration: the Streamlit page scripts are not importable modules; ``--fast``
selects the fast tier."""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path

import pytest

collect_ignore_glob = [
    "src/netdrift/dashboard/views/*.py", "src/netdrift/dashboard/app.py", "bench/*", "sample_topologies/*",
]

ROOT = Path(__file__).resolve().parent

#: Left out of the fast tier (paths relative to the checkout): the docstring examples (importing
#: every module costs more than the tier's budget), the CLI's end-to-end tests, and the test
#: modules that train models, run whole scenarios, drive the Streamlit app or a browser, start
#: servers, subprocesses or a wheel build. A new test module of that kind belongs here; everything
#: else not marked slow or browser is fast: the unit tests of the engine, storage, service and the
#: dashboard's logic (the tier runs in under 30 s; `pytest --fast --durations=10` shows what costs).
HEAVY = (
    "src/*", "tests/cli/*",
    "tests/e2e/*", "tests/golden/*", "tests/prometheus/*", "tests/test_packaging.py",
    "tests/dashboard/test_app_live.py", "tests/dashboard/test_app_views.py", "tests/dashboard/test_charts_export.py",
    "tests/dashboard/test_impact_view.py", "tests/dashboard/test_impact_plan.py", "tests/dashboard/test_warmup.py",
    "tests/dashboard/test_live_chart.py", "tests/dashboard/test_compare_seeds.py", "tests/dashboard/test_live_helpers.py",
    "tests/dashboard/test_callbacks.py", "tests/dashboard/test_live_report.py",
    "tests/dashboard/test_exports_readable.py",
    "tests/storage/test_migrations.py", "tests/storage/test_postgres.py", "tests/storage/test_timeouts.py",
    "tests/storage/test_checkpoints.py", "tests/storage/test_concurrency.py",
    "tests/engine/test_scenario.py", "tests/engine/test_training_helps.py", "tests/engine/test_routed.py",
    "tests/engine/test_baselines_online.py", "tests/engine/test_lrd.py", "tests/engine/test_forecasters.py",
    "tests/engine/test_hybrid.py", "tests/engine/test_counterfactual.py", "tests/engine/test_paper_replication.py",
    "tests/engine/test_seed_replication.py", "tests/engine/test_uncertainty.py", "tests/engine/test_tomogravity.py",
    "tests/engine/test_sweep.py", "tests/engine/test_sweep_backends.py", "tests/engine/test_ensemble.py",
    "tests/engine/test_ensemble_scenario.py",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--fast", action="store_true",
                     help="the fast tier: leave out the slow and browser tests and the modules in conftest.HEAVY")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if not config.getoption("--fast"):
        return None
    try:
        rel = collection_path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return None
    return True if any(fnmatch(rel, pattern) for pattern in HEAVY) else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--fast"):
        return
    keep = [i for i in items if not (i.get_closest_marker("slow") or i.get_closest_marker("browser"))]
    if len(keep) < len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep
