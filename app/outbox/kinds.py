"""What a person can be told, and on which channels."""

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Kind(StrEnum):
    """Something the partner did, or a date that came near; never anything private."""

    JOINED = "joined"
    SHARED = "shared"
    STARTED = "started"
    WAITING = "waiting"
    SIGNED = "signed"
    FINAL = "final"
    REVIEW_SOON = "review_soon"
    REVIEW_DAY = "review_day"
    PAUSE = "pause"
    PAUSE_MORE = "pause_more"
    PAUSE_BACK = "pause_back"
    PAUSE_TIME = "pause_time"
    PAUSE_START = "pause_start"
    REVIEW_ANSWERED = "review_answered"


#: The channels a notification can go out on, each with its sender (app/outbox/senders.py):
#: a mail to the person's address, a Web Push to each device they subscribed.
CHANNELS = ("mail", "push")

#: How Settings names each kind, in the order it lists them.
LABELS = {
    Kind.JOINED: _l("My partner joins me in Duet"),
    Kind.SHARED: _l("My partner shares an answer with me"),
    Kind.STARTED: _l("My partner starts our agreement"),
    Kind.WAITING: _l("My partner has agreed to every clause and waits for me"),
    Kind.SIGNED: _l("My partner has signed and my signature is the last step"),
    Kind.FINAL: _l("Our agreement is final"),
    Kind.REVIEW_SOON: _l("Our review date is a week away"),
    Kind.REVIEW_DAY: _l("Our review date is today"),
    Kind.REVIEW_ANSWERED: _l("My partner has answered our review"),
    Kind.PAUSE: _l("My partner asks for a pause"),
    Kind.PAUSE_MORE: _l("My partner needs more time in a pause"),
    Kind.PAUSE_BACK: _l("My partner is back from a pause and ready to talk"),
    Kind.PAUSE_TIME: _l("The time I gave for my own pause is up"),
    Kind.PAUSE_START: _l("My partner shares how they want to start our talk after a pause"),
}
