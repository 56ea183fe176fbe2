"""`flask --app app demo`: Anna and Bram, a couple with the starter agreement begun, so a
newcomer sees the whole product in a minute on their own computer.

Never for a real installation: the command refuses a database or a PUBLIC_URL on another
machine unless told this is not production, and it never touches accounts but its own two.
"""

import secrets
from urllib.parse import urlsplit

from sqlalchemy import make_url, select

from app.accounts import services as accounts
from app.accounts.models import User
from app.content import library
from app.couple import services as couples
from app.drafting import services as drafting
from app.extensions import db
from app.transaction import unit_of_work

PEOPLE = (("anna@demo.duet", "Anna"), ("bram@demo.duet", "Bram"))
EMAILS = tuple(email for email, _name in PEOPLE)
STARTER = "basic"
LANGUAGE = "en"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
# Easy to read aloud and to type on a phone: no 0/o, 1/l/i.
PASSWORD_LETTERS = "abcdefghjkmnpqrstuvwxyz23456789"


def database_is_local(url: str) -> bool:
    """SQLite, or a server on this computer (by name, address or Unix socket)."""
    return make_url(url).get_backend_name() == "sqlite" or not _remote_hosts(url)


def address_is_local(public_url: str) -> bool:
    return urlsplit(public_url).hostname in LOCAL_HOSTS


def _remote_hosts(url: str) -> list[str]:
    """The hosts a database URL names that are not this computer: in the address, or in
    libpq's `?host=` (a list for several servers; a path is a local Unix socket)."""
    parsed = make_url(url)
    named = parsed.query.get("host", ())
    hosts = [parsed.host, *([named] if isinstance(named, str) else named)]
    return [
        host
        for host in hosts
        if host and not host.startswith("/") and host.strip("[]") not in LOCAL_HOSTS
    ]


def new_password() -> str:
    return "-".join("".join(secrets.choice(PASSWORD_LETTERS) for _ in range(4)) for _ in range(4))


def demo_accounts() -> list[User]:
    return list(db.session.scalars(select(User).where(User.email.in_(EMAILS)).order_by(User.id)))


def remove_demo() -> None:
    """Delete the demo accounts, and with them their couple and agreement."""
    for person in demo_accounts():
        accounts.erase_account(person)


def make_demo(password: str) -> int:
    """Anna invites Bram, Bram joins, Anna starts the basic agreement; the number of clauses.

    Each account in a unit of work of its own, since hashing a password must come before a
    transaction's first write; if a later step fails, the demo accounts made so far go.
    """
    (anna_email, anna_name), (bram_email, bram_name) = PEOPLE
    try:
        with unit_of_work():
            anna_id = accounts.register_user(anna_email, anna_name, password, locale=None).id
        with unit_of_work():
            bram = accounts.register_user(bram_email, bram_name, password, locale=None)
            anna = db.session.get(User, anna_id)
            couple = couples.create_couple(anna)
            couples.join_couple(bram, couple)
            agreement = drafting.start_agreement(couple, anna, LANGUAGE, STARTER, library())
            return len(agreement.clauses)
    except BaseException:
        with unit_of_work():
            remove_demo()
        raise


def starter_title() -> str:
    return next(item.title(LANGUAGE) for item in library().starters if item.id == STARTER)


def refusal(database: str, public: str) -> str | None:
    """Why the demo must not run here, or None: its accounts and printed password must never
    reach a real installation."""
    flag = "--yes-this-is-not-production"
    if not database_is_local(database):
        hosts = ", ".join(_remote_hosts(database))
        return (
            f"refusing: the database is on {hosts}, not this computer, so this may be "
            f"production (pass {flag} if it is not)."
        )
    if not address_is_local(public):
        return (
            f"refusing: PUBLIC_URL is {public}, not this computer, so this may be production "
            f"(pass {flag} if it is not)."
        )
    return None
