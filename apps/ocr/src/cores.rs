//! [`Cores`]: the CPU cores the OCR pipeline's steps share, and where they went.
//!
//! Every CPU-heavy step (decoding, each model run, cutting lines out) runs through the pool,
//! which records how long each step held cores. A bounded pool ([`Cores::new`]) also makes
//! steps wait for a free core, first come, first served, so that at most that many compute at
//! once: a CPU budget for a pipeline that shares its machine with other work. An unbounded
//! one ([`Cores::unbounded`], the default) only counts: each stage has enough threads to fill
//! every core by itself, and the operating system gives the cores to whichever threads have
//! work.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// The CPU steps of the pipeline that take cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// Reading, decoding, resizing and normalising an image.
    Decode,
    /// A detector run.
    Detect,
    /// Finding the lines in the detector's map and cutting them out.
    Crop,
    /// An orientation-classifier run.
    Classify,
    /// A recogniser run.
    Recognize,
}

impl Step {
    /// Every step, in pipeline order.
    pub const ALL: [Step; 5] = [Step::Decode, Step::Detect, Step::Crop, Step::Classify, Step::Recognize];

    /// The step's name.
    pub fn name(self) -> &'static str {
        match self {
            Step::Decode => "decode",
            Step::Detect => "detect",
            Step::Crop => "crop",
            Step::Classify => "classify",
            Step::Recognize => "recognize",
        }
    }
}

/// How the cores were spent since the pool was made: per step, the time its work held cores
/// (a run on `n` threads counts `n` times) and the time it waited for them.
///
/// A step's time is wall time from start to end. In an unbounded pool more steps than cores
/// may run at once, time-sliced by the operating system, so the shares can add up to more
/// than 1; in a bounded pool they cannot.
#[derive(Debug, Clone, PartialEq)]
pub struct CoreUsage {
    /// Cores in the pool.
    pub cores: usize,
    /// Since the pool was made.
    pub elapsed: Duration,
    /// `(step, core time held, time waited for cores, runs)`, in pipeline order.
    pub steps: Vec<(Step, Duration, Duration, u64)>,
}

impl CoreUsage {
    /// What was spent between `earlier` (a reading of the same pool) and this reading.
    pub fn since(&self, earlier: &CoreUsage) -> CoreUsage {
        CoreUsage {
            cores: self.cores,
            elapsed: self.elapsed.saturating_sub(earlier.elapsed),
            steps: self
                .steps
                .iter()
                .zip(&earlier.steps)
                .map(|(&(s, held, waited, runs), &(_, h0, w0, r0))| {
                    (
                        s,
                        held.saturating_sub(h0),
                        waited.saturating_sub(w0),
                        runs.saturating_sub(r0),
                    )
                })
                .collect(),
        }
    }

    /// The share of the pool's core time (`cores × elapsed`) each step held, in pipeline order.
    pub fn shares(&self) -> Vec<(Step, f64)> {
        let total = self.elapsed.as_secs_f64() * self.cores as f64;
        self.steps
            .iter()
            .map(|&(s, held, _, _)| (s, if total > 0.0 { held.as_secs_f64() / total } else { 0.0 }))
            .collect()
    }
}

/// A pool of CPU cores shared by the pipeline's steps; a cheap handle (clones share the pool).
///
/// [`Cores::run`] runs a step and records the core time it held. In a bounded pool it first
/// waits until the pool has the cores the step asks for and no step that asked earlier is still
/// waiting (first come, first served: no step starves), and gives them back after, also when
/// the step panics.
#[derive(Debug, Clone)]
pub struct Cores {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    cores: usize,
    /// Whether steps wait for free cores, or the pool only counts.
    bounded: bool,
    created: Instant,
    // One lock for the free count, the line and the counters: a step's turn is decided and
    // recorded under it, so no give-back can be missed by a waiter (the condition variable is
    // signalled under the same lock). Held for a few instructions per step, never while one
    // computes.
    state: Mutex<State>,
    turn: Condvar,
}

#[derive(Debug)]
struct State {
    free: usize,
    /// Tickets of the steps waiting, oldest first.
    line: VecDeque<u64>,
    next_ticket: u64,
    held: [Duration; 5],
    waited: [Duration; 5],
    runs: [u64; 5],
}

impl Cores {
    /// A pool of `cores` cores (at least 1): at most that many steps compute at once.
    pub fn new(cores: usize) -> Self {
        Cores::with(cores, true)
    }

    /// A pool that never makes a step wait and only records where the time went; `cores` is
    /// what [`CoreUsage::shares`] divides by (the cores the machine gives this process).
    pub fn unbounded(cores: usize) -> Self {
        Cores::with(cores, false)
    }

    fn with(cores: usize, bounded: bool) -> Self {
        let cores = cores.max(1);
        Cores {
            shared: Arc::new(Shared {
                cores,
                bounded,
                created: Instant::now(),
                state: Mutex::new(State {
                    free: cores,
                    line: VecDeque::new(),
                    next_ticket: 0,
                    held: [Duration::ZERO; 5],
                    waited: [Duration::ZERO; 5],
                    runs: [0; 5],
                }),
                turn: Condvar::new(),
            }),
        }
    }

    /// Cores in the pool.
    pub fn count(&self) -> usize {
        self.shared.cores
    }

    /// Whether steps wait for free cores ([`Cores::new`]) or the pool only counts
    /// ([`Cores::unbounded`]).
    pub fn is_bounded(&self) -> bool {
        self.shared.bounded
    }

    /// Runs `f` for `step` on `threads` cores (at most the pool's), waiting for them first in
    /// a bounded pool. Blocks the calling thread: call it from a worker thread, never from an
    /// async task.
    pub fn run<T>(&self, step: Step, threads: usize, f: impl FnOnce() -> T) -> T {
        let want = threads.clamp(1, self.shared.cores);
        if !self.shared.bounded {
            let _counted = GiveBack {
                cores: self,
                step,
                want,
                started: Instant::now(),
            };
            return f();
        }
        let asked = Instant::now();
        {
            let mut s = self.shared.state.lock();
            let ticket = s.next_ticket;
            s.next_ticket += 1;
            s.line.push_back(ticket);
            while s.line.front() != Some(&ticket) || s.free < want {
                self.shared.turn.wait(&mut s);
            }
            s.line.pop_front();
            s.free -= want;
            s.waited[step as usize] += asked.elapsed();
            // The next in line may fit in what is left.
            if s.free > 0 && !s.line.is_empty() {
                self.shared.turn.notify_all();
            }
        }
        let _back = GiveBack {
            cores: self,
            step,
            want,
            started: Instant::now(),
        };
        f()
    }

    /// How the cores were spent so far.
    pub fn usage(&self) -> CoreUsage {
        let s = self.shared.state.lock();
        CoreUsage {
            cores: self.shared.cores,
            elapsed: self.shared.created.elapsed(),
            steps: Step::ALL
                .iter()
                .map(|&st| (st, s.held[st as usize], s.waited[st as usize], s.runs[st as usize]))
                .collect(),
        }
    }
}

/// Gives a step's cores back when it ends, by return or by panic.
struct GiveBack<'a> {
    cores: &'a Cores,
    step: Step,
    want: usize,
    started: Instant,
}

impl Drop for GiveBack<'_> {
    fn drop(&mut self) {
        let took = self.started.elapsed();
        let mut s = self.cores.shared.state.lock();
        if self.cores.shared.bounded {
            s.free += self.want;
        }
        s.held[self.step as usize] += took * self.want as u32;
        s.runs[self.step as usize] += 1;
        if !s.line.is_empty() {
            self.cores.shared.turn.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn never_more_steps_compute_than_there_are_cores() {
        let cores = Cores::new(2);
        let (now, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        std::thread::scope(|scope| {
            for i in 0..8 {
                let (cores, now, most) = (&cores, &now, &most);
                scope.spawn(move || {
                    for _ in 0..20 {
                        let step = Step::ALL[i % 5];
                        cores.run(step, 1 + i % 2, || {
                            let n = now.fetch_add(1 + i % 2, Ordering::SeqCst) + 1 + i % 2;
                            most.fetch_max(n, Ordering::SeqCst);
                            std::thread::yield_now();
                            now.fetch_sub(1 + i % 2, Ordering::SeqCst);
                        });
                    }
                });
            }
        });
        assert!(most.load(Ordering::SeqCst) <= 2);
        let usage = cores.usage();
        assert_eq!(usage.steps.iter().map(|s| s.3).sum::<u64>(), 160);
        assert_eq!(usage.cores, 2);
        assert!(usage.shares().iter().all(|&(_, f)| (0.0..=1.0).contains(&f)));
    }

    #[test]
    fn an_unbounded_pool_never_waits_and_counts_every_run() {
        let cores = Cores::unbounded(1);
        let c = &cores;
        // Two steps at once on a one-core pool: the first waits for the second, which would
        // never start in a bounded pool.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            scope.spawn(move || c.run(Step::Detect, 1, || rx.recv().unwrap()));
            scope.spawn(move || c.run(Step::Recognize, 1, || tx.send(()).unwrap()));
        });
        let usage = cores.usage();
        assert!(!cores.is_bounded());
        assert_eq!(usage.steps.iter().map(|s| s.3).collect::<Vec<_>>(), [0, 1, 0, 0, 1]);
        assert!(usage.steps.iter().all(|s| s.2 == Duration::ZERO));
        let later = cores.usage();
        assert_eq!(later.since(&usage).steps.iter().map(|s| s.3).sum::<u64>(), 0);
    }

    #[test]
    fn a_step_that_panics_gives_its_cores_back() {
        let cores = Cores::new(1);
        let c = cores.clone();
        let r = std::thread::spawn(move || c.run(Step::Detect, 1, || panic!("a failing run"))).join();
        assert!(r.is_err());
        // The only core is free again: this would wait for ever otherwise.
        assert_eq!(cores.run(Step::Recognize, 4, || 7), 7);
        assert_eq!(cores.usage().steps[1].3, 1);
    }

    #[test]
    fn cores_go_in_the_order_asked() {
        let cores = Cores::new(1);
        let order = Mutex::new(Vec::new());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            let (c, order) = (&cores, &order);
            scope.spawn(move || {
                c.run(Step::Decode, 1, || {
                    tx.send(()).unwrap();
                    // Hold the core until both others are in line.
                    while c.shared.state.lock().line.len() < 2 {
                        std::thread::yield_now();
                    }
                    order.lock().push(0);
                })
            });
            rx.recv().unwrap();
            scope.spawn(move || c.run(Step::Detect, 1, || order.lock().push(1)));
            while c.shared.state.lock().line.is_empty() {
                std::thread::yield_now();
            }
            scope.spawn(move || c.run(Step::Recognize, 1, || order.lock().push(2)));
        });
        assert_eq!(*order.lock(), [0, 1, 2]);
    }
}
