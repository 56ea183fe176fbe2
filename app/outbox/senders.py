"""One sender per channel: it turns a claimed row into a message and sends it.

A sender holds nothing between batches; `open()` gives it a connection for one batch (one
SMTP session for many mails). Web Push adds a sender for "push" beside `MailSender`.
"""

import hashlib
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_mailman import EmailMessage

from app.extensions import mail
from app.outbox.services import Claimed


def message_id(item: Claimed) -> str:
    """The same for every try of one row, so that a mail sent twice (a worker stopped between
    sending and marking) is one message to mail clients that drop duplicates."""
    identity = f"{item.user_id}:{item.kind}:{item.channel}:{item.key}"
    digest = hashlib.sha256(identity.encode()).hexdigest()[:40]
    host = urlsplit(current_app.config["PUBLIC_URL"]).hostname or "duet.invalid"
    return f"<{digest}@{host}>"


class MailSender:
    """Every mail is the same few neutral lines in the recipient's language: no names, no
    kind, no clause or answer; a link to Duet, where they read the rest after signing in."""

    def open(self):
        connection = mail.get_connection()
        connection.open()
        return connection

    def close(self, connection) -> None:
        connection.close()

    def send(self, connection, item: Claimed) -> None:
        locale = item.locale or current_app.config["BABEL_DEFAULT_LOCALE"]
        with force_locale(locale):
            subject = _("Something new in Duet")
            # Straight from Jinja: the site's context processors need a request.
            template = current_app.jinja_env.get_template("outbox/mail.txt")
            body = template.render(link=current_app.config["PUBLIC_URL"])
        EmailMessage(
            subject=subject,
            body=body,
            from_email=current_app.config["MAIL_DEFAULT_SENDER"],
            to=[item.email],
            headers={"Message-ID": message_id(item)},
            connection=connection,
        ).send()


SENDERS = {"mail": MailSender()}
