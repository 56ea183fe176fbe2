"""`flask translate ...`: keep the Dutch catalog in step with the code."""

from pathlib import Path

import click
from babel.messages.frontend import CommandLineInterface
from flask import Flask

from app.content import ContentError, load_library

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "app" / "translations"
POT = ROOT / "messages.pot"


def pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def extract(pot: Path = POT) -> None:
    pybabel(
        "extract",
        "-F",
        str(ROOT / "babel.cfg"),
        "-k",
        "_l",
        "--no-location",
        "--sort-output",
        "-o",
        str(pot),
        str(ROOT / "app"),
        str(ROOT / "templates"),
    )


def register_cli(app: Flask) -> None:
    @app.cli.group()
    def content():
        """Work with the content library in agreements/."""

    @content.command()
    def check():
        """Validate agreements/ exactly as start-up does."""
        load_library.cache_clear()
        try:
            library = load_library(Path(app.config["CONTENT_PATH"]))
        except ContentError as error:
            raise click.ClickException(str(error)) from None
        click.echo(
            f"OK: {len(library.prompts)} prompts in {len(library.themes)} themes, "
            f"{len(library.clauses)} clauses, {len(library.starters)} starters."
        )

    @app.cli.group()
    def translate():
        """Extract, update and compile the translation catalogs."""

    @translate.command()
    def update():
        """Extract every message afresh and merge it into each catalog."""
        extract()
        pybabel(
            "update",
            "-i",
            str(POT),
            "-d",
            str(TRANSLATIONS),
            "--no-fuzzy-matching",
            "--ignore-obsolete",
        )
        POT.unlink()

    @translate.command()
    def compile():
        """Compile the catalogs into the .mo files the app reads."""
        pybabel("compile", "-d", str(TRANSLATIONS))

    @translate.command()
    @click.argument("language")
    def init(language):
        """Start a catalog for a new language."""
        extract()
        pybabel("init", "-i", str(POT), "-d", str(TRANSLATIONS), "-l", language)
        POT.unlink()
