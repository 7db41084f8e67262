"""`python -m matcher.cli`."""

from . import main

main()
