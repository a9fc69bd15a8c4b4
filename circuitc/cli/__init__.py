"""The command line: `circuitc check|eval|graph|fmt|budget|compile|verify`.

app.py runs it (main: parse, dispatch, exit codes); parser.py builds the argument parser;
source_cmds.py holds check, eval, graph and fmt; network_cmds.py compile, budget and verify of
networks of instances; features_cmds.py the same for circuits over feature sets; tables.py and
render.py the output they share."""

from .app import main

__all__ = ["main"]
