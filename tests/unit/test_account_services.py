from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from app.accounts import services
from app.accounts.models import Device, User
from app.db import as_utc, utcnow
from app.extensions import db

PASSWORD = "a long enough password"


def make_user(email="anna@example.com", name="Anna") -> User:
    user = services.register_user(email, name, PASSWORD, "en")
    db.session.commit()
    return user


def test_passwords_are_hashed_with_argon2id(ctx):
    user = make_user()
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert services.password_matches(user, PASSWORD)
    assert not services.password_matches(user, PASSWORD + "!")


def test_email_is_normalised_and_unique(ctx):
    user = make_user(email="  Anna@Example.COM ")
    assert user.email == "anna@example.com"
    with pytest.raises(services.AccountError) as error:
        services.register_user("ANNA@example.com", "Other", PASSWORD, None)
    assert error.value.field == "email"


def test_authenticate_needs_the_right_password(ctx):
    user = make_user()
    assert services.authenticate("anna@example.com", PASSWORD) is user
    assert services.authenticate("anna@example.com", "wrong password") is None
    assert services.authenticate("nobody@example.com", PASSWORD) is None


def test_an_unknown_email_costs_as_much_hashing_as_a_wrong_password(ctx, monkeypatch):
    make_user()
    calls = []
    for name in ("hash", "verify"):
        original = getattr(PasswordHasher, name)
        monkeypatch.setattr(
            PasswordHasher,
            name,
            lambda self, *args, _name=name, _original=original: (
                calls.append(_name) or _original(self, *args)
            ),
        )
    assert services.authenticate("anna@example.com", "not the password") is None
    assert services.authenticate("nobody@example.com", "not the password") is None
    assert calls == ["verify", "hash"]


def test_each_session_gets_its_own_token_and_device(ctx):
    user = make_user()
    first = services.start_session(user, "Mozilla/5.0 (iPhone)")
    second = services.start_session(user, "Mozilla/5.0 (X11; Linux)")
    db.session.commit()
    assert first != second
    assert services.user_for_session(first).current_device.user_agent == "Mozilla/5.0 (iPhone)"
    # Only a digest of the token is stored.
    stored = db.session.scalars(select(Device.token_hash)).all()
    assert first not in stored and second not in stored


def test_ending_a_session_refuses_its_token(ctx):
    user = make_user()
    token = services.start_session(user, "phone")
    other = services.start_session(user, "laptop")
    db.session.commit()
    services.end_session(services.user_for_session(token))
    db.session.commit()
    assert services.user_for_session(token) is None
    assert services.user_for_session(other) is not None


def test_last_seen_is_written_at_most_every_few_minutes(ctx):
    user = make_user()
    token = services.start_session(user, "phone")
    db.session.commit()
    device = services.user_for_session(token).current_device
    assert not services.device_needs_touch(device, now=utcnow() + timedelta(minutes=1))
    later = utcnow() + timedelta(minutes=10)
    assert services.device_needs_touch(device, now=later)
    services.touch_device(device.id, now=later)
    db.session.commit()
    db.session.refresh(device)
    assert as_utc(device.last_seen_at) == later


def test_password_change_signs_out_every_other_device(ctx):
    user = make_user()
    kept = services.start_session(user, "phone")
    gone = services.start_session(user, "laptop")
    db.session.commit()
    current = services.user_for_session(kept)
    services.change_password(current, PASSWORD, "a brand new password")
    db.session.commit()
    assert services.user_for_session(kept) is not None
    assert services.user_for_session(gone) is None
    assert services.authenticate("anna@example.com", "a brand new password") is user


def test_password_change_needs_the_current_password(ctx):
    user = make_user()
    with pytest.raises(services.AccountError) as error:
        services.change_password(user, "not it", "a brand new password")
    assert error.value.field == "current_password"


def test_sign_out_device_only_touches_own_devices(ctx):
    anna, bram = make_user(), make_user("bram@example.com", "Bram")
    services.start_session(anna, "phone")
    services.start_session(bram, "phone")
    db.session.commit()
    brams_device = bram.devices[0]
    assert services.sign_out_device(anna, brams_device.id) is None
    assert services.sign_out_device(bram, brams_device.id) is brams_device


def test_reset_token_is_single_use_and_signs_out_everywhere(ctx):
    user = make_user()
    session_token = services.start_session(user, "phone")
    found = services.request_password_reset("ANNA@example.com")
    db.session.commit()
    assert found is not None
    _, token = found
    reset = services.valid_reset(token)
    services.reset_password(reset, "a brand new password")
    db.session.commit()
    assert services.valid_reset(token) is None
    assert services.user_for_session(session_token) is None
    assert services.authenticate("anna@example.com", "a brand new password") is user


def test_a_reset_lets_no_other_outstanding_link_work(ctx):
    make_user()
    _, first = services.request_password_reset("anna@example.com")
    _, second = services.request_password_reset("anna@example.com")
    db.session.commit()
    services.reset_password(services.valid_reset(second), "a brand new password")
    db.session.commit()
    assert services.valid_reset(first) is None
    assert services.valid_reset(second) is None


def test_a_password_change_ends_every_outstanding_reset_link(ctx):
    user = make_user()
    _, token = services.request_password_reset("anna@example.com")
    db.session.commit()
    services.change_password(user, PASSWORD, "a brand new password")
    db.session.commit()
    assert services.valid_reset(token) is None


def test_reset_token_expires_after_an_hour(ctx):
    make_user()
    _, token = services.request_password_reset("anna@example.com")
    db.session.commit()
    assert services.valid_reset(token, now=utcnow() + timedelta(minutes=59)) is not None
    assert services.valid_reset(token, now=utcnow() + timedelta(minutes=61)) is None


def test_reset_for_unknown_email_leaves_no_trace(ctx):
    assert services.request_password_reset("nobody@example.com") is None
    assert services.valid_reset("made-up-token") is None


def test_export_holds_account_and_devices(ctx):
    user = make_user()
    services.start_session(user, "Mozilla/5.0 (iPhone)")
    db.session.commit()
    data = services.export_data(user)
    assert data["account"]["email"] == "anna@example.com"
    assert data["account"]["display_name"] == "Anna"
    assert data["signed_in_devices"][0]["browser"] == "Mozilla/5.0 (iPhone)"
    assert "password_hash" not in str(data)


def test_delete_account_needs_the_password_and_removes_everything(ctx):
    user = make_user()
    services.start_session(user, "phone")
    db.session.commit()
    with pytest.raises(services.AccountError):
        services.delete_account(user, "wrong")
    services.delete_account(user, PASSWORD)
    db.session.commit()
    assert db.session.scalar(select(User)) is None
    assert db.session.scalar(select(Device)) is None
