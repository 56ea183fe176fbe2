"""The bare extension objects, initialised by the factory in app/__init__.py."""

import ipaddress

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from app.db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login = LoginManager()
csrf = CSRFProtect()
babel = Babel()
mail = Mail()


def client_network() -> str:
    """Whom a per-address limit counts: an IPv4 address, or an IPv6 /64, since one home or
    server holds a whole /64 and could otherwise take a new address for every try."""
    remote = request.remote_addr or "127.0.0.1"
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:  # whatever a misconfigured proxy passed on: counted as it is
        return remote
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


limiter = Limiter(key_func=client_network)
