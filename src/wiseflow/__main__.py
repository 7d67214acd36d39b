"""``python -m wiseflow`` runs the CLI."""

from ._cli import main

main()
