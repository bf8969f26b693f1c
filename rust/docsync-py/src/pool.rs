//! The scheduling core of the server's session pool (`docsync.server.executor`): per-session
//! serial queues, their timers, and which worker thread does what next.
//!
//! Why here and not in Python: a streaming session wakes a worker 20 times a second, and
//! every wake-up runs with cold caches; the ~70 lines of Python bookkeeping per wake-up
//! (timer heap, ready line, keeper) cost more CPU than the update itself. Here they are a
//! few hundred native instructions.
//!
//! Threads stay Python threads (started by `executor.py`); each loops on
//! [`PoolCore::next_job`], which returns the worker's next job and, while there is none,
//! sleeps on the worker's own condition variable with the GIL released (a timed sleep
//! when it is the keeper). Apart from that sleep nothing here blocks or releases the GIL,
//! so the state changes atomically; its mutex only guards against re-entry while a
//! method calls back into Python (starting a thread, dropping objects), and it is never
//! held then. At interpreter exit [`PoolCore::stop`] wakes every sleeper and makes it
//! return, before the interpreter finalizes (see there).
//!
//! The policy is the one documented in `executor.py`: jobs of one queue run one at a
//! time in order, a queue goes to the back of the ready line after each job, timers fire
//! as jobs of their queue, a periodic timer skips a firing while its previous run is
//! queued or running, a thread that finishes a job takes the next one without sleeping,
//! and one idle thread (the keeper) sleeps until the next deadline and helps when the
//! running jobs make no progress for `help_after` seconds.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use pyo3::prelude::*;

/// Seconds of `CLOCK_MONOTONIC`, computed exactly as Python's `time.monotonic()` does, so
/// deadlines made in Python (`time.monotonic() + delay`) compare with ours.
fn monotonic() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec we own; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let ns = ts.tv_sec * 1_000_000_000 + ts.tv_nsec;
    if ns % 1_000_000_000 == 0 {
        (ns / 1_000_000_000) as f64
    } else {
        ns as f64 / 1e9
    }
}

struct Job {
    func: Py<PyAny>,
    fut: Option<Py<PyAny>>,
    timer: Option<u64>,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    scheduled: bool, // in the ready line or running
    closed: bool,
    released: bool, // its Python object is gone: forget it once idle
}

struct Timer {
    queue: u64,
    func: Py<PyAny>,
    deadline: f64,
    period: Option<f64>,
    order: u64,     // of its current heap entry (older entries are stale)
    in_flight: bool, // a job of it is queued or running
    cancelled: bool,
    armed: bool, // counted among the live timers
}

#[derive(PartialEq)]
enum Doing {
    Starting,
    Running,
    Idle,   // sleeping until woken
    Keeper, // sleeping until the next deadline
}

/// What a worker sleeps on: a flag and a condition variable (the GIL is released while
/// it waits).
#[derive(Default)]
struct Signal {
    flag: Mutex<bool>,
    cond: Condvar,
}

impl Signal {
    fn notify(&self) {
        *self.flag.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cond.notify_one();
    }

    /// Sleep until notified or `seconds` pass (negative: no limit), and take the
    /// notification (one that came before the sleep ends it at once).
    fn wait(&self, seconds: f64) {
        let mut flag = self.flag.lock().unwrap_or_else(|e| e.into_inner());
        if seconds < 0.0 {
            while !*flag {
                flag = self.cond.wait(flag).unwrap_or_else(|e| e.into_inner());
            }
        } else {
            let deadline = std::time::Instant::now() + Duration::from_secs_f64(seconds);
            while !*flag {
                let now = std::time::Instant::now();
                if now >= deadline {
                    break;
                }
                flag = self.cond.wait_timeout(flag, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
            }
        }
        *flag = false;
    }
}

struct Worker {
    signal: Arc<Signal>,
    doing: Doing,
    queue: Option<u64>,
    timer: Option<u64>,
    notified: bool,
    awake: bool, // just ran a job: taking the next one costs no wake-up
    watched_progress: Option<u64>,
    watched_since: f64,
}

#[derive(Default)]
struct State {
    max_workers: usize,
    help_after: f64, // seconds without progress before a waiting thread helps
    queues: HashMap<u64, Queue>,
    next_queue: u64,
    ready: VecDeque<u64>,
    heap: BinaryHeap<Reverse<(u64, u64, u64)>>, // (deadline bits, order, timer id)
    timers: HashMap<u64, Timer>,
    next_timer: u64,
    order: u64,
    timer_owners: HashMap<u64, usize>, // live timers per queue
    timer_count: usize,
    workers: Vec<Worker>,
    idle: Vec<usize>, // LIFO: the warmest first
    keeper: Option<usize>,
    keeper_until: f64,
    running: Vec<usize>,
    waking: usize, // notified, not yet awake
    progress: u64, // jobs finished
    firing: bool,
    stopping: bool,
    to_spawn: Vec<usize>,
    to_drop: Vec<Py<PyAny>>,
}

/// What a worker does next: a job `(func, future or None)`, sleep for this many
/// seconds (`-1.0`: until woken), or stop (the pool is stopping).
enum Next {
    Run(Py<PyAny>, Option<Py<PyAny>>),
    Sleep(f64),
    Stop,
}

/// The scheduling state of one `SessionPool` (see the module docs).
#[pyclass(module = "docsync._core", frozen)]
pub struct PoolCore {
    spawn: Py<PyAny>,
    state: Mutex<State>,
}

impl State {
    fn enqueue(&mut self, qid: u64, job: Job) -> bool {
        let Some(q) = self.queues.get_mut(&qid) else { return false };
        q.jobs.push_back(job);
        if q.scheduled {
            return true;
        }
        q.scheduled = true;
        self.ready.push_back(qid);
        if self.waking > 0 || self.firing {
            return true;
        }
        if self.running.is_empty() {
            match self.keeper {
                Some(k) => self.wake(k),
                None => self.wake_idle(),
            }
        } else if self.keeper.is_none() {
            self.wake_idle(); // someone must watch for a stuck job
        } else if self.keeper_until > monotonic() + self.help_after {
            let k = self.keeper.unwrap();
            self.wake(k); // re-time its watch
        }
        true
    }

    fn push_timer(&mut self, id: u64) {
        self.order += 1;
        let order = self.order;
        let t = self.timers.get_mut(&id).expect("timer");
        t.order = order;
        self.heap.push(Reverse((t.deadline.to_bits(), order, id)));
    }

    fn forget_timer(&mut self, id: u64) {
        let t = self.timers.get_mut(&id).expect("timer");
        t.armed = false;
        let queue = t.queue;
        self.timer_count -= 1;
        if let Some(n) = self.timer_owners.get_mut(&queue) {
            *n -= 1;
            if *n == 0 {
                self.timer_owners.remove(&queue);
            }
        }
    }

    /// The first live heap entry's timer, dropping stale and cancelled entries on the way.
    fn heap_top(&mut self) -> Option<(f64, u64)> {
        while let Some(&Reverse((bits, order, id))) = self.heap.peek() {
            match self.timers.get(&id) {
                Some(t) if t.order == order && !t.cancelled => return Some((f64::from_bits(bits), id)),
                Some(t) if t.order == order && !t.in_flight => {
                    // cancelled, no job of it pending: gone for good
                    let t = self.timers.remove(&id).unwrap();
                    self.to_drop.push(t.func);
                }
                _ => {}
            }
            self.heap.pop();
        }
        None
    }

    fn next_deadline(&mut self) -> f64 {
        self.heap_top().map_or(f64::INFINITY, |(d, _)| d)
    }

    /// Move the due timers to their queues' jobs.
    fn fire_due(&mut self, py: Python<'_>, now: f64) {
        self.firing = true;
        while let Some((deadline, id)) = self.heap_top() {
            if deadline > now {
                break;
            }
            self.heap.pop();
            let qid = self.timers[&id].queue;
            let open = self.queue_open(qid);
            let t = self.timers.get_mut(&id).unwrap();
            if let Some(period) = t.period {
                // re-armed in place: same timer, same counts
                while t.deadline <= now {
                    t.deadline += period;
                }
                // a firing while the previous run is not done is skipped
                let run = open && !t.in_flight;
                t.in_flight |= run;
                let func = run.then(|| t.func.clone_ref(py));
                self.push_timer(id);
                if let Some(func) = func {
                    self.enqueue(qid, Job { func, fut: None, timer: Some(id) });
                }
            } else {
                self.forget_timer(id);
                if !open {
                    let t = self.timers.remove(&id).unwrap();
                    self.to_drop.push(t.func);
                    continue;
                }
                let t = self.timers.get_mut(&id).unwrap();
                t.in_flight = true;
                let func = t.func.clone_ref(py);
                self.enqueue(qid, Job { func, fut: None, timer: Some(id) });
            }
        }
        self.firing = false;
    }

    fn queue_open(&self, qid: u64) -> bool {
        self.queues.get(&qid).is_some_and(|q| !q.closed)
    }

    /// True when every live timer belongs to a queue that is running now (such a timer
    /// cannot be held up by the running job more than the job itself holds it).
    fn only_own_timers(&self) -> bool {
        let mut own = 0;
        for &w in &self.running {
            if let Some(q) = self.workers[w].queue {
                own += self.timer_owners.get(&q).copied().unwrap_or(0);
            }
        }
        own >= self.timer_count
    }

    fn needs_keeper(&self) -> bool {
        !self.ready.is_empty() || (self.timer_count > 0 && !self.only_own_timers())
    }

    fn wake(&mut self, w: usize) {
        self.waking += 1;
        let worker = &mut self.workers[w];
        worker.notified = true;
        worker.signal.notify();
        // a woken keeper is no longer watching; a woken idle one left the stack
        if self.keeper == Some(w) {
            self.keeper = None;
            self.keeper_until = f64::INFINITY;
        } else if let Some(i) = self.idle.iter().position(|&x| x == w) {
            self.idle.remove(i);
        }
    }

    fn wake_idle(&mut self) {
        if let Some(&w) = self.idle.last() {
            self.wake(w);
        } else if self.workers.len() < self.max_workers {
            self.workers.push(Worker {
                signal: Arc::default(),
                doing: Doing::Starting,
                queue: None,
                timer: None,
                notified: false,
                awake: false,
                watched_progress: None,
                watched_since: 0.0,
            });
            self.waking += 1;
            self.to_spawn.push(self.workers.len() - 1);
        }
    }

    /// The worker `me` is done with its job, or awake after a sleep.
    fn arrive(&mut self, me: usize) {
        let w = &mut self.workers[me];
        match w.doing {
            Doing::Running => {
                w.awake = true;
                let qid = w.queue.take();
                let timer = w.timer.take();
                if let Some(i) = self.running.iter().position(|&x| x == me) {
                    self.running.swap_remove(i);
                }
                self.progress += 1;
                if let Some(id) = timer {
                    self.job_done(id);
                }
                if let Some(qid) = qid {
                    self.after_job(qid);
                }
            }
            Doing::Starting => {
                self.waking -= 1;
                w.notified = false;
            }
            Doing::Idle | Doing::Keeper => {
                w.awake = false;
                // A notification after a timeout stays pending and ends the next sleep at
                // once: that sleep then arrives here neither notified nor the keeper.
                if w.notified {
                    w.notified = false;
                    self.waking -= 1;
                } else if self.keeper == Some(me) {
                    self.keeper = None; // timed out
                    self.keeper_until = f64::INFINITY;
                } else if let Some(i) = self.idle.iter().position(|&x| x == me) {
                    self.idle.remove(i); // a spurious wake-up
                }
            }
        }
        self.workers[me].doing = Doing::Running; // until it picks a sleep below
    }

    fn job_done(&mut self, id: u64) {
        let Some(t) = self.timers.get_mut(&id) else { return };
        t.in_flight = false;
        if t.period.is_none() || (t.cancelled && !t.armed) {
            // a one-shot that ran, or a cancelled periodic one: its heap entries are
            // stale once it is gone
            let t = self.timers.remove(&id).unwrap();
            self.to_drop.push(t.func);
        }
    }

    fn after_job(&mut self, qid: u64) {
        let Some(q) = self.queues.get_mut(&qid) else { return };
        if q.jobs.is_empty() {
            q.scheduled = false;
            self.maybe_forget_queue(qid);
        } else {
            self.ready.push_back(qid); // to the back of the line
        }
    }

    fn maybe_forget_queue(&mut self, qid: u64) {
        if let Some(q) = self.queues.get(&qid) {
            if q.released && !q.scheduled && q.jobs.is_empty() && !self.timer_owners.contains_key(&qid) {
                self.queues.remove(&qid);
            }
        }
    }

    fn next(&mut self, py: Python<'_>, me: usize) -> Next {
        loop {
            if self.stopping {
                return Next::Stop;
            }
            let now = monotonic();
            if self.heap_top().is_some_and(|(d, _)| d <= now) {
                self.fire_due(py, now);
            }
            let mut take = false;
            if !self.ready.is_empty() {
                let w = &mut self.workers[me];
                if w.awake || self.running.is_empty() {
                    take = true;
                } else if w.watched_progress != Some(self.progress) {
                    // the running ones move on
                    w.watched_progress = Some(self.progress);
                    w.watched_since = now;
                } else if now - w.watched_since >= self.help_after {
                    take = true; // stuck: help
                }
            } else {
                self.workers[me].watched_progress = None;
            }
            if take {
                let qid = self.ready.pop_front().unwrap();
                self.workers[me].watched_progress = None;
                let Some(job) = self.queues.get_mut(&qid).and_then(|q| q.jobs.pop_front()) else {
                    continue; // cannot happen: a ready queue has jobs
                };
                let w = &mut self.workers[me];
                w.queue = Some(qid);
                w.timer = job.timer;
                w.awake = true;
                self.running.push(me);
                if self.keeper.is_none() && self.waking == 0 && self.needs_keeper() {
                    self.wake_idle();
                }
                if let Some(id) = job.timer {
                    if self.timers.get(&id).is_none_or(|t| t.cancelled) {
                        // cancelled after it was queued: done without running
                        self.to_drop.push(job.func);
                        self.arrive(me);
                        continue;
                    }
                }
                return Next::Run(job.func, job.fut);
            }
            self.workers[me].awake = false;
            // nothing to take now: watch (keeper) or sleep
            if self.keeper.is_none() && (!self.ready.is_empty() || self.timer_count > 0) {
                let mut deadline = self.next_deadline();
                if !self.ready.is_empty() {
                    deadline = deadline.min(now + self.help_after);
                }
                self.keeper = Some(me);
                self.keeper_until = deadline;
                self.workers[me].doing = Doing::Keeper;
                return Next::Sleep(if deadline == f64::INFINITY { -1.0 } else { (deadline - now).max(0.0) });
            }
            if !self.ready.is_empty() && self.keeper_until > now + self.help_after {
                if let Some(k) = self.keeper {
                    // Jobs wait, but the keeper set its watch before they were queued:
                    // re-time it, or they wait for its next deadline or a running job's end.
                    self.wake(k);
                }
            }
            self.idle.push(me);
            self.workers[me].doing = Doing::Idle;
            return Next::Sleep(-1.0);
        }
    }
}

impl PoolCore {
    /// Run `f` on the state, then (lock released) start the threads it asked for and drop
    /// the Python objects it let go of: either may run Python code that calls back here.
    fn with_state<R>(&self, py: Python<'_>, f: impl FnOnce(&mut State) -> R) -> PyResult<R> {
        let (result, spawn, released) = {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let result = f(&mut st);
            (result, std::mem::take(&mut st.to_spawn), std::mem::take(&mut st.to_drop))
        };
        drop(released); // decrefs, with the GIL held and the state unlocked
        for index in spawn {
            self.spawn.call1(py, (index,))?;
        }
        Ok(result)
    }
}

#[pymethods]
impl PoolCore {
    /// `spawn(index)` starts the Python thread of a new worker, which then loops on
    /// :meth:`next_job`.
    #[new]
    fn new(max_workers: usize, help_after: f64, spawn: Py<PyAny>) -> Self {
        let state = State { max_workers: max_workers.max(1), help_after, keeper_until: f64::INFINITY, ..State::default() };
        PoolCore { spawn, state: Mutex::new(state) }
    }

    /// Stop handing out jobs and wake every worker: each one's next (or current)
    /// :meth:`next_job` returns None. Called at interpreter exit, so that no worker is
    /// asleep in here (GIL released) when the interpreter finalizes: a daemon thread that
    /// takes the GIL back then is ended by ``pthread_exit``, which must not unwind
    /// through Rust frames.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        self.with_state(py, |st| {
            st.stopping = true;
            for w in &st.workers {
                w.signal.notify();
            }
        })
    }

    /// A new queue; its id.
    fn new_queue(&self, py: Python<'_>) -> PyResult<u64> {
        self.with_state(py, |st| {
            st.next_queue += 1;
            st.queues.insert(st.next_queue, Queue::default());
            st.next_queue
        })
    }

    /// The queue's Python object is gone: forget it once its jobs and timers are.
    fn release_queue(&self, py: Python<'_>, queue: u64) -> PyResult<()> {
        self.with_state(py, |st| {
            if let Some(q) = st.queues.get_mut(&queue) {
                q.released = true;
            }
            st.maybe_forget_queue(queue);
        })
    }

    /// Queue `func` (with its future, or None) as a job of `queue`; False when the queue
    /// is closed.
    #[pyo3(signature = (queue, func, fut=None))]
    fn submit(&self, py: Python<'_>, queue: u64, func: Py<PyAny>, fut: Option<Py<PyAny>>) -> PyResult<bool> {
        self.with_state(py, |st| {
            if !st.queue_open(queue) {
                st.to_drop.push(func);
                if let Some(f) = fut {
                    st.to_drop.push(f);
                }
                return false;
            }
            st.enqueue(queue, Job { func, fut, timer: None })
        })
    }

    /// A timer running `func` as a job of `queue` at `deadline` (``time.monotonic()``
    /// seconds), then every `period` seconds if given. Returns its id.
    #[pyo3(signature = (queue, func, deadline, period=None))]
    fn add_timer(&self, py: Python<'_>, queue: u64, func: Py<PyAny>, deadline: f64, period: Option<f64>) -> PyResult<u64> {
        self.with_state(py, |st| {
            st.next_timer += 1;
            let id = st.next_timer;
            st.timers.insert(
                id,
                Timer { queue, func, deadline, period, order: 0, in_flight: false, cancelled: false, armed: true },
            );
            st.push_timer(id);
            *st.timer_owners.entry(queue).or_insert(0) += 1;
            st.timer_count += 1;
            if deadline < st.keeper_until {
                if let Some(k) = st.keeper {
                    st.wake(k); // it sleeps past the new deadline
                } else if st.waking == 0 && (st.running.is_empty() || !st.only_own_timers()) {
                    st.wake_idle();
                }
            }
            id
        })
    }

    /// Cancel a timer (a firing already queued does not run).
    fn cancel(&self, py: Python<'_>, timer: u64) -> PyResult<()> {
        self.with_state(py, |st| {
            let Some(t) = st.timers.get_mut(&timer) else { return };
            t.cancelled = true;
            if t.armed {
                let queue = t.queue;
                st.forget_timer(timer);
                st.maybe_forget_queue(queue);
            }
        })
    }

    /// The next deadline of a live timer, or None once it is gone (a one-shot that ran).
    fn timer_deadline(&self, py: Python<'_>, timer: u64) -> PyResult<Option<f64>> {
        self.with_state(py, |st| st.timers.get(&timer).map(|t| t.deadline))
    }

    /// Refuse new jobs on `queue`; queued ones still run.
    fn close(&self, py: Python<'_>, queue: u64) -> PyResult<()> {
        self.with_state(py, |st| {
            if let Some(q) = st.queues.get_mut(&queue) {
                q.closed = true;
            }
        })
    }

    /// Jobs waiting in `queue` (not counting a running one).
    fn pending(&self, py: Python<'_>, queue: u64) -> PyResult<usize> {
        self.with_state(py, |st| st.queues.get(&queue).map_or(0, |q| q.jobs.len()))
    }

    /// Worker threads running a job now.
    #[getter]
    fn running(&self, py: Python<'_>) -> PyResult<usize> {
        self.with_state(py, |st| st.running.len())
    }

    /// Queues and timers the core still holds (for tests: both go once unused).
    #[getter]
    fn held(&self, py: Python<'_>) -> PyResult<(usize, usize)> {
        self.with_state(py, |st| (st.queues.len(), st.timers.len()))
    }

    /// Called by worker `me` when it starts and after each job: the next job `(func,
    /// future or None)`, or None when the pool stops. Sleeps (GIL released) until there
    /// is one.
    #[allow(clippy::type_complexity)]
    fn next_job(&self, py: Python<'_>, me: usize) -> PyResult<Option<(Py<PyAny>, Option<Py<PyAny>>)>> {
        loop {
            let (next, signal) = self.with_state(py, |st| {
                if me >= st.workers.len() {
                    return (Next::Stop, None);
                }
                st.arrive(me);
                let next = st.next(py, me);
                let signal = if matches!(next, Next::Sleep(_)) { Some(st.workers[me].signal.clone()) } else { None };
                (next, signal)
            })?;
            match (next, signal) {
                (Next::Run(func, fut), _) => return Ok(Some((func, fut))),
                (Next::Sleep(seconds), Some(signal)) => py.allow_threads(|| signal.wait(seconds)),
                _ => return Ok(None),
            }
        }
    }
}
