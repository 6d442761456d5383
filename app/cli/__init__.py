"""The command line: one module per `main.py` command (`add_arguments(parser)`, `run(args) -> int`),
and `common.py` with what several of them share. Only main.py imports this package; the libraries
(app's engine, the dashboard, carat_model, feature_extractors, trainer) never do.
"""
