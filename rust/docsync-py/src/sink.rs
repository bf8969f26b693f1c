//! The sending side of one server WebSocket (`docsync.server.writer.FrameWriter`): whole
//! frames, written from any thread, in order.
//!
//! Why here and not in Python: a session's worker writes every change to every connection
//! itself, with cold caches; the Python writer (a lock, a header built with `struct`, the
//! argument parsing of `socket.sendmsg`) cost more than its system call. Here a frame is
//! one `sendmsg` of the header and the payload, gathered by the kernel.
//!
//! * It sends on its own duplicate of the socket's descriptor (see `writer.py`), with
//!   `MSG_DONTWAIT`: a send never blocks.
//! * What the kernel does not take at once is queued; the I/O loop writes the queue when
//!   the socket becomes writable ([`FrameSink::on_writable`]). Frames stay whole and in
//!   order: nothing is sent directly while anything is queued.
//! * The first time the queue passes `max_pending` bytes, data frames are dropped from
//!   then on and `too_slow(pending)` is called (the caller closes the connection);
//!   control frames (close) still queue.
//! * Every method runs with the GIL held and never releases it (a non-blocking send of
//!   one frame), so the state's mutex is never contended and never held while Python
//!   runs: the callbacks are called after it is released.

use std::collections::VecDeque;
use std::os::raw::c_int;
use std::sync::Mutex;

use pyo3::prelude::*;

#[derive(Default)]
struct State {
    fd: c_int,
    pending: VecDeque<Vec<u8>>,
    front_sent: usize, // bytes of pending[0] already sent
    pending_bytes: usize,
    watching: bool, // the loop watches for writability (or is about to)
    dropping: bool, // data frames are dropped: the client is too slow, or gone
    stopped: bool,
}

/// The most queued frames one `sendmsg` gathers (the loop's writes of a backlog).
const MAX_PARTS: usize = 64;

/// Send `parts` as one gathered write on `fd`, never blocking: the bytes the kernel took
/// (0 when its buffer is full), or None when the peer is gone.
/// At most `MAX_PARTS` parts (on the stack: no allocation per frame).
fn send_parts(fd: c_int, parts: &[&[u8]]) -> Option<usize> {
    let mut iov = [libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 }; MAX_PARTS];
    let mut count = 0;
    for p in parts.iter().filter(|p| !p.is_empty()).take(MAX_PARTS) {
        iov[count] = libc::iovec { iov_base: p.as_ptr() as *mut libc::c_void, iov_len: p.len() };
        count += 1;
    }
    if count == 0 {
        return Some(0);
    }
    // SAFETY: a zeroed msghdr is valid; it points at `iov`, which outlives the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov.as_mut_ptr();
    msg.msg_iovlen = count as _;
    loop {
        // SAFETY: `fd` is the sink's own descriptor (open until `close`); `msg` is valid.
        let n = unsafe { libc::sendmsg(fd, &msg, libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) };
        if n >= 0 {
            return Some(n as usize);
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN) => return Some(0),
            _ => return None,
        }
    }
}

impl State {
    /// The peer is gone: drop the queue and every data frame from now on (the reading
    /// side notices the close).
    fn broken(&mut self) {
        self.pending.clear();
        self.front_sent = 0;
        self.pending_bytes = 0;
        self.dropping = true;
    }

    /// Drop `n` sent bytes from the front of the queue.
    fn consume(&mut self, mut n: usize) {
        self.pending_bytes -= n;
        while n > 0 {
            let left = self.pending[0].len() - self.front_sent;
            if n < left {
                self.front_sent += n;
                return;
            }
            n -= left;
            self.pending.pop_front();
            self.front_sent = 0;
        }
    }
}

/// What a write asks of the loop once the state's mutex is released.
#[derive(Default)]
struct After {
    watch: bool,
    too_slow: Option<usize>,
}

/// Whole WebSocket frames to one socket, from any thread (see the module docs).
#[pyclass(module = "docsync._core", frozen)]
pub struct FrameSink {
    max_pending: usize,
    callbacks: Mutex<Option<Callbacks>>, // None once closed (or cleared by the GC)
    state: Mutex<State>,
}

struct Callbacks {
    watch: Py<PyAny>,    // called when frames got queued and the loop does not watch yet
    too_slow: Py<PyAny>, // called once with the pending byte count past max_pending
}

/// The header of an unmasked, final frame of `n` bytes (RFC 6455 §5.2).
fn frame_header(first: u8, n: usize) -> ([u8; 10], usize) {
    let mut h = [0u8; 10];
    h[0] = first;
    if n < 126 {
        h[1] = n as u8;
        (h, 2)
    } else if n <= 0xFFFF {
        h[1] = 126;
        h[2..4].copy_from_slice(&(n as u16).to_be_bytes());
        (h, 4)
    } else {
        h[1] = 127;
        h[2..10].copy_from_slice(&(n as u64).to_be_bytes());
        (h, 10)
    }
}

impl FrameSink {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self, py: Python<'_>, first: u8, payload: &[u8]) -> PyResult<()> {
        let control = first & 0x08 != 0;
        let after = {
            let mut st = self.state();
            if st.stopped || (st.dropping && !control) {
                return Ok(());
            }
            let (header, hlen) = frame_header(first, payload.len());
            let header = &header[..hlen];
            let total = hlen + payload.len();
            let mut sent = 0;
            if st.pending.is_empty() {
                match send_parts(st.fd, &[header, payload]) {
                    None => {
                        st.broken();
                        return Ok(());
                    }
                    Some(n) if n == total => return Ok(()),
                    Some(n) => sent = n,
                }
            }
            // queue the rest of the frame
            let mut rest = Vec::with_capacity(total - sent);
            if sent < hlen {
                rest.extend_from_slice(&header[sent..]);
                rest.extend_from_slice(payload);
            } else {
                rest.extend_from_slice(&payload[sent - hlen..]);
            }
            st.pending_bytes += rest.len();
            st.pending.push_back(rest);
            let mut after = After::default();
            if st.pending_bytes > self.max_pending && !st.dropping && !control {
                st.dropping = true;
                after.too_slow = Some(st.pending_bytes);
            }
            if !st.watching {
                st.watching = true;
                after.watch = true;
            }
            after
        };
        let (watch, too_slow) = match &*self.callbacks.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(c) => (c.watch.clone_ref(py), c.too_slow.clone_ref(py)),
            None => return Ok(()),
        };
        if let Some(n) = after.too_slow {
            too_slow.call1(py, (n,))?;
        }
        if after.watch {
            watch.call0(py)?;
        }
        Ok(())
    }
}

#[pymethods]
impl FrameSink {
    /// `fd`: the socket's descriptor (duplicated: ours is closed by `close`);
    /// `watch()`: called when frames got queued and the loop should watch for
    /// writability (it must arrange `start_watch` / `on_writable` on the loop thread);
    /// `too_slow(pending)`: called once when the queue passes `max_pending` bytes.
    #[new]
    fn new(fd: c_int, max_pending: usize, watch: Py<PyAny>, too_slow: Py<PyAny>) -> PyResult<Self> {
        // SAFETY: dup of a descriptor number; failure is reported, success is ours to close.
        let own = unsafe { libc::dup(fd) };
        if own < 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        let callbacks = Mutex::new(Some(Callbacks { watch, too_slow }));
        Ok(FrameSink { max_pending, callbacks, state: Mutex::new(State { fd: own, ..State::default() }) })
    }

    /// One binary data frame holding `payload` (the hot path: a change to a client).
    fn send(&self, py: Python<'_>, payload: &[u8]) -> PyResult<()> {
        self.write(py, 0x82, payload)
    }

    /// One frame with first header byte `first` (FIN, opcode): Tornado's own frames. A
    /// control opcode (close, ping, pong) still queues once data frames are dropped.
    fn write_frame(&self, py: Python<'_>, first: u8, payload: &[u8]) -> PyResult<()> {
        self.write(py, first, payload)
    }

    /// Bytes queued, not yet taken by the kernel.
    #[getter]
    fn pending_bytes(&self) -> usize {
        self.state().pending_bytes
    }

    /// Our descriptor (-1 once closed), for the loop's writability watch.
    fn fileno(&self) -> c_int {
        self.state().fd
    }

    /// On the loop thread, after `watch()`: whether to watch our descriptor for
    /// writability (False: stopped, or the queue is already empty).
    fn start_watch(&self) -> bool {
        let mut st = self.state();
        if st.stopped || st.pending.is_empty() {
            st.watching = false;
            return false;
        }
        true
    }

    /// On the loop thread, when our socket is writable: write what the kernel takes.
    /// True when the watch should end (the queue is empty, or the peer is gone).
    fn on_writable(&self) -> bool {
        let mut st = self.state();
        while !st.pending.is_empty() && !st.stopped {
            let sent = {
                let parts: Vec<&[u8]> = st.pending.iter().take(MAX_PARTS).enumerate().map(|(i, p)| if i == 0 { &p[st.front_sent..] } else { &p[..] }).collect();
                send_parts(st.fd, &parts)
            };
            match sent {
                None => {
                    st.broken();
                    break;
                }
                Some(0) => return false,
                Some(n) => st.consume(n),
            }
            if !st.pending.is_empty() {
                return false; // the kernel took what it could: wait for the next writable
            }
        }
        let end = st.watching && !st.stopped;
        st.watching = false;
        end
    }

    /// Stop writing and drop the queue (on the loop thread). Returns whether the loop
    /// was watching our descriptor (the caller removes the watch, then calls `close`).
    fn stop(&self) -> bool {
        let mut st = self.state();
        let watching = st.watching && !st.stopped;
        st.stopped = true;
        st.watching = false;
        st.pending.clear();
        st.front_sent = 0;
        st.pending_bytes = 0;
        watching
    }

    /// Close our descriptor and let go of the callbacks (after `stop`; twice is fine).
    fn close(&self) {
        {
            let mut st = self.state();
            st.stopped = true;
            if st.fd >= 0 {
                // SAFETY: our own duplicate, closed once (set to -1 below).
                unsafe { libc::close(st.fd) };
                st.fd = -1;
            }
        }
        self.__clear__();
    }

    // The callbacks usually refer back to the writer that owns this sink: a cycle the
    // garbage collector must see through.
    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        if let Ok(guard) = self.callbacks.try_lock() {
            if let Some(c) = &*guard {
                visit.call(&c.watch)?;
                visit.call(&c.too_slow)?;
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        let taken = self.callbacks.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(taken); // (after the lock is released: dropping may run Python code)
    }
}

impl Drop for FrameSink {
    fn drop(&mut self) {
        let st = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        if st.fd >= 0 {
            // SAFETY: our own duplicate, not closed yet.
            unsafe { libc::close(st.fd) };
        }
    }
}
