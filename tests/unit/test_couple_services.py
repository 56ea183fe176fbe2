import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.accounts import services as accounts
from app.couple import services
from app.couple.models import Couple, Membership
from app.db import utcnow
from app.extensions import db

PASSWORD = "a long enough password"


@pytest.fixture
def people(ctx):
    def make(name):
        user = accounts.register_user(f"{name.lower()}@example.com", name, PASSWORD, "en")
        db.session.flush()
        return user

    return make


def test_invite_code_is_short_and_unambiguous(ctx, people):
    couple = services.create_couple(people("Anna"))
    assert re.fullmatch(
        r"[34679ACDEFGHJKMNPQRTWXY]{3}-[34679ACDEFGHJKMNPQRTWXY]{3}", couple.invite_code
    )
    assert len(couple.invite_token) >= 40


def test_typed_codes_are_read_leniently():
    assert services.normalise_code(" k7m 3qx ") == "K7M-3QX"
    assert services.normalise_code("k7m-3qx") == "K7M-3QX"


def test_partner_joins_with_the_code(ctx, people):
    anna, bram = people("Anna"), people("Bram")
    couple = services.create_couple(anna)
    services.join_couple(bram, services.couple_for_code(couple.invite_code.lower()))
    assert services.partner_of(anna) is bram
    assert services.partner_of(bram) is anna
    assert services.is_complete(couple)


def test_partner_joins_with_the_link_token(ctx, people):
    anna, bram = people("Anna"), people("Bram")
    couple = services.create_couple(anna)
    services.join_couple(bram, services.couple_for_token(couple.invite_token))
    assert services.couple_of(bram) is couple


def test_a_third_person_cannot_join(ctx, people):
    anna, bram, cleo = people("Anna"), people("Bram"), people("Cleo")
    couple = services.create_couple(anna)
    services.join_couple(bram, couple)
    with pytest.raises(services.CoupleError, match="two partners"):
        services.couple_for_code(couple.invite_code)
    with pytest.raises(services.CoupleError, match="two partners"):
        services.join_couple(cleo, couple)


def test_the_database_holds_two_seats_only(ctx, people):
    anna, bram, cleo = people("Anna"), people("Bram"), people("Cleo")
    couple = services.create_couple(anna)
    services.join_couple(bram, couple)
    db.session.add(Membership(couple=couple, user=cleo, seat=2))
    with pytest.raises(IntegrityError):
        db.session.flush()


def test_one_couple_per_person(ctx, people):
    anna, bram = people("Anna"), people("Bram")
    services.create_couple(anna)
    other = services.create_couple(bram)
    with pytest.raises(services.CoupleError, match="already in a couple"):
        services.join_couple(anna, other)
    with pytest.raises(services.CoupleError):
        services.create_couple(anna)


def test_joining_your_own_invite_is_refused(ctx, people):
    anna = people("Anna")
    couple = services.create_couple(anna)
    with pytest.raises(services.CoupleError, match="your own invite"):
        services.join_couple(anna, couple)


def test_invite_expires_after_seven_days(ctx, people):
    couple = services.create_couple(people("Anna"))
    services.couple_for_code(couple.invite_code, now=utcnow() + timedelta(days=6, hours=23))
    with pytest.raises(services.CoupleError, match="expired"):
        services.couple_for_code(couple.invite_code, now=utcnow() + timedelta(days=7, minutes=1))


def test_wrong_code_is_refused(ctx, people):
    services.create_couple(people("Anna"))
    with pytest.raises(services.CoupleError, match="does not match"):
        services.couple_for_code("AAA-AAA")
    with pytest.raises(services.CoupleError, match="does not match"):
        services.couple_for_token("not-a-token")


def test_renewing_the_invite_retires_the_old_one(ctx, people):
    couple = services.create_couple(people("Anna"))
    old_code, old_token = couple.invite_code, couple.invite_token
    services.renew_invite(couple)
    assert (couple.invite_code, couple.invite_token) != (old_code, old_token)
    with pytest.raises(services.CoupleError):
        services.couple_for_code(old_code)
    with pytest.raises(services.CoupleError):
        services.couple_for_token(old_token)
    assert services.couple_for_code(couple.invite_code) is couple


def test_leaving_ends_the_couple_for_both(ctx, people):
    anna, bram = people("Anna"), people("Bram")
    couple = services.create_couple(anna)
    services.join_couple(bram, couple)
    with pytest.raises(services.CoupleError):
        services.leave_couple(bram, "wrong")
    services.leave_couple(bram, PASSWORD)
    db.session.commit()
    assert services.couple_of(anna) is None
    assert services.couple_of(bram) is None
    assert db.session.scalar(select(Couple)) is None


def test_deleting_an_account_ends_the_couple(ctx, people):
    anna, bram = people("Anna"), people("Bram")
    services.join_couple(bram, services.create_couple(anna))
    accounts.delete_account(bram, PASSWORD)
    db.session.commit()
    assert services.couple_of(anna) is None
    assert db.session.scalar(select(Membership)) is None


def test_export_names_the_partner_only(ctx, people):
    anna, bram = people("Anna"), people("Bram")
    services.join_couple(bram, services.create_couple(anna))
    data = accounts.export_data(anna)
    assert data["couple"]["partner_display_name"] == "Bram"
    assert "bram@example.com" not in str(data)
