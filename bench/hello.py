"""The baseline for bench/poll.py: the smallest Flask app, served the same way as Duet."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, World!"
