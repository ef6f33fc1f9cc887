"""`python -m artgan` runs the command line."""

from .cli import main

main()
