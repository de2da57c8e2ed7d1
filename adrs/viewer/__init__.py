"""`adrs serve`: a local web viewer of one run, updated live while the run goes on.

source.py reads the run (git through RunRepository and the ProgramDatabase, the checkpoint
through the graph), views.py shapes it as JSON, app.py serves it with Starlette, access.py
decides who may read and write, server.py runs uvicorn. Like the command line, this package
reaches runs through adrs.graph and adrs.workspace only (and adrs.report's summaries).
"""
