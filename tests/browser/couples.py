"""Two partners on two phones, as most browser tests start: each signed in (a session made
through the app's test client, see `signed_in` in conftest.py), then paired through the
invite and join pages by hand. Registering by hand is test_partners.py's part."""

import re

from tests.browser.pages import SUBMIT, expect, follow


def person(signed_in, check, locale: str, email: str, name: str, prefix: str):
    """A phone signed in as a new person, on their home page (checked as
    `<prefix>-home-<name>-<language>`)."""
    page = signed_in(locale, email, name)
    check(page, f"{prefix}-home-{name}-{locale[:2]}")
    return page


def couple(signed_in, check, prefix: str, tag: str | None = None):
    """Anna (English) and Bram (Dutch), signed in and joined; returns their pages.

    `prefix` starts the screenshot names; `tag` (the prefix if not given) makes the e-mail
    addresses, so two couples of one module never share one."""
    tag = tag or prefix
    anna = person(signed_in, check, "en-GB", f"anna.{tag}@example.com", "Anna", prefix)
    follow(anna, 'main form[action="/couple/new"] button')
    check(anna, f"{prefix}-invite-en")
    code = anna.locator(".invite-code").inner_text()
    bram = person(signed_in, check, "nl-NL", f"bram.{tag}@example.com", "Bram", prefix)
    follow(bram, 'main a[href="/couple/join"]')
    check(bram, f"{prefix}-join-nl")
    bram.locator("#code").fill(code)
    follow(bram, SUBMIT)
    expect(bram.locator("main")).to_contain_text("Anna")
    # Anna's invite page follows Bram home by itself (live.js); moving her on before it has
    # would race its reload.
    expect(anna).to_have_url(re.compile(r"/$"))
    expect(anna.locator("main .lead")).to_contain_text("Bram")
    return anna, bram
