"""The Coatcheck demo's `/` route in Flask, for the wrk comparison (run.sh).

Same SECRET_KEY, same cookie name and format: the cookie Coatcheck's demo sets
at POST /login is read here unchanged. Like the demo, a permanent session is
re-signed and re-sent on every request (SESSION_REFRESH_EACH_REQUEST, on by
default in both).
"""
import os

from flask import Flask, session
from markupsafe import Markup, escape

app = Flask(__name__)
app.secret_key = os.environ["SECRET_KEY"]

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{ title }} · Coatcheck demo</title>
<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:2em auto;padding:0 1em}
.flash{padding:.5em 1em;border-radius:4px;background:#eef6ee;border:1px solid #9c9}
.flash.error{background:#fbeaea;border-color:#d99}nav a{margin-right:1em}</style></head>
<body>
<nav><a href="/">Home</a><a href="/dashboard">Dashboard</a><a href="/counter">Counter</a><a href="/get_session">Session JSON</a>{% if user %}<a href="/logout">Log out</a>{% else %}<a href="/login">Log in</a>{% endif %}</nav>
{% for category, message in get_flashed_messages(with_categories=True) %}<p class="flash {{ category }}" role="status">{{ message }}</p>{% endfor %}
<h1>{{ title }}</h1>
{{ body }}
</body></html>
"""


@app.get("/")
def index():
    user = session.get("username")
    if user:
        body = "<p>Logged in as %s</p>" % escape(user)
    else:
        body = '<p>You are not logged in</p><p><a href="/login">Log in</a></p>'
    return TEMPLATE.render(title="Home", user=user, body=Markup(body))


# Compiled once (render_template_string would recompile it on every request);
# get_flashed_messages is one of the globals Flask puts in app.jinja_env.
TEMPLATE = app.jinja_env.from_string(PAGE)
