"""``python -m gre.cli``."""

from gre.cli.app import main

main()
