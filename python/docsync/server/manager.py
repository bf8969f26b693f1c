"""The live sessions of one app in one server process, and the lifecycle hooks."""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
import time
from typing import Any, Awaitable, Callable

from tornado.ioloop import IOLoop

from docsync.server.application import Application
from docsync.server.contexts import RequestInfo, ServerContext, SessionContext
from docsync.server.executor import default_pool
from docsync.server.metrics import Metrics
from docsync.server.session import ServerSession

__all__ = ["AppSessions"]

log = logging.getLogger("docsync.server")


class AppSessions:
    """Creates, finds and destroys the sessions of one app.

    Hooks (``on_session_created`` before the app code, ``on_session_destroyed`` after the
    session left the registry) may be sync (run off the loop) or async (awaited on the
    loop); their exceptions are logged and do not stop the session."""

    def __init__(
        self,
        app: Application,
        loop: IOLoop | None = None,
        metrics: Metrics | None = None,
        log_max_messages: int = 1000,
        log_max_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self.app = app
        # called (loop thread) when a session is created or loses its last connection, so
        # the server checks for unused sessions only while some may be unused
        self.on_unused: Callable[[], None] | None = None
        self.loop = loop or IOLoop.current()
        self.metrics = metrics or Metrics()
        self.server_context = ServerContext(app)
        self.sessions: dict[str, ServerSession] = self.server_context._sessions
        self._pending: dict[str, asyncio.Future[ServerSession]] = {}
        self.log_max_messages = log_max_messages
        self.log_max_bytes = log_max_bytes

    # ------------------------------------------------------------------ hooks
    async def run_hook(
        self, name: str, arg: Any, session: ServerSession | None = None, timeout: float | None = None
    ) -> None:
        fn: Callable[..., Any] | None = self.app.hooks.get(name)
        if fn is None:
            return
        try:
            if inspect.iscoroutinefunction(fn):
                await asyncio.wait_for(fn(arg), timeout)
                return
            job: Awaitable[Any]
            if session is not None and not session.queue.closed:
                job = session.queue.run(lambda: fn(arg))
            else:
                job = asyncio.wrap_future(default_pool().submit(fn, arg))
            result = await asyncio.wait_for(job, timeout)
            if inspect.isawaitable(result):
                await asyncio.wait_for(result, timeout)
        except asyncio.TimeoutError:
            log.warning("%s of app %s did not finish within %g s", name, self.app.name or "/", timeout)
        except Exception:
            log.exception("error in %s of app %s", name, self.app.name or "/")

    async def server_loaded(self) -> None:
        await self.run_hook("on_server_loaded", self.server_context)

    async def server_unloaded(self) -> None:
        await self.run_hook("on_server_unloaded", self.server_context)

    # ------------------------------------------------------------------ sessions
    def get(self, session_id: str) -> ServerSession | None:
        return self.sessions.get(session_id)

    async def get_or_create(self, session_id: str, request: RequestInfo, run_code: bool = True) -> ServerSession:
        session = self.sessions.get(session_id)
        if session is not None:
            return session
        pending = self._pending.get(session_id)
        if pending is not None:
            return await asyncio.shield(pending)
        fut: asyncio.Future[ServerSession] = asyncio.get_running_loop().create_future()
        self._pending[session_id] = fut
        try:
            session = await self._create(session_id, request, run_code)
        except BaseException as e:
            fut.set_exception(e)
            fut.exception()  # mark retrieved
            raise
        finally:
            self._pending.pop(session_id, None)
        fut.set_result(session)
        return session

    async def _create(self, session_id: str, request: RequestInfo, run_code: bool) -> ServerSession:
        t0 = time.perf_counter()
        doc = self.app.create_document()
        ctx = SessionContext(session_id, request, self.server_context)
        session = ServerSession(
            session_id,
            doc,
            ctx,
            self.loop,
            self.metrics,
            self.log_max_messages,
            self.log_max_bytes,
            app_name=self.app.name,
        )
        import weakref

        ctx._session = weakref.ref(session)
        session.clients_own_document = self.app.accepts_push
        session.on_unused = self.on_unused
        if self.on_unused is not None:
            self.on_unused()  # no connection yet: it may never get one
        await self.run_hook("on_session_created", ctx, session)
        if run_code:
            await session.queue.run(
                lambda: session.run_in_document(lambda: self.app.run_code(session), publish=False)
            )
        self.sessions[session_id] = session
        self.metrics.inc("docsync_sessions_created_total", app=self.app.name)
        log.debug("session %s of app %s created in %.1f ms", session_id, self.app.name or "/", (time.perf_counter() - t0) * 1e3)
        return session

    async def destroy(self, session: ServerSession, timeout: float = 10.0) -> None:
        """Close its connections, run ``on_session_destroyed``, release the document,
        callbacks and module. A session whose callback hangs is released anyway after
        ``timeout`` seconds (the stuck thread keeps only what it holds)."""
        if self.sessions.get(session.id) is session:
            del self.sessions[session.id]
        if session.destroyed:
            return
        session.destroyed = True
        for conn in session.connection_list():
            conn.close(1001, "session destroyed")
        ctx = session.context
        ctx.destroyed = True
        await self.run_hook("on_session_destroyed", ctx, session, timeout)
        session.queue.close()
        try:
            await asyncio.wait_for(session.queue.run(session.release), timeout)
        except asyncio.TimeoutError:
            log.warning("session %s: a callback is still running after %g s; releasing it anyway", session.id, timeout)
            session.release()
        except RuntimeError:
            session.release()
        self.metrics.inc("docsync_sessions_destroyed_total", app=self.app.name)
        log.debug("session %s of app %s destroyed", session.id, self.app.name or "/")

    def unused(self, unused_lifetime_s: float) -> list[ServerSession]:
        """Sessions without connections for longer than the lifetime."""
        now = time.monotonic()
        return [s for s in self.sessions.values() if not s.connections and now - s.last_detached > unused_lifetime_s]

    async def cleanup(self, unused_lifetime_s: float) -> int:
        """Destroy sessions without connections for longer than the lifetime."""
        doomed = self.unused(unused_lifetime_s)
        count = len(doomed)
        while doomed:
            await self.destroy(doomed.pop())
        if count:
            gc.collect()  # sessions hold cycles (document <-> models <-> callbacks)
        return count

    async def destroy_all(self, timeout: float = 5.0) -> None:
        await asyncio.gather(*(self.destroy(s, timeout) for s in list(self.sessions.values())))
