"""Lifecycle hooks of myapp: the server calls these four functions if they are present.

This module is loaded once per server process, so its globals are shared by every session
(main.py reads ``counts`` through a relative import).
"""
import logging

# A child of the "docsync" logger, so `docsync serve --log-level` applies to it.
log = logging.getLogger("docsync.apps.myapp")
counts = {"sessions_created": 0, "sessions_destroyed": 0}


def on_server_loaded(server_context):
    ''' If present, this function is called when the server first starts. '''
    log.info("myapp: server loaded")


def on_server_unloaded(server_context):
    ''' If present, this function is called when the server shuts down. '''
    log.info("myapp: server unloaded after %(sessions_created)d sessions", counts)


def on_session_created(session_context):
    ''' If present, this function is called when a session is created. '''
    counts["sessions_created"] += 1
    log.info("myapp: session %s created (%d live)", session_context.id,
             counts["sessions_created"] - counts["sessions_destroyed"])


def on_session_destroyed(session_context):
    ''' If present, this function is called when a session is closed. '''
    counts["sessions_destroyed"] += 1
    log.info("myapp: session %s destroyed", session_context.id)
