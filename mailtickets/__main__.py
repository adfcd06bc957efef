"""`python -m mailtickets` runs the command line."""

from mailtickets.cli import main

main()
