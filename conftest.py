"""Root pytest configuration: the Streamlit page scripts are not importable modules."""

collect_ignore_glob = [
    "src/netdrift/dashboard/views/*.py", "src/netdrift/dashboard/app.py", "bench/*", "sample_topologies/*",
]
