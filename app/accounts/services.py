"""Account rules: registration, passwords, signed-in devices, reset, export, deletion.

Services take model objects and plain data, change objects and flush; the view commits.
"""

import hashlib
import io
import secrets
import zipfile
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from blinker import Namespace
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select, update

from app import live
from app.accounts.models import Device, PasswordReset, User
from app.db import as_utc, utcnow
from app.extensions import db
from app.outbox import push
from app.transaction import unlocked

_signals = Namespace()
#: Sent with the user before an account is deleted; later features tidy up what they own.
account_deleting = _signals.signal("account-deleting")
#: Sent with the user when they export their data; receivers return a dict to merge in.
exporting = _signals.signal("exporting")
#: Sent with the user when they export their data; receivers return a list of
#: (file name, bytes) to add to the archive beside the JSON.
exporting_files = _signals.signal("exporting-files")
#: Sent with the user and their new `name` just before they change their display name.
renaming = _signals.signal("renaming")


class AccountError(Exception):
    """A rule was not met; `field` names the form field the message belongs to."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def _hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(
        time_cost=config["ARGON2_TIME_COST"], memory_cost=config["ARGON2_MEMORY_COST"]
    )


def digest(token: str) -> str:
    """What the database keeps of a session or reset token."""
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def hash_password(password: str) -> str:
    with unlocked():
        return _hasher().hash(password)


def password_matches(user: User | None, password: str) -> bool:
    """Whether the password is the user's; hashing runs outside the transaction's lock."""
    hasher = _hasher()
    stored = user.password_hash if user is not None else None
    with unlocked():
        if stored is None:
            # Same work for an unknown address, so timing does not reveal who is registered.
            hasher.hash(password)
            return False
        try:
            return hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def check_email_free(email: str) -> None:
    if user_by_email(email) is not None:
        raise AccountError(
            "email", _("This email already has an account. Log in, or reset your password.")
        )


def register_user(email: str, display_name: str, password: str, locale: str | None) -> User:
    check_email_free(email)
    user = User(
        email=normalise_email(email),
        display_name=display_name.strip(),
        password_hash=hash_password(password),
        locale=locale,
    )
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(email: str, password: str) -> User | None:
    user = user_by_email(email)
    return user if password_matches(user, password) else None


def start_session(user: User, user_agent: str) -> str:
    """Record a new signed-in device and return the token that the session cookie carries."""
    token = secrets.token_urlsafe(32)
    device = Device(user=user, token_hash=digest(token), user_agent=user_agent[:512])
    db.session.add(device)
    db.session.flush()
    user.current_device = device
    user.session_token = token
    return token


def user_for_session(token: str) -> User | None:
    """The user a session token belongs to, or None once that device was signed out."""
    device = db.session.scalar(select(Device).where(Device.token_hash == digest(token)))
    if device is None:
        return None
    user = device.user
    user.current_device = device
    user.session_token = token
    return user


def device_needs_touch(device: Device, now: datetime | None = None) -> bool:
    """Whether the last-seen time is old enough to write again."""
    elapsed = (now or utcnow()) - as_utc(device.last_seen_at)
    return elapsed > current_app.config["DEVICE_TOUCH_INTERVAL"]


def touch_device(device_id: int, now: datetime | None = None) -> None:
    db.session.execute(
        update(Device).where(Device.id == device_id).values(last_seen_at=now or utcnow())
    )


def end_session(user: User) -> None:
    if user.current_device is not None:
        push.forget_device(user.current_device.id)
        db.session.delete(user.current_device)
        user.current_device = None
        live.signed_out(user.id)


def sign_out_device(user: User, device_id: int) -> Device | None:
    """Sign out one of the user's own devices; None if it is not theirs."""
    device = db.session.scalar(
        select(Device).where(Device.id == device_id, Device.user_id == user.id)
    )
    if device is not None:
        push.forget_device(device.id)
        db.session.delete(device)
        live.signed_out(user.id)
    return device


def sign_out_other_devices(user: User) -> None:
    keep = user.current_device.id if user.current_device else None
    push.forget_devices_of(user.id, keep=keep)
    db.session.execute(delete(Device).where(Device.user_id == user.id, Device.id != keep))
    live.signed_out(user.id)


def devices_of(user: User) -> list[Device]:
    return list(
        db.session.scalars(
            select(Device).where(Device.user_id == user.id).order_by(Device.last_seen_at.desc())
        )
    )


def check_current_password(user: User, current: str) -> None:
    if not password_matches(user, current):
        raise AccountError("current_password", _("That is not your current password."))


def change_password(user: User, current: str, new: str) -> None:
    check_current_password(user, current)
    user.password_hash = hash_password(new)
    sign_out_other_devices(user)
    _end_reset_links(user)


def request_password_reset(email: str) -> tuple[User, str] | None:
    """Make a single-use reset token; None (and no trace) when no account has that email."""
    user = user_by_email(email)
    if user is None:
        return None
    token = secrets.token_urlsafe(32)
    db.session.add(
        PasswordReset(
            user_id=user.id,
            token_hash=digest(token),
            expires_at=utcnow() + current_app.config["PASSWORD_RESET_VALID_FOR"],
        )
    )
    db.session.flush()
    return user, token


def valid_reset(token: str, now: datetime | None = None) -> PasswordReset | None:
    reset = db.session.scalar(
        select(PasswordReset).where(PasswordReset.token_hash == digest(token))
    )
    now = now or utcnow()
    if reset is None or reset.used_at is not None or as_utc(reset.expires_at) <= now:
        return None
    return reset


def reset_password(reset: PasswordReset, new: str) -> User:
    user = db.session.get(User, reset.user_id)
    user.password_hash = hash_password(new)
    reset.used_at = utcnow()
    # Whoever knew the old password is signed out everywhere.
    push.forget_devices_of(user.id)
    db.session.execute(delete(Device).where(Device.user_id == user.id))
    live.signed_out(user.id)
    _end_reset_links(user, keep=reset)
    return user


def _end_reset_links(user: User, keep: PasswordReset | None = None) -> None:
    """A new password ends every link that was sent to set one (except the one just used)."""
    outstanding = delete(PasswordReset).where(PasswordReset.user_id == user.id)
    if keep is not None:
        outstanding = outstanding.where(PasswordReset.id != keep.id)
    db.session.execute(outstanding)


def update_profile(user: User, display_name: str, locale: str | None) -> None:
    display_name = display_name.strip()
    if display_name != user.display_name:
        # Before the change, so receivers take their locks before this row is written
        # (in the same order as signing does) and see the name as it was.
        renaming.send(user, name=display_name)
    user.display_name = display_name
    user.locale = locale


def export_data(user: User) -> dict:
    data = {
        "account": {
            "email": user.email,
            "display_name": user.display_name,
            "language": user.locale,
            "created_at": as_utc(user.created_at).isoformat(),
        },
        "signed_in_devices": [
            {
                "browser": device.user_agent,
                "signed_in_at": as_utc(device.created_at).isoformat(),
                "last_seen_at": as_utc(device.last_seen_at).isoformat(),
                "push_notifications": push.described(device.id),
            }
            for device in devices_of(user)
        ],
    }
    for _receiver, part in exporting.send(user):
        data.update(part)
    return data


def export_archive(user: User) -> bytes:
    """Everything Duet holds of this person, as a ZIP: `duet-my-data.json` and the files
    features add (the signed agreements, as PDF and as text)."""
    data = current_app.json.dumps(export_data(user), indent=2)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("duet-my-data.json", data)
        for _receiver, files in exporting_files.send(user):
            for name, content in files:
                package.writestr(name, content)
    return archive.getvalue()


def delete_account(user: User, password: str) -> None:
    if not password_matches(user, password):
        raise AccountError("password", _("That is not your password."))
    erase_account(user)


def erase_account(user: User) -> None:
    """The account and everything Duet holds about the person go, their couple with them.
    The password is checked before (delete_account); `flask demo --reset` needs none."""
    account_deleting.send(user)
    live.signed_out(user.id)
    db.session.delete(user)
    db.session.flush()
