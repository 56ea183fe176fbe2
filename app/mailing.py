"""Sending mail: SMTP when configured, else EmailBackend writes the message to the log.

Mail that depends on who has an account goes out after the response (`after_response`), so
that how long a page takes never tells whether a message was sent.
"""

import logging
from collections.abc import Callable

from flask import after_this_request, copy_current_request_context, current_app
from flask_mailman import EmailMessage
from flask_mailman.backends.base import BaseEmailBackend

log = logging.getLogger("duet.mail")


class EmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        for message in email_messages:
            log.warning("Mail to %s: %s\n%s", ", ".join(message.to), message.subject, message.body)
        return len(email_messages)


def after_response(work: Callable[[], None]) -> None:
    """Run work once the response has been sent, in a copy of this request's context."""
    work = copy_current_request_context(work)

    @after_this_request
    def when_sent(response):
        response.call_on_close(lambda: _run(work))
        return response


def _run(work: Callable[[], None]) -> None:
    try:
        work()
    except Exception:
        # The page has gone out; all that is left is to say so in the log.
        log.exception("Work after the response failed.")


def send_mail(to: str, subject: str, body: str) -> None:
    EmailMessage(
        subject=subject,
        body=body,
        from_email=current_app.config["MAIL_DEFAULT_SENDER"],
        to=[to],
    ).send()
