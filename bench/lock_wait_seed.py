"""Seed a database for bench/lock_wait.py with the code of the tree under test.

bench/lock_wait.py runs it as `python bench/lock_wait_seed.py SPEC OUT`, with PYTHONPATH set
to the tree it measures (today's, or an export of an old commit), so `app` is that tree's:
its migrations make the schema, its seal is made the way that version makes one, and its
own services pair the couples, approve every clause and sign. Settings come from the
environment (DATABASE_URL, SECRET_KEY, DUET_INSTANCE_PATH), as for gunicorn.

SPEC names how many finalising couples and login accounts to make and the password; OUT
receives the emails, ids and the path of the `app` package that made them.
"""

import json
import sys
from datetime import timedelta
from pathlib import Path


def make_seal(application) -> None:
    """`flask seal init` where it exists; older versions make the seal on first use."""
    if "seal" in application.cli.commands:
        result = application.test_cli_runner().invoke(args=["seal", "init"])
        if result.exit_code != 0:
            raise SystemExit(f"flask seal init failed: {result.output}")
    else:
        from app.signing.services import sealer

        sealer()


def pair(tag: str, password_hash: str):
    """Two partners of one couple, made with the couple's own services."""
    from app.accounts.models import User
    from app.couple import services as couples
    from app.extensions import db

    partners = [
        User(
            email=f"{tag}-{seat}@bench.example.com",
            display_name=f"{tag.title()} {'AB'[seat - 1]}",
            password_hash=password_hash,
            locale="en",
        )
        for seat in (1, 2)
    ]
    db.session.add_all(partners)
    db.session.flush()
    couple = couples.create_couple(partners[0])
    couples.join_couple(partners[1], couple)
    db.session.flush()
    return couple, partners


def ready_to_sign(tag: str, password: str, password_hash: str, library) -> dict:
    """A couple whose every clause both approved and whose first partner signed: the
    second partner's signature finalises it."""
    from app.db import utcnow, writing
    from app.drafting import services as drafting
    from app.extensions import db
    from app.signing import services as signing

    with writing():
        couple, partners = pair(tag, password_hash)
        agreement = drafting.start_agreement(couple, partners[0], "en", "basic", library)
        for clause in drafting.active_clauses(agreement):
            for partner in partners:
                drafting.approve(agreement, clause, partner, clause.version, library)
        db.session.commit()
        # In a transaction of its own: today's code checks the password before any write.
        signing.sign(
            agreement,
            partners[0],
            couple.partners,
            password=password,
            full_name=f"{tag.title()} A Bench",
            drawing="",
            typed=True,
            agreed=True,
            review_on=utcnow().date() + timedelta(days=28),
            library=library,
        )
        db.session.commit()
        return {"signer": partners[1].email, "agreement": agreement.id}


def main(spec_path: str, out_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    from flask_migrate import upgrade

    import app as package
    from app import create_app
    from app.accounts.models import User
    from app.accounts.services import hash_password
    from app.db import writing
    from app.extensions import db

    application = create_app()
    library = application.extensions["duet.content"]
    password = spec["password"]
    with application.app_context():
        upgrade()
        make_seal(application)
        # The production cost from the tree's config, as registration would store it.
        password_hash = hash_password(password)
        finalising = [
            ready_to_sign(f"finalising{number}", password, password_hash, library)
            for number in range(spec["couples"])
        ]
        with writing():
            _couple, writers = pair("writing", password_hash)
            logins = [f"login-{number}@bench.example.com" for number in range(spec["logins"])]
            db.session.add_all(
                User(email=email, display_name="Login", password_hash=password_hash, locale="en")
                for email in logins
            )
            db.session.commit()
        made = {
            "app": package.__file__,
            "finalising": finalising,
            "writer": writers[0].email,
            "prompt": library.prompts[0].id,
            "logins": logins,
        }
    Path(out_path).write_text(json.dumps(made))


if __name__ == "__main__":
    main(*sys.argv[1:])
