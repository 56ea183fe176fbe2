"""`flask content ...`, `flask translate ...`, `flask seal ...` and `flask demo`: the content
library, the Dutch catalog, the identity that seals the signed PDFs, and a couple to try."""

from contextlib import contextmanager
from pathlib import Path

import click
from babel.messages.frontend import CommandLineInterface
from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from app import demo
from app.content import ContentError, load_library
from app.db import writing
from app.extensions import db
from app.signing import pdf
from app.signing import services as signing
from app.transaction import unit_of_work

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

    register_seal_cli(app)
    register_demo_cli(app)


def register_seal_cli(app: Flask) -> None:
    @app.cli.group()
    def seal():
        """The identity that seals the signed PDFs: instance/seal/ or a PKCS#12 file."""

    @seal.command("init")
    @click.option("--replace", is_flag=True, help="Make a new identity in place of this one.")
    @click.option("--yes", is_flag=True, help="Replace without asking.")
    def seal_init(replace: bool, yes: bool):
        """Make the seal in instance/seal/ if there is none; running it again changes nothing."""
        instance = Path(app.instance_path)
        folder = pdf.seal_folder(instance)
        _record_seal_fingerprints()
        if app.config.get("SEAL_PKCS12_PATH"):
            identity = _loaded()
            if replace:
                _accept(identity, folder, yes)
            else:
                _checked(identity)
                click.echo(f"The seal is the PKCS#12 file {identity.source}; nothing to make.")
            _describe(identity)
            return
        if replace:
            _replace(instance, folder, yes)
            return
        if folder.exists():
            identity = _checked(_loaded())
            click.echo(f"A seal exists in {folder} already; nothing changed.")
            _describe(identity)
            return
        others = _foreign_seals(None)
        if others:
            raise click.ClickException(
                f"{sum(others.values())} final agreement(s) were sealed by "
                f"{', '.join(sorted(others))}, and {folder} is missing. Restore it from your "
                "backup. If it is lost for good, `flask --app app seal init --replace` makes a "
                "new seal, and those PDFs will no longer verify on this site."
            )
        try:
            identity = pdf.Sealer.create(instance, signing.seal_passphrase())
        except FileExistsError:
            identity = _loaded()  # another `seal init` made it a moment ago
            click.echo(f"A seal exists in {folder} already; nothing changed.")
        else:
            click.echo(f"Made a new seal in {folder}. Back it up: see README.md, Deploying.")
        _describe(identity)

    @seal.command("show")
    def seal_show():
        """Print the seal certificate's SHA-256 fingerprint and validity."""
        _describe(_loaded())

    @seal.command("check")
    def seal_check():
        """Check the seal loads and sealed every final agreement that records one."""
        identity = _loaded()
        _record_seal_fingerprints()
        _checked(identity)
        click.echo(f"OK: no final agreement is sealed by another identity than {identity.source}.")
        _describe(identity)


def register_demo_cli(app: Flask) -> None:
    @app.cli.command("demo")
    @click.option("--reset", is_flag=True, help="Delete the demo accounts first, then make anew.")
    @click.option(
        "--yes-this-is-not-production",
        "not_production",
        is_flag=True,
        help="Run even though the database or PUBLIC_URL names another machine.",
    )
    def demo_command(reset: bool, not_production: bool):
        """Make Anna and Bram, a couple with the starter agreement begun (not in production)."""
        public = app.config["PUBLIC_URL"].rstrip("/")
        refusal = demo.refusal(app.config["SQLALCHEMY_DATABASE_URI"], public)
        if refusal and not not_production:
            raise click.ClickException(refusal)
        password = demo.new_password()
        with _database():
            with unit_of_work():
                removed = bool(demo.demo_accounts())
                if removed and not reset:
                    raise click.ClickException(
                        f"the demo accounts ({', '.join(demo.EMAILS)}) exist already; "
                        "`flask --app app demo --reset` deletes them and makes them anew."
                    )
                demo.remove_demo()
            clauses = demo.make_demo(password)
        if removed:
            click.echo("Deleted the old demo accounts and everything they held.")
        click.echo(
            f'Made a demo couple, Anna and Bram, with "{demo.starter_title()}" started '
            f"({clauses} clauses, none agreed yet)."
        )
        click.echo(f"\nOpen {public}/login and sign in:")
        for email, name in demo.PEOPLE:
            click.echo(f"  {name}: {email}")
        click.echo(f"  Password for both: {password}  (shown only now)")
        click.echo(
            "\nSign in as Anna in this browser and as Bram in a private window or another\n"
            "browser: each keeps its own sign-in. `--reset` starts again from scratch."
        )


def _loaded() -> pdf.Sealer:
    try:
        return signing.load_sealer()
    except pdf.SealUnavailable as error:
        raise click.ClickException(f"Duet cannot seal: {error}") from None


def _checked(identity: pdf.Sealer) -> pdf.Sealer:
    try:
        signing.check_seal_identity(identity)
    except pdf.SealUnavailable as error:
        raise click.ClickException(f"Duet will not seal: {error}") from None
    return identity


def _foreign_seals(identity: pdf.Sealer | None) -> dict[str, int]:
    with _database():
        return signing.foreign_seals(identity)


def _record_seal_fingerprints() -> None:
    with _database(), writing():
        recorded = signing.record_seal_fingerprints()
        db.session.commit()
    if recorded:
        click.echo(f"Recorded the seal of {recorded} earlier final agreement(s).")


@contextmanager
def _database():
    """Database errors as one line that says what to do, not a traceback."""
    try:
        yield
    except SQLAlchemyError as error:
        db.session.rollback()
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise click.ClickException(
            f"cannot read the database (has `flask --app app db upgrade` run?): {reason}"
        ) from None


def _replace(instance: Path, folder: Path, yes: bool) -> None:
    """A new key in instance/seal/; every identity that sealed a final agreement is retired."""
    others = _foreign_seals(None)
    _confirm(sum(others.values()), yes)
    identity, kept = pdf.Sealer.replace(instance, signing.seal_passphrase(), tuple(others))
    click.echo(f"Made a new seal in {folder}. Back it up: see README.md, Deploying.")
    if kept is not None:
        click.echo(f"The old seal folder is kept as {kept}.")
    _describe(identity)


def _accept(identity: pdf.Sealer, folder: Path, yes: bool) -> None:
    """Take a new PKCS#12 identity (a renewed certificate, another key) as the seal from now on."""
    others = _foreign_seals(identity)
    _confirm(sum(others.values()), yes)
    pdf.write_retired(folder, identity.retired | set(others))
    click.echo(f"The PKCS#12 file {identity.source} is the seal from now on.")


def _confirm(earlier: int, yes: bool) -> None:
    if earlier and not yes:
        click.confirm(
            f"{earlier} final agreement(s) were sealed by the identity being replaced; their "
            "PDFs stay valid, but this site will no longer recognise them. Replace it?",
            abort=True,
        )


def _describe(identity: pdf.Sealer) -> None:
    certificate = identity.certificate
    click.echo(f"Seal: {identity.source}")
    click.echo(f"Subject: {certificate.subject.human_friendly}")
    click.echo(f"SHA-256 fingerprint: {identity.certificate_fingerprint}")
    click.echo(
        f"Valid from {certificate.not_valid_before:%Y-%m-%d %H:%M} UTC "
        f"until {certificate.not_valid_after:%Y-%m-%d %H:%M} UTC"
    )
    if identity.retired:
        click.echo(f"Replaces {len(identity.retired)} earlier identity(ies) on purpose.")
