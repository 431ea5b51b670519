"""Custom Streamlit components of the netdrift dashboard (served locally, no CDN)."""
