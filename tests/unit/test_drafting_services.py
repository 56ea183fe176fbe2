"""Drafting rules, without a request: approvals, versions, the revision counter."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.accounts import services as accounts
from app.content import load_library
from app.couple import services as couples
from app.drafting import services
from app.drafting.models import Agreement, Event
from app.extensions import db

LIBRARY = load_library(Path(__file__).resolve().parents[2] / "agreements")
PASSWORD = "a long enough password"


@pytest.fixture
def pair(ctx):
    anna = accounts.register_user("anna@example.com", "Anna", PASSWORD, "en")
    bram = accounts.register_user("bram@example.com", "Bram", PASSWORD, "nl")
    couple = couples.create_couple(anna)
    couples.join_couple(bram, couple)
    db.session.commit()
    return anna, bram, couple


@pytest.fixture
def draft(pair):
    anna, _bram, couple = pair
    agreement = services.start_agreement(couple, anna, "en", "basic", LIBRARY)
    db.session.commit()
    return agreement


def by_template(agreement, template_id):
    return next(c for c in agreement.clauses if c.template_id == template_id)


def revision_of(agreement) -> int:
    db.session.expire_all()
    return db.session.get(Agreement, agreement.id).revision


def test_a_starter_gives_its_clauses_in_order_with_its_values(draft):
    starter = next(s for s in LIBRARY.starters if s.id == "basic")
    assert [c.template_id for c in services.active_clauses(draft)] == [
        item.clause for item in starter.clauses
    ]
    assert by_template(draft, "pause-has-a-limit").params == {"minutes": 60}
    assert by_template(draft, "ask-for-space").params == {"signal": "I need a pause"}


def test_text_defaults_follow_the_agreement_language(pair):
    anna, _bram, couple = pair
    agreement = services.start_agreement(couple, anna, "nl", "basic", LIBRARY)
    assert by_template(agreement, "ask-for-space").params == {"signal": "Ik heb even pauze nodig"}


def test_one_draft_per_couple(pair, draft):
    anna, _bram, couple = pair
    with pytest.raises(services.DraftingError):
        services.start_agreement(couple, anna, "en", None, LIBRARY)


def test_unknown_template_and_starter_are_refused(pair, draft):
    anna, _bram, couple = pair
    with pytest.raises(services.DraftingError) as error:
        services.add_clause(draft, anna, "no-such-clause", LIBRARY)
    assert "template" in error.value.errors
    db.session.rollback()
    db.session.delete(draft)
    db.session.commit()
    with pytest.raises(services.DraftingError):
        services.start_agreement(couple, anna, "en", "no-such-starter", LIBRARY)


def test_every_accepted_change_moves_the_revision_exactly_once(pair, draft):
    anna, bram, _couple = pair
    start = revision_of(draft)
    clause = by_template(draft, "pause-has-a-limit")
    changes = [
        lambda: services.add_clause(draft, anna, "no-blaming", LIBRARY),
        lambda: services.approve(draft, clause, bram, clause.version, LIBRARY),
        lambda: services.update_params(
            draft, clause, anna, clause.version, {"param-minutes": "45"}, LIBRARY
        ),
        lambda: services.move(draft, clause, anna, -1, LIBRARY),
        lambda: services.remove(draft, clause, anna, clause.version, LIBRARY),
        lambda: services.restore(draft, clause, anna, LIBRARY),
        lambda: services.set_language(draft, anna, "nl", LIBRARY),
    ]
    for count, change in enumerate(changes, start=1):
        change()
        db.session.commit()
        assert revision_of(draft) == start + count
    events = db.session.scalar(select(func.count(Event.id)).where(Event.agreement_id == draft.id))
    assert events == 1 + len(changes)  # "started", then one line per change


def test_a_change_withdraws_both_approvals(pair, draft):
    anna, bram, _couple = pair
    clause = by_template(draft, "pause-has-a-limit")
    services.approve(draft, clause, anna, 1, LIBRARY)
    services.approve(draft, clause, bram, 1, LIBRARY)
    db.session.commit()
    assert clause.approved_by(anna) and clause.approved_by(bram)
    assert services.update_params(draft, clause, bram, 1, {"param-minutes": "30"}, LIBRARY)
    db.session.commit()
    assert clause.version == 2
    assert not clause.approved_by(anna) and not clause.approved_by(bram)


def test_saving_the_same_values_is_not_a_change(pair, draft):
    anna, bram, _couple = pair
    clause = by_template(draft, "pause-has-a-limit")
    services.approve(draft, clause, bram, 1, LIBRARY)
    db.session.commit()
    before = revision_of(draft)
    assert not services.update_params(draft, clause, anna, 1, {"param-minutes": "60"}, LIBRARY)
    assert revision_of(draft) == before
    assert clause.approved_by(bram) and clause.version == 1


def test_a_stale_version_is_refused_and_changes_nothing(pair, draft):
    anna, bram, _couple = pair
    clause = by_template(draft, "pause-has-a-limit")
    services.update_params(draft, clause, anna, 1, {"param-minutes": "45"}, LIBRARY)
    db.session.commit()
    before = revision_of(draft)
    for stale in (
        lambda: services.update_params(draft, clause, bram, 1, {"param-minutes": "30"}, LIBRARY),
        lambda: services.approve(draft, clause, bram, 1, LIBRARY),
        lambda: services.remove(draft, clause, bram, 1, LIBRARY),
        lambda: services.update_params(draft, clause, bram, None, {"param-minutes": "30"}, LIBRARY),
    ):
        with pytest.raises(services.StaleVersion) as error:
            stale()
        assert error.value.clause.version == 2
        db.session.rollback()
    assert revision_of(draft) == before
    assert by_template(db.session.get(Agreement, draft.id), "pause-has-a-limit").params == {
        "minutes": 45
    }


@pytest.mark.parametrize(
    ("template", "raw", "message"),
    [
        ("pause-has-a-limit", {"param-minutes": "500"}, "from 20 to 240"),
        ("pause-has-a-limit", {"param-minutes": "sixty"}, "whole number"),
        ("pause-has-a-limit", {}, "whole number"),
        ("return-and-restart", {"param-how": "by-pigeon"}, "one of the options"),
        ("ask-for-space", {"param-signal": "x" * 41}, "At most 40"),
        ("ask-for-space", {"param-signal": "  "}, "fill this in"),
        ("ask-for-space", {"param-signal": "stop\x00"}, "control characters"),
    ],
)
def test_parameters_are_typed(pair, draft, template, raw, message):
    anna, _bram, _couple = pair
    clause = by_template(draft, template)
    before = dict(clause.params)
    with pytest.raises(services.DraftingError) as error:
        services.update_params(draft, clause, anna, clause.version, raw, LIBRARY)
    assert message in next(iter(error.value.errors.values()))
    db.session.rollback()
    assert by_template(db.session.get(Agreement, draft.id), template).params == before


def test_a_custom_clause_of_invisible_characters_is_empty(pair, draft):
    anna, _bram, _couple = pair
    with pytest.raises(services.DraftingError) as error:
        services.add_custom_clause(draft, anna, "\u200b\u00ad", "\u2060\ufeff\u202e", LIBRARY)
    assert error.value.errors == {
        "title": "Please give the clause a short title.",
        "body": "Please write what you agree.",
    }
    clause = by_template(draft, "ask-for-space")
    with pytest.raises(services.DraftingError) as error:
        services.update_params(
            draft, clause, anna, clause.version, {"param-signal": "\u200d"}, LIBRARY
        )
    assert error.value.errors == {"param-signal": "Please fill this in."}


def test_custom_clauses_are_plain_text(pair, draft):
    anna, _bram, _couple = pair
    clause = services.add_custom_clause(
        draft, anna, "Our own", "<script>alert('x')</script> & more", LIBRARY
    )
    text = services.clause_text(clause, LIBRARY, "en")
    assert "<script>" not in text and "&lt;script&gt;" in text
    with pytest.raises(services.DraftingError) as error:
        services.add_custom_clause(draft, anna, "", "x" * 2001, LIBRARY)
    assert set(error.value.errors) == {"title", "body"}


def test_values_are_inserted_as_escaped_text(pair, draft):
    anna, _bram, _couple = pair
    clause = by_template(draft, "ask-for-space")
    services.update_params(draft, clause, anna, 1, {"param-signal": "<b>stop</b>"}, LIBRARY)
    text = services.clause_text(clause, LIBRARY, "en")
    assert "<strong>&lt;b&gt;stop&lt;/b&gt;</strong>" in text
    assert "<b>" not in text


def test_choices_are_shown_in_the_agreement_language(pair, draft):
    clause = by_template(draft, "return-and-restart")
    assert "face to face" in services.clause_text(clause, LIBRARY, "en")
    assert "persoonlijk" in services.clause_text(clause, LIBRARY, "nl")


def test_removed_clauses_can_be_restored(pair, draft):
    anna, _bram, _couple = pair
    clause = by_template(draft, "no-silence-as-punishment")
    services.remove(draft, clause, anna, 1, LIBRARY)
    assert clause not in services.active_clauses(draft)
    assert clause in services.removed_clauses(draft)
    services.restore(draft, clause, anna, LIBRARY)
    assert services.active_clauses(draft)[-1] is clause


def test_moving_swaps_neighbours_and_stops_at_the_ends(pair, draft):
    anna, _bram, _couple = pair
    first, second = services.active_clauses(draft)[:2]
    assert not services.move(draft, first, anna, -1, LIBRARY)
    assert services.move(draft, second, anna, -1, LIBRARY)
    assert services.active_clauses(draft)[:2] == [second, first]


def test_progress_counts_clauses_both_agreed(pair, draft):
    anna, bram, couple = pair
    clauses = services.active_clauses(draft)
    for clause in clauses:
        services.approve(draft, clause, anna, clause.version, LIBRARY)
    services.approve(draft, clauses[0], bram, clauses[0].version, LIBRARY)
    progress = services.progress(draft, couple.partners)
    assert (len(progress.agreed), len(progress.open)) == (1, len(clauses) - 1)
    for clause in clauses[1:]:
        services.approve(draft, clause, bram, clause.version, LIBRARY)
    assert services.progress(draft, couple.partners).complete


def test_changing_language_asks_every_yes_again_and_translates_defaults(pair, draft):
    anna, bram, _couple = pair
    signal = by_template(draft, "ask-for-space")
    pause = by_template(draft, "pause-has-a-limit")
    services.update_params(draft, pause, anna, 1, {"param-minutes": "45"}, LIBRARY)
    services.approve(draft, signal, bram, 1, LIBRARY)
    services.set_language(draft, anna, "nl", LIBRARY)
    db.session.commit()
    assert signal.params == {"signal": "Ik heb even pauze nodig"}
    assert pause.params == {"minutes": 45}
    assert not signal.approved_by(bram)
    assert signal.version == 2
