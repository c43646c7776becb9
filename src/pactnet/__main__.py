"""`python -m pactnet` runs the command line."""

from pactnet.cli.main import run

run()
