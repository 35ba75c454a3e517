# The Python side of the interop tests: Debian's Flask 2.2, Flask-Session
# 0.3.2, Flask-Login, Flask-WTF, redis-py, cachelib, msgpack, markupsafe, itsdangerous.
# Exports COATCHECK_PYTHON (the interpreter the live tests run Flask with).
service_python_up() {
  cc_need_pkg python3 python3-flask python3-flask-session python3-flask-login python3-flaskext.wtf python3-redis \
    python3-cachelib python3-msgpack python3-markupsafe python3-itsdangerous || return 1
  /usr/bin/python3 -c "import flask, flask_session, flask_login, flask_wtf, redis, cachelib, msgpack, markupsafe" || return 1
  export COATCHECK_PYTHON=/usr/bin/python3
}
