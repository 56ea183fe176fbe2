"""The seal identity in a running Duet: `flask seal ...`, start-up, and sealing only with the
identity that sealed every earlier final agreement."""

import logging
import shutil

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from sqlalchemy import select
from weasyprint import HTML

from app import create_app
from app.accounts.models import User
from app.content import library
from app.couple import services as couples
from app.db import utcnow
from app.drafting import services as drafting
from app.extensions import db
from app.signing import pdf
from app.signing import services as signing
from app.signing.models import FinalDocument
from tests.conftest import Person, test_settings
from tests.integration.signing_helpers import finalise_through_services

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pyhanko.*")

ANOTHER_SEAL = "ab" * 32


def seal(app, *args, input=None):
    """`flask --app app seal ARGS`, as an operator would type it."""
    return app.test_cli_runner().invoke(args=["seal", *args], input=input)


def fingerprint_in(output: str) -> str:
    line = next(line for line in output.splitlines() if line.startswith("SHA-256 fingerprint:"))
    return line.split(":", 1)[1].strip()


def folder(app):
    return pdf.seal_folder(app.instance_path)


def current_fingerprint(app) -> str:
    with app.app_context():
        return signing.load_sealer().certificate_fingerprint


@pytest.fixture
def worker(request):
    """Another process of the same Duet, started now: same instance folder and database."""
    started = []

    def start(app):
        other = create_app(dict(app.config))
        started.append(other)
        return other

    yield start
    for app in started:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def final_document(app, email: str, **fields) -> int:
    """A final agreement of this person's couple, stored with the given fields."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        couple = couples.couple_of(user)
        agreement = drafting.start_agreement(couple, user, "en", "basic", library())
        agreement.drafting_couple_id = None
        values = {"fingerprint": "0" * 64, "review_on": utcnow().date(), "pdf": None} | fields
        db.session.add(FinalDocument(agreement_id=agreement.id, **values))
        db.session.commit()
        return agreement.id


def sealed_pdf(sealer: pdf.Sealer) -> bytes:
    return pdf.seal_pdf(HTML(string="<p>An earlier agreement</p>").write_pdf(), sealer)


# --- Made on purpose, once ---------------------------------------------------------------


def test_seal_init_makes_the_seal_once_and_says_so(app):
    shutil.rmtree(folder(app))  # the test settings made one, as the README's command does
    made = seal(app, "init")
    assert made.exit_code == 0, made.output
    assert f"Made a new seal in {folder(app)}" in made.output
    key = (folder(app) / "key.pem").read_bytes()

    again = seal(app, "init")
    assert again.exit_code == 0, again.output
    assert f"A seal exists in {folder(app)} already; nothing changed." in again.output
    assert fingerprint_in(again.output) == fingerprint_in(made.output)
    assert (folder(app) / "key.pem").read_bytes() == key


def test_seal_show_prints_the_fingerprint_and_validity(app):
    shown = seal(app, "show")
    assert shown.exit_code == 0, shown.output
    assert fingerprint_in(shown.output) == current_fingerprint(app)
    assert "Valid from" in shown.output and "until" in shown.output
    assert str(folder(app)) in shown.output


def test_seal_init_needs_the_database(tmp_path):
    app = create_app(test_settings(tmp_path, f"sqlite:///{tmp_path / 'before-upgrade.sqlite3'}"))
    try:
        result = seal(app, "init")
        assert result.exit_code == 1
        assert "has `flask --app app db upgrade` run?" in result.output
    finally:
        with app.app_context():
            db.engine.dispose()


# --- A running Duet never makes one --------------------------------------------------------


def test_a_running_duet_never_makes_a_seal(app, worker, caplog):
    with app.app_context():
        before = signing.sealer().certificate_fingerprint
    shutil.rmtree(folder(app))

    with app.app_context():
        # This process keeps the identity it loaded; nothing is written to disk.
        assert signing.sealer().certificate_fingerprint == before
    with caplog.at_level(logging.ERROR, logger="duet.seal"):
        started = worker(app)
    assert "Duet cannot seal or verify PDFs: there is no seal in" in caplog.text
    with started.app_context():
        with pytest.raises(pdf.SealUnavailable, match="seal init"):
            signing.sealer()
        with pytest.raises(pdf.SealUnavailable):
            signing.checked_sealer()
    assert not folder(app).exists()


def test_a_certificate_that_is_not_the_keys_is_refused(app, worker, caplog):
    stranger = pdf._self_signed(ec.generate_private_key(ec.SECP256R1()))
    certificate = stranger.public_bytes(serialization.Encoding.PEM)
    (folder(app) / "cert.pem").write_bytes(certificate)

    with caplog.at_level(logging.ERROR, logger="duet.seal"):
        started = worker(app)
    assert "does not belong to its key" in caplog.text
    with started.app_context(), pytest.raises(pdf.SealUnavailable):
        signing.sealer()
    for command in ("show", "check", "init"):
        result = seal(app, command)
        assert result.exit_code == 1, command
        assert (
            "Duet cannot seal:" in result.output and "does not belong to its key" in result.output
        )
    assert (folder(app) / "cert.pem").read_bytes() == certificate


# --- Only the identity that sealed the others --------------------------------------------


def test_the_seal_is_recorded_with_each_final_document(partners, app):
    anna, _bram = partners
    agreement_id = finalise_through_services(app, anna.email)
    with app.app_context():
        document = signing.complete_document(agreement_id, library())
        expected = signing.sealer().certificate_fingerprint
        assert document.seal_fingerprint == expected
        assert pdf.sealed_by(document.pdf) == expected


def test_sealing_is_refused_while_final_agreements_bear_another_seal(partners, app, caplog):
    anna, _bram = partners
    agreement_id = final_document(app, anna.email, seal_fingerprint=ANOTHER_SEAL, pdf=b"%PDF")

    with (
        app.app_context(),
        caplog.at_level(logging.ERROR, logger="duet.seal"),
        pytest.raises(pdf.SealUnavailable, match="sealed by another identity"),
    ):
        signing.checked_sealer()
    assert "Refusing to seal" in caplog.text and ANOTHER_SEAL in caplog.text
    for command in ("check", "init"):
        result = seal(app, command)
        assert result.exit_code == 1, command
        assert "another identity" in result.output

    with app.app_context():
        db.session.get(FinalDocument, agreement_id).seal_fingerprint = current_fingerprint(app)
        db.session.commit()
        assert signing.checked_sealer() is signing.sealer()
    assert seal(app, "check").exit_code == 0


@pytest.mark.parametrize("cause", ["no seal", "another identity"])
def test_a_pdf_that_cannot_be_sealed_waits_for_its_seal(partners, app, worker, cause):
    anna, _bram = partners
    if cause == "no seal":
        shutil.rmtree(folder(app))
    else:
        final_document(app, anna.email, seal_fingerprint=ANOTHER_SEAL, pdf=b"%PDF")
    started = worker(app)
    agreement_id = finalise_through_services(started, anna.email)

    with started.app_context():
        with pytest.raises(pdf.SealUnavailable):
            signing.complete_document(agreement_id, library())
        db.session.rollback()
        document = db.session.get(FinalDocument, agreement_id)
        assert document.pdf is None and document.seal_fingerprint is None
    assert not (cause == "no seal" and folder(app).exists())


def test_check_reads_the_seal_of_pdfs_stored_before_it_was_recorded(partners, app, tmp_path):
    anna, _bram = partners
    with app.app_context():
        ours = sealed_pdf(signing.sealer())
    theirs = sealed_pdf(pdf.Sealer.create(tmp_path / "lost-duet"))
    first = final_document(app, anna.email, pdf=ours)

    checked = seal(app, "check")
    assert checked.exit_code == 0, checked.output
    assert "Recorded the seal of 1 earlier final agreement(s)." in checked.output
    with app.app_context():
        assert db.session.get(FinalDocument, first).seal_fingerprint == current_fingerprint(app)

    final_document(app, anna.email, pdf=theirs)
    refused = seal(app, "check")
    assert refused.exit_code == 1
    assert "1 final agreement(s) were sealed by another identity" in refused.output


# --- A lost or replaced seal ---------------------------------------------------------------


def test_a_lost_seal_is_not_made_again_without_saying_so(partners, app, worker):
    anna, _bram = partners
    lost = current_fingerprint(app)
    final_document(app, anna.email, seal_fingerprint=lost, pdf=b"%PDF")
    shutil.rmtree(folder(app))

    refused = seal(app, "init")
    assert refused.exit_code == 1
    assert "Restore it from your backup" in refused.output and lost in refused.output
    assert not folder(app).exists()

    declined = seal(app, "init", "--replace", input="n\n")
    assert declined.exit_code == 1
    assert "1 final agreement(s) were sealed by the identity being replaced" in declined.output
    assert not folder(app).exists()

    replaced = seal(app, "init", "--replace", input="y\n")
    assert replaced.exit_code == 0, replaced.output
    assert fingerprint_in(replaced.output) != lost
    with worker(app).app_context():
        assert signing.checked_sealer().retired == {lost}


def test_replacing_a_seal_keeps_the_old_one(partners, app, worker):
    anna, _bram = partners
    old = current_fingerprint(app)
    old_key = (folder(app) / "key.pem").read_bytes()
    final_document(app, anna.email, seal_fingerprint=old, pdf=b"%PDF")

    replaced = seal(app, "init", "--replace", "--yes")
    assert replaced.exit_code == 0, replaced.output
    kept = next(folder(app).parent.glob("seal.replaced-*"))
    assert f"The old seal folder is kept as {kept}" in replaced.output
    assert (kept / "key.pem").read_bytes() == old_key
    assert fingerprint_in(replaced.output) not in (old, "")
    with worker(app).app_context():
        assert signing.checked_sealer().certificate_fingerprint != old
    assert seal(app, "check").exit_code == 0


# --- A PKCS#12 identity ----------------------------------------------------------------------


def _bundle(path, key, certificate=None, chain=()):
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"duet", key, certificate, list(chain), serialization.BestAvailableEncryption(b"secret")
        )
    )
    return str(path)


def test_seal_init_with_a_pkcs12_file_makes_nothing(make_app, tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    bundle = _bundle(tmp_path / "seal.p12", key, pdf._self_signed(key))
    app = make_app(SEAL_PKCS12_PATH=bundle, SEAL_PKCS12_PASSPHRASE="secret")
    result = seal(app, "init")
    assert result.exit_code == 0, result.output
    assert f"The seal is the PKCS#12 file {bundle}; nothing to make." in result.output
    assert not folder(app).exists()


def test_a_pkcs12_file_without_the_keys_certificate_is_refused(make_app, tmp_path, caplog):
    stranger = pdf._self_signed(ec.generate_private_key(ec.SECP256R1()))
    bundle = _bundle(
        tmp_path / "seal.p12", ec.generate_private_key(ec.SECP256R1()), None, [stranger]
    )
    with caplog.at_level(logging.ERROR, logger="duet.seal"):
        app = make_app(SEAL_PKCS12_PATH=bundle, SEAL_PKCS12_PASSPHRASE="secret")
    assert "holds no certificate for its key" in caplog.text
    result = seal(app, "show")
    assert result.exit_code == 1
    assert "holds no certificate for its key" in result.output


def test_a_new_pkcs12_identity_is_taken_only_on_purpose(make_app, tmp_path, worker):
    key = ec.generate_private_key(ec.SECP256R1())
    bundle = _bundle(tmp_path / "seal.p12", key, pdf._self_signed(key))
    app = make_app(SEAL_PKCS12_PATH=bundle, SEAL_PKCS12_PASSPHRASE="secret")
    anna = Person(app, "anna@example.com", "Anna").register()
    anna.create_couple()
    final_document(app, anna.email, seal_fingerprint=ANOTHER_SEAL, pdf=b"%PDF")

    assert seal(app, "init").exit_code == 1
    accepted = seal(app, "init", "--replace", "--yes")
    assert accepted.exit_code == 0, accepted.output
    assert f"The PKCS#12 file {bundle} is the seal from now on." in accepted.output
    with worker(app).app_context():
        assert signing.checked_sealer().retired == {ANOTHER_SEAL}
