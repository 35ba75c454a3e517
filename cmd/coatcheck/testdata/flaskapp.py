"""The Flask side of Coatcheck's live interop tests.

Runs the same login/logout routes as `coatcheck demo`, configured from the
environment with Flask's and Flask-Session's own names, on Debian's Flask 2.2,
Flask-Session 0.3.2 and Flask-Login:

    /usr/bin/python3 flaskapp.py PORT

SESSION_TYPE unset (or "cookie") means Flask's built-in signed cookies;
"redis" and "filesystem" use Flask-Session. It prints "READY" once listening.
"""
import json
import os
import sys

import redis
from flask import Flask, flash, get_flashed_messages, redirect, request, session
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from markupsafe import escape
from werkzeug.serving import make_server

app = Flask("coatcheck-interop")
app.secret_key = os.environ["SECRET_KEY"]
app.config["PERMANENT_SESSION_LIFETIME"] = int(os.environ.get("PERMANENT_SESSION_LIFETIME", 2678400))

stype = os.environ.get("SESSION_TYPE", "cookie")
if stype != "cookie":
    from flask_session import Session

    app.config["SESSION_TYPE"] = stype
    app.config["SESSION_USE_SIGNER"] = os.environ.get("SESSION_USE_SIGNER", "") in ("1", "true", "True")
    app.config["SESSION_KEY_PREFIX"] = os.environ.get("SESSION_KEY_PREFIX", "session:")
    if stype == "redis":
        app.config["SESSION_REDIS"] = redis.Redis.from_url(os.environ["SESSION_REDIS"])
    if stype == "filesystem":
        app.config["SESSION_FILE_DIR"] = os.environ["SESSION_FILE_DIR"]
    Session(app)

login_manager = LoginManager(app)


class User(UserMixin):
    def __init__(self, uid):
        self.id = uid


@login_manager.user_loader
def load_user(uid):
    return User(uid)


def who():
    if session.get("username"):
        return session["username"]
    if current_user.is_authenticated:
        return current_user.id
    return None


@app.route("/")
def index():
    msgs = "".join("<p>[%s] %s</p>" % (escape(c), escape(m)) for c, m in get_flashed_messages(with_categories=True))
    user = who()
    if user:
        return msgs + "Logged in as %s" % escape(user)
    return msgs + 'You are not logged in <a href="/login">Log in</a>'


@app.route("/login", methods=["POST"])
def login():
    session["username"] = request.form["username"]
    session.permanent = True
    flash("You were logged in")
    return redirect("/")


@app.route("/logout")
def logout():
    session.pop("username", None)
    if current_user.is_authenticated:
        logout_user()
    flash("You were logged out")
    return redirect("/")


@app.route("/flask_login/<uid>")
def flask_login(uid):
    login_user(User(uid))
    return redirect("/")


@app.route("/set_session")
def set_session():
    session[request.args["key"]] = request.args["value"]
    return "ok"


@app.route("/get_session")
def get_session():
    return app.response_class(json.dumps(dict(session), default=repr, sort_keys=True), mimetype="application/json")


if __name__ == "__main__":
    server = make_server("127.0.0.1", int(sys.argv[1]), app, threaded=True)
    print("READY", flush=True)
    server.serve_forever()
