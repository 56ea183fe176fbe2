"""One sender per channel: it turns a claimed row into a message and sends it.

A sender holds nothing between batches; `open()` gives it a connection for one batch (one
SMTP session for many mails, one HTTP session for many pushes).
"""

import hashlib
import json
import logging
from urllib.parse import urlsplit

import requests
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_mailman import EmailMessage
from pywebpush import WebPushException, webpush
from sqlalchemy import delete, select

from app.extensions import db, mail
from app.outbox import push
from app.outbox.models import PushSubscription
from app.outbox.services import Claimed
from app.transaction import unit_of_work

log = logging.getLogger("duet.outbox")


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


class PushFailed(Exception):
    """A push service did not take a push; the outbox tries the row again later."""


#: What a push service answers for a subscription that has ended: it is deleted, not retried.
GONE = (404, 410)


class PushSender:
    """Every push is the same neutral words in the recipient's language, to each device they
    subscribed: the title "Duet", "Something new in Duet", Duet's home page and one tag, so
    that several collapse into one notification. No names, no kind, nothing written.

    A row is one person's: when one of their devices fails, the row is tried again for each
    of them, and a phone that had it already shows the same one notification (the tag)."""

    def open(self):
        return requests.Session()

    def close(self, session) -> None:
        session.close()

    def payload(self, item: Claimed) -> str:
        with force_locale(item.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
            body = _("Something new in Duet")
        return json.dumps({"title": "Duet", "body": body, "url": "/", "tag": push.TAG})

    def send(self, session, item: Claimed) -> None:
        subscriptions = db.session.execute(
            select(
                PushSubscription.id,
                PushSubscription.endpoint,
                PushSubscription.p256dh,
                PushSubscription.auth,
            ).where(PushSubscription.user_id == item.user_id)
        ).all()
        db.session.rollback()  # no read transaction held while waiting for push services
        if not subscriptions:
            return
        config = current_app.config
        keys = push.keys()
        data = self.payload(item)
        failed = None
        for subscription_id, endpoint, p256dh, auth in subscriptions:
            try:
                webpush(
                    {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}},
                    data=data,
                    vapid_private_key=keys.vapid,
                    vapid_claims={"sub": push.subject()},  # a new dict: webpush fills it in
                    ttl=config["PUSH_TTL_SECONDS"],
                    timeout=config["PUSH_TIMEOUT"],
                    headers={"Urgency": "normal"},
                    requests_session=session,
                )
            except WebPushException as error:
                # Only the status: a push service's answer may quote the endpoint.
                status = error.response.status_code if error.response is not None else None
                if status in GONE:
                    with unit_of_work():
                        db.session.execute(
                            delete(PushSubscription).where(PushSubscription.id == subscription_id)
                        )
                    log.info(
                        "Outbox row %s (%s): the push service answered %s; that subscription "
                        "is deleted.",
                        item.id,
                        item.kind,
                        status,
                    )
                else:
                    log.warning(
                        "Outbox row %s (%s): the push service answered %s.",
                        item.id,
                        item.kind,
                        status,
                    )
                    failed = PushFailed(status)
            except requests.RequestException as error:
                log.warning(
                    "Outbox row %s (%s): the push service could not be reached (%s).",
                    item.id,
                    item.kind,
                    type(error).__name__,
                )
                failed = PushFailed(type(error).__name__)
        if failed is not None:
            raise failed


SENDERS = {"mail": MailSender(), "push": PushSender()}
