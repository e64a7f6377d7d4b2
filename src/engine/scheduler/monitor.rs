//! A lock and its condition variables, behind a small trait so the scheduler's
//! synchronisation can be model-checked: production uses `parking_lot`, the tests `loom`,
//! which runs a test under every interleaving and reports a lost wake-up as a deadlock.

use std::time::Instant;

/// Which condition variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cv {
    /// Preparation workers wait for a due batch and a free slot.
    Workers = 0,
    /// The deadline thread waits for the next deadline.
    Timer = 1,
}

/// What a waiting loop's body decided.
pub(crate) enum Flow<R> {
    Done(R),
    /// Wait for a notification, or until the instant at the latest.
    Wait(Option<Instant>),
}

/// One mutex-protected value with two condition variables. Contract: state changes happen
/// only inside `with`/`wait_on` (under the lock), and the notifier changes state before it
/// notifies; then no wake-up can be lost.
pub(crate) trait Monitor<T>: Send + Sync {
    fn new(value: T) -> Self;

    /// Runs `f` under the lock.
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R;

    /// Runs `f` under the lock until it returns `Done`, waiting on `cv` in between. With
    /// `spin`, the first untimed wait may instead be a short spin off the lock (see [`Spin`]).
    fn wait_on<R>(&self, cv: Cv, spin: Option<&Spin>, f: impl FnMut(&mut T) -> Flow<R>) -> R;

    fn notify_one(&self, cv: Cv);

    fn notify_all(&self, cv: Cv);
}

/// A short spin before sleeping, for one waiter at a time: it watches `hint` (a counter the
/// notifiers bump, read without the lock) and ends when the counter moves or the backoff runs
/// out. The first waiter to come spins; the others sleep at once, so on a small machine spinning
/// waiters do not take the cores from the threads that would give them work.
pub(crate) struct Spin {
    pub hint: std::sync::atomic::AtomicU64,
    spinning: std::sync::atomic::AtomicBool,
}

impl Spin {
    /// A spin whose counter starts at `first`.
    pub fn starting_at(first: u64) -> Self {
        Spin {
            hint: std::sync::atomic::AtomicU64::new(first),
            spinning: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Spins unless another waiter is; returns when it should look again.
    pub fn run(&self) {
        use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
        if self.spinning.swap(true, Acquire) {
            return;
        }
        let seen = self.hint.load(Relaxed);
        let backoff = crossbeam_utils::Backoff::new();
        while !backoff.is_completed() && self.hint.load(Relaxed) == seen {
            backoff.snooze();
        }
        self.spinning.store(false, Release);
    }
}

/// The production monitor. `parking_lot`: nothing is awaited under the lock, its condvar has
/// `wait_until`, and an uncontended lock is one atomic operation.
pub(crate) struct PlMonitor<T> {
    value: parking_lot::Mutex<T>,
    cvs: [parking_lot::Condvar; 2],
}

impl<T: Send> Monitor<T> for PlMonitor<T> {
    fn new(value: T) -> Self {
        PlMonitor {
            value: parking_lot::Mutex::new(value),
            cvs: [parking_lot::Condvar::new(), parking_lot::Condvar::new()],
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.value.lock())
    }

    fn wait_on<R>(&self, cv: Cv, mut spin: Option<&Spin>, mut f: impl FnMut(&mut T) -> Flow<R>) -> R {
        let mut guard = self.value.lock();
        loop {
            match f(&mut guard) {
                Flow::Done(r) => return r,
                // Once, before sleeping without a limit: under load the next change usually
                // comes within microseconds, and a waiter that is awake costs the notifier no
                // futex wake-up (a system call) and itself no context switch. To the protocol
                // it is a spurious wake-up: `f` looks again under the lock before any real wait.
                Flow::Wait(None) if spin.is_some() => {
                    if let Some(spin) = spin.take() {
                        parking_lot::MutexGuard::unlocked(&mut guard, || spin.run());
                    }
                }
                Flow::Wait(None) => self.cvs[cv as usize].wait(&mut guard),
                Flow::Wait(Some(t)) => {
                    self.cvs[cv as usize].wait_until(&mut guard, t);
                }
            }
        }
    }

    fn notify_one(&self, cv: Cv) {
        self.cvs[cv as usize].notify_one();
    }

    fn notify_all(&self, cv: Cv) {
        self.cvs[cv as usize].notify_all();
    }
}
