"""Embed a docsync app in a Flask page with docsync.embed.server_document.

    docsync serve examples/gallery/sliders.py --port 5006 --allow-websocket-origin localhost:8000
    python examples/embed/flask_app.py            # then open http://localhost:8000/

The Flask page holds a <script> tag that loads /sliders/autoload.js from the docsync
server; the script builds the app inside the page and opens its WebSocket.  Because the
page comes from port 8000, the docsync server must allow that origin
(`--allow-websocket-origin localhost:8000`; origins match exactly, so open the page as
http://localhost:8000/, or also allow 127.0.0.1:8000).

Environment: DOCSYNC_URL (default http://localhost:5006/sliders), PORT (default 8000).
"""
import os

from flask import Flask, render_template_string

from docsync.embed import server_document

APP_URL = os.environ.get("DOCSYNC_URL", "http://localhost:5006/sliders")

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>docsync in Flask</title>
  <style>body { font-family: sans-serif; margin: 2em; } header { margin-bottom: 1em; }</style>
</head>
<body>
  <header>
    <h1>A Flask page</h1>
    <p>Everything below this line is a live docsync app served by <code>{{ app_url }}</code>.</p>
  </header>
  <main id="app">{{ script | safe }}</main>
</body>
</html>
"""

app = Flask(__name__)


@app.route("/")
def index() -> str:
    script = server_document(APP_URL)
    return render_template_string(PAGE, script=script, app_url=APP_URL)


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
