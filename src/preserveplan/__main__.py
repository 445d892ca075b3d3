"""`python -m preserveplan` runs the command line."""

from .cli import main

main()
