"""Safety for the partner who is afraid, on a phone, in English and Dutch (docs/safety.md).

The pattern check asks about both sides of the silence and starts empty every time; fear
named alone brings the help lines; going quiet to make a point has a result of its own. While
a person's own check calls for it, their drafting and signing pages say they need not sign,
and the partner's pages never show a trace of it. When a couple ends, the partner who stays
is told only that the link ended, until they press OK.
"""

import re

import pytest

from tests.browser.couples import couple, person
from tests.browser.pages import PASSWORD, SUBMIT, expect, follow, open_page
from tests.browser.test_signing import start_and_agree

pytestmark = pytest.mark.browser

CHECK = "/reflection/pattern-check"
RESULT = "/reflection/pattern-check/result"
TEXTS = {
    "en": {
        "sections": ["When your partner goes quiet", "When you are the one who goes quiet"],
        "one-off": "A one-off after a heated moment",
        "control": "Silence used to pressure or control",
        "using": "Going quiet to make a point",
        "fear": "You said you feel afraid of your partner at times.",
        "caution": "You don’t have to sign. An agreement does not make you safe.",
        "ended": "Your link with {name} in Duet has ended.",
        "ok": "OK",
    },
    "nl": {
        "sections": ["Als je partner stil wordt", "Als jij degene bent die stil wordt"],
        "one-off": "Een uitzondering na een fel moment",
        "control": "Stilte als drukmiddel",
        "using": "Stil worden om iets duidelijk te maken",
        "fear": "Je gaf aan dat je weleens bang bent voor je partner.",
        "caution": "Je hoeft niet te ondertekenen. Een overeenkomst maakt je niet veilig.",
        "ended": "Jij en {name} zijn niet meer gekoppeld in Duet.",
        "ok": "Oké",
    },
}
STATEMENTS = 10  # seven about the partner's silence, three about one's own
CONTROL = {"silence-as-leverage": "often", "giving-in-to-end-it": "often"}
FEAR_ALONE = {"afraid": "sometimes"}
USING = {
    "quiet-so-they-feel-it": "often",
    "quiet-until-they-give-in": "often",
    "ignore-to-show-anger": "often",
}
# What must never reach the partner's pages: the caution, the check, its results, the help.
# The phrases match their case: a clause's "why" may say "stilte als drukmiddel" in passing.
PHRASES = re.compile(
    "|".join(
        re.escape(TEXTS[lang][key]) for lang in TEXTS for key in ("caution", "control", "fear")
    )
)
WORDS = re.compile(r"pattern|patroon|afraid|bang voor|Veilig Thuis|0800-2000", re.IGNORECASE)
# Why a couple ended: leaving and deleting an account must look the same to the one who stays.
REASONS = re.compile(
    r"\bleft\b|\bleav|delet|account|\bwhy\b|reason|verlat|verwijder|waarom|reden|gestopt",
    re.IGNORECASE,
)


# --- Getting there ---------------------------------------------------------------------------


def join(page, code: str):
    page.locator("#code").fill(code)
    follow(page, SUBMIT)
    expect(page.locator("main")).to_contain_text("Anna")


# --- The pattern check -----------------------------------------------------------------------


def expect_empty_check(page, lang: str):
    """Both sections, every statement, and nothing of an earlier check filled in."""
    sections = page.locator("main section.check-section")
    expect(sections.locator("h2")).to_have_text(TEXTS[lang]["sections"])
    expect(page.locator("main fieldset")).to_have_count(STATEMENTS)
    expect(sections.nth(1).locator("fieldset")).to_have_count(3)
    expect(page.locator("main input[type=radio]")).to_have_count(3 * STATEMENTS)
    expect(page.locator("main input[type=radio]:checked")).to_have_count(0)
    expect(page.locator("#note")).to_have_value("")


def answer(page, answers: dict[str, str], note: str = ""):
    """ "Not really" to every statement but those in answers; then send the check."""
    for choice in page.locator('main input[type=radio][value="not-really"]').all():
        choice.check()
    for statement, value in answers.items():
        page.locator(f'input[name="statement_{statement}"][value="{value}"]').check()
    page.locator("#note").fill(note)
    follow(page, SUBMIT)
    assert page.url.endswith(RESULT), page.url


def take_check(page, check, answers: dict[str, str], name: str, lang: str):
    open_page(page, CHECK)
    check(page, f"{name}-check-{lang}")
    expect_empty_check(page, lang)
    answer(page, answers)
    check(page, f"{name}-result-{lang}")


def expect_fear_first(page, lang: str):
    """Fear named qualifies the calm explanation at once, before any advice for the two."""
    fear = page.locator("main p", has_text=TEXTS[lang]["fear"])
    expect(fear).to_have_count(1)
    advice = page.locator("main h2").first
    assert fear.bounding_box()["y"] < advice.bounding_box()["y"], "the fear paragraph comes late"


def expect_help_lines(page):
    expect(page.locator("main .help-card")).to_have_count(3)
    expect(page.locator("main .help-card a[href='tel:08002000']")).to_have_text("0800-2000")


def last_result_link(page):
    return page.locator(f'main a[href="{RESULT}"]')


def test_fear_alone_brings_help_and_the_check_starts_empty(signed_in, check, screenshot):
    texts = TEXTS["en"]
    anna = person(signed_in, check, "en-GB", "anna.checks@example.com", "Anna", "safety-fear")
    open_page(anna, "/reflection")
    check(anna, "safety-reflection-en")
    expect(last_result_link(anna)).to_have_count(0)
    follow(anna, f'main a[href="{CHECK}"]')
    check(anna, "safety-check-en")
    expect_empty_check(anna, "en")
    expect(last_result_link(anna)).to_have_count(0)

    # Only the fear statement, and only "sometimes": a calm pattern, but the help lines.
    answer(anna, FEAR_ALONE, note="I hold my breath when the door slams.")
    check(anna, "safety-fear-result-en")
    expect(anna.locator("h1")).to_have_text(texts["one-off"])
    expect_fear_first(anna, "en")
    expect_help_lines(anna)

    # Back to the check: the browser does not fill in her answers or her note again.
    anna.go_back()
    assert anna.url.endswith(CHECK), anna.url
    expect_empty_check(anna, "en")
    expect(last_result_link(anna)).to_have_count(1)

    # She takes it again, now about silence used against her; the fear paragraph goes.
    answer(anna, CONTROL, note="Second time.")
    expect(anna.locator("h1")).to_have_text(texts["control"])
    expect(anna.locator("main")).not_to_contain_text(texts["fear"])
    expect_help_lines(anna)

    # Opened again later, from the overview: empty; her result is one link away.
    open_page(anna, "/reflection")
    expect(last_result_link(anna)).to_have_count(1)
    anna.locator("#check-heading").scroll_into_view_if_needed()
    screenshot(anna, "safety-reflection-last-result-en")
    follow(anna, f'main a[href="{CHECK}"]')
    expect_empty_check(anna, "en")
    screenshot(anna, "safety-check-again-en")
    anna.reload()
    expect_empty_check(anna, "en")
    follow(anna, f'main a[href="{RESULT}"]')
    expect(anna.locator("h1")).to_have_text(texts["control"])
    expect(anna.locator("main")).not_to_contain_text("Second time.")


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_going_quiet_to_make_a_point(signed_in, check, lang):
    texts = TEXTS[lang]
    locale = "nl-NL" if lang == "nl" else "en-GB"
    page = person(signed_in, check, locale, f"daan.{lang}@example.com", "Daan", "safety-using")
    take_check(page, check, USING, "safety-using", lang)
    expect(page.locator("h1")).to_have_text(texts["using"])
    expect(page.locator("main")).not_to_contain_text(texts["fear"])
    # Steps for him, the agreement's pause as the way instead; not the help for the afraid.
    expect(page.locator("main .plain-list li")).to_have_count(6)
    expect(page.locator('main a.button[href="/agreement"]')).to_be_visible()
    expect(page.locator("main .help-card")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("Veilig Thuis (0800-2000)")


# --- The caution while drafting and signing ---------------------------------------------------


def caution(page):
    return page.locator("main .caution")


def expect_caution(page, lang: str):
    expect(caution(page)).to_have_count(1)
    expect(caution(page)).to_contain_text(TEXTS[lang]["caution"])
    expect(caution(page).locator('a[href="/help"]')).to_be_visible()
    # Right under the heading, not somewhere below the clauses.
    expect(page.locator("main h1 + .caution")).to_have_count(1)


def traces_in(page) -> list[str]:
    text = f"{page.title()}\n{page.locator('main').inner_text()}"
    return PHRASES.findall(text) + WORDS.findall(text)


def expect_no_trace(page):
    """Nothing on the partner's page tells of the other's check, result or fear."""
    expect(caution(page)).to_have_count(0)
    expect(page.locator('main a[href="/help"]')).to_have_count(0)
    assert not traces_in(page), (page.url, traces_in(page))


def test_caution_while_drafting_and_signing_only_for_her(signed_in, check):
    anna, bram = couple(signed_in, check, "safety-caution", tag="caution")

    take_check(anna, check, CONTROL, "safety-caution-anna", "en")
    expect(anna.locator("h1")).to_have_text(TEXTS["en"]["control"])

    # The start page: the caution for Anna; nothing for Bram.
    open_page(anna, "/agreement")
    check(anna, "safety-caution-start-en")
    expect_caution(anna, "en")
    open_page(bram, "/agreement")
    check(bram, "safety-no-caution-start-nl")
    expect_no_trace(bram)

    # The agreement page, with every clause agreed by both.
    start_and_agree(anna, bram)
    check(bram, "safety-no-caution-agreement-nl")
    expect_no_trace(bram)
    anna.reload()
    check(anna, "safety-caution-agreement-en")
    expect_caution(anna, "en")

    # The signing page.
    follow(anna, '#summary a[href="/agreement/sign"]')
    check(anna, "safety-caution-sign-en")
    expect_caution(anna, "en")
    expect(anna.locator("canvas[data-signature-pad]")).to_be_visible()
    open_page(bram, "/agreement/sign")
    check(bram, "safety-no-caution-sign-nl")
    expect_no_trace(bram)
    expect(bram.locator("canvas[data-signature-pad]")).to_be_visible()

    follow(anna, 'main .caution a[href="/help"]')
    check(anna, "safety-caution-help-en")
    anna.go_back()
    assert anna.url.endswith("/agreement/sign"), anna.url

    # Bram names fear, "sometimes" and nothing else: the caution comes to his pages, in Dutch.
    take_check(bram, check, FEAR_ALONE, "safety-caution-bram", "nl")
    expect(bram.locator("h1")).to_have_text(TEXTS["nl"]["one-off"])
    expect_fear_first(bram, "nl")
    expect_help_lines(bram)
    open_page(bram, "/agreement/sign")
    check(bram, "safety-caution-sign-nl")
    expect_caution(bram, "nl")
    open_page(bram, "/agreement")
    check(bram, "safety-caution-agreement-nl")
    expect_caution(bram, "nl")

    # Anna deletes her check: her caution goes, though Bram's check still calls for his.
    open_page(anna, RESULT)
    follow(anna, 'main form[action="/reflection/pattern-check/forget"] button')
    check(anna, "safety-check-deleted-en")
    expect(last_result_link(anna)).to_have_count(0)
    for path in ("/agreement/sign", "/agreement"):
        open_page(anna, path)
        expect_no_trace(anna)
        open_page(bram, path)
        expect_caution(bram, "nl")


# --- A couple ends quietly ---------------------------------------------------------------------


def expect_ended_notice(page, lang: str, partner: str):
    notice = page.locator("main .notice").filter(has=page.locator("form[action*='/dismiss']"))
    expect(notice).to_have_count(1)
    expect(notice.locator("strong")).to_have_text(TEXTS[lang]["ended"].format(name=partner))
    expect(page.locator("main")).not_to_have_text(REASONS)
    return notice


def dismiss(page, notice, lang: str):
    button = notice.locator("button")
    expect(button).to_have_text(TEXTS[lang]["ok"])
    with page.expect_navigation():
        button.click()
    expect(page.locator("main .notice")).to_have_count(0)
    page.reload()
    expect(page.locator("main .notice")).to_have_count(0)


def test_the_one_who_stays_is_told_only_that_the_link_ended(signed_in, check):
    anna, bram = couple(signed_in, check, "safety-ended", tag="ended")

    # Bram leaves; the leave page says what Anna will be told.
    follow(bram, 'main a[href="/couple/leave"]')
    check(bram, "safety-leave-nl")
    expect(bram.locator("main")).to_contain_text("Anna")
    bram.locator("#password").fill(PASSWORD)
    follow(bram, SUBMIT)
    check(bram, "safety-left-home-nl")

    # Anna's open home page shows it by itself (live.js reloads it when the couple ends).
    notice = expect_ended_notice(anna, "en", "Bram")
    check(anna, "safety-ended-notice-en")
    dismiss(anna, notice, "en")

    # Together again; then Anna deletes her account: Bram is told exactly as much.
    follow(anna, 'main form[action="/couple/new"] button')
    code = anna.locator(".invite-code").inner_text()
    open_page(bram, "/couple/join")
    join(bram, code)
    expect(anna).to_have_url(re.compile(r"/$"))  # her invite page follows Bram home first
    open_page(anna, "/settings/delete")
    check(anna, "safety-delete-account-en")
    anna.locator("#password").fill(PASSWORD)
    follow(anna, SUBMIT)
    check(anna, "safety-deleted-en")

    notice = expect_ended_notice(bram, "nl", "Anna")  # on his open home page, by itself
    check(bram, "safety-ended-notice-nl")
    dismiss(bram, notice, "nl")
