"""Entry script of the PyInstaller bundle: no arguments opens the app, arguments run the CLI."""

from soundsearch.cli import main

raise SystemExit(main())
