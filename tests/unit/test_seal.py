"""The seal identity: made only on purpose, loaded only when its parts belong together."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from weasyprint import HTML

from app.signing.pdf import (
    RETIRED_FILE,
    Sealer,
    SealUnavailable,
    _self_signed,
    seal_folder,
    seal_pdf,
    sealed_by,
)


def _bundle(path, key, certificate=None, chain=(), passphrase=b"secret"):
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"duet",
            key,
            certificate,
            list(chain),
            serialization.BestAvailableEncryption(passphrase),
        )
    )
    return path


def test_loading_never_makes_a_seal(tmp_path):
    with pytest.raises(SealUnavailable, match=r"no seal in .*seal init"):
        Sealer.load(tmp_path)
    assert not seal_folder(tmp_path).exists()


@pytest.mark.parametrize("missing", ["key.pem", "cert.pem"])
def test_a_seal_missing_half_is_refused_and_not_completed(tmp_path, missing):
    Sealer.create(tmp_path)
    (seal_folder(tmp_path) / missing).unlink()
    with pytest.raises(SealUnavailable, match=missing):
        Sealer.load(tmp_path)
    assert not (seal_folder(tmp_path) / missing).exists()


def test_a_certificate_that_is_not_the_keys_is_refused(tmp_path):
    Sealer.create(tmp_path)
    stranger = _self_signed(ec.generate_private_key(ec.SECP256R1()))
    (seal_folder(tmp_path) / "cert.pem").write_bytes(
        stranger.public_bytes(serialization.Encoding.PEM)
    )
    with pytest.raises(SealUnavailable, match="does not belong to its key") as refused:
        Sealer.load(tmp_path)
    assert "\n" not in str(refused.value)


def test_what_is_not_a_certificate_is_refused(tmp_path):
    Sealer.create(tmp_path)
    (seal_folder(tmp_path) / "cert.pem").write_text("not a certificate")
    with pytest.raises(SealUnavailable, match="is not a certificate"):
        Sealer.load(tmp_path)


def test_a_pkcs12_file_without_the_keys_certificate_is_refused(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    stranger = _self_signed(ec.generate_private_key(ec.SECP256R1()))
    bundle = _bundle(tmp_path / "seal.p12", key, chain=[stranger])
    with pytest.raises(SealUnavailable, match="no certificate for its key"):
        Sealer.load(tmp_path, pkcs12_path=bundle, passphrase=b"secret")


def test_a_pkcs12_file_that_cannot_be_opened_is_refused(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    bundle = _bundle(tmp_path / "seal.p12", key, _self_signed(key))
    with pytest.raises(SealUnavailable, match="cannot open the PKCS#12 file"):
        Sealer.load(tmp_path, pkcs12_path=bundle, passphrase=b"wrong")
    with pytest.raises(SealUnavailable, match="cannot read"):
        Sealer.load(tmp_path, pkcs12_path=tmp_path / "absent.p12", passphrase=b"secret")


def test_a_seal_is_never_made_over_another(tmp_path):
    first = Sealer.create(tmp_path)
    key = (seal_folder(tmp_path) / "key.pem").read_bytes()
    with pytest.raises(FileExistsError):
        Sealer.create(tmp_path)
    assert (seal_folder(tmp_path) / "key.pem").read_bytes() == key
    assert Sealer.load(tmp_path).certificate_fingerprint == first.certificate_fingerprint


def test_replacing_keeps_the_old_seal_and_records_what_it_retires(tmp_path):
    old = Sealer.create(tmp_path)
    old_key = (seal_folder(tmp_path) / "key.pem").read_bytes()
    earlier = "ab" * 32
    new, kept = Sealer.replace(tmp_path, retired=(old.certificate_fingerprint, earlier))
    assert new.certificate_fingerprint != old.certificate_fingerprint
    assert new.retired == {old.certificate_fingerprint, earlier}
    assert (kept / "key.pem").read_bytes() == old_key
    assert Sealer.load(tmp_path).certificate_fingerprint == new.certificate_fingerprint
    assert (seal_folder(tmp_path) / RETIRED_FILE).exists()


def test_sealed_by_names_the_certificate_that_sealed(tmp_path):
    sealer = Sealer.create(tmp_path)
    unsealed = HTML(string="<p>Duet</p>").write_pdf()
    sealed = seal_pdf(unsealed, sealer)
    assert sealed_by(sealed) == sealer.certificate_fingerprint
    assert sealed_by(unsealed) is None
    assert sealed_by(b"not a pdf") is None
