"""Sending mail: SMTP when configured, else EmailBackend writes the message to the log."""

import logging

from flask import current_app
from flask_mailman import EmailMessage
from flask_mailman.backends.base import BaseEmailBackend

log = logging.getLogger("duet.mail")


class EmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        for message in email_messages:
            log.warning("Mail to %s: %s\n%s", ", ".join(message.to), message.subject, message.body)
        return len(email_messages)


def send_mail(to: str, subject: str, body: str) -> None:
    EmailMessage(
        subject=subject,
        body=body,
        from_email=current_app.config["MAIL_DEFAULT_SENDER"],
        to=[to],
    ).send()
