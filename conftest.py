"""Root pytest configuration: the Streamlit page scripts are not importable modules."""

collect_ignore_glob = ["dashboard/views/*.py", "dashboard/app.py", "bench/*", "sample_topologies/*"]
