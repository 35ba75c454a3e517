"""The wrk servers' tiny page in Flask (run.sh's flask-tiny targets).

The same page as ../cmd/wrkserver ("<p>Logged in as alice</p>", the user
read from the session, 401 without one) and no template, so the comparison
with Coatcheck's cookie modes is like for like. POST /login sets
username=alice; with permanent=1 the session is made permanent, and then
Flask re-signs and re-sends the cookie on every request
(SESSION_REFRESH_EACH_REQUEST), as coatcheck-cookie-permanent does.
"""
import os

from flask import Flask, request, session
from markupsafe import escape

app = Flask(__name__)
app.secret_key = os.environ["SECRET_KEY"]


@app.get("/")
def index():
    user = session.get("username")
    if not user:
        return "<p>You are not logged in</p>\n", 401
    return "<p>Logged in as %s</p>\n" % escape(user)


@app.route("/login", methods=["GET", "POST"])
def login():
    session["username"] = "alice"
    session.permanent = request.values.get("permanent") == "1"
    return "logged in as alice\n", 200, {"Content-Type": "text/plain; charset=utf-8"}
