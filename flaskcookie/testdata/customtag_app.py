"""A Flask app that registers custom session tags, for flaskcookie's live test.

    python3 customtag_app.py sign          one Set-Cookie session value per line
    python3 customtag_app.py load COOKIE   repr of the session Flask loads
"""
import sys

from flask import Flask, session
from flask.json.tag import JSONTag, TaggedJSONSerializer
from flask.sessions import SecureCookieSessionInterface


class Color:
    def __init__(self, r, g, b, seen):
        self.r, self.g, self.b, self.seen = r, g, b, seen

    def __repr__(self):
        return f"Color({self.r}, {self.g}, {self.b}, {self.seen!r})"


class TagColor(JSONTag):
    """A Python class tagged " c"; to_json tags a nested value."""
    __slots__ = ()
    key = " c"

    def check(self, value):
        return isinstance(value, Color)

    def to_json(self, value):
        return {"rgb": [value.r, value.g, value.b], "seen": self.serializer.tag(value.seen)}

    def to_python(self, value):
        return Color(*value["rgb"], value["seen"])


class TagPoint(JSONTag):
    """Registered at index 0: pairs of ints are checked before TagTuple."""
    __slots__ = ()
    key = " p"

    def check(self, value):
        return isinstance(value, tuple) and len(value) == 2 and all(type(x) is int for x in value)

    def to_json(self, value):
        return list(value)

    def to_python(self, value):
        return tuple(value)


class Interface(SecureCookieSessionInterface):
    serializer = TaggedJSONSerializer()


Interface.serializer.register(TagColor)
Interface.serializer.register(TagPoint, index=0)

app = Flask(__name__)
app.secret_key = "custom-tag-secret"
app.session_interface = Interface()

SESSIONS = {
    "color": lambda: {"c": Color(1, 2, 3, (4, "x"))},
    "point": lambda: {"p": (3, 4), "t": (1, 2, 3)},
    "dict_of_tag_key": lambda: {"k": {" c": 1}},
    "unknown_tag": lambda: {"k": {" x": 1}},
    "nested": lambda: {"l": [Color(0, 0, 255, b"\x00\x01"), (7, 8)]},
}


@app.route("/set/<name>")
def set_(name):
    session.update(SESSIONS[name]())
    return "ok"


@app.route("/show")
def show():
    return repr({k: session[k] for k in sorted(session)})


if __name__ == "__main__":
    if sys.argv[1] == "sign":
        for name in SESSIONS:
            c = app.test_client()
            r = c.get("/set/" + name)
            v = r.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
            print(name, v)
    else:
        c = app.test_client()
        c.set_cookie("localhost", "session", sys.argv[2])
        r = c.get("/show")
        print(r.status_code, r.get_data(as_text=True))
