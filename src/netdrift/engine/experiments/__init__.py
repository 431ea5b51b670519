"""Experiments: what to run (:mod:`spec`), the stepwise scenario driver (:mod:`scenario`), and
the paper's family of failure scenarios (:mod:`paper`)."""
