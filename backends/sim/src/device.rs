//! The device: one thread per engine, each a FIFO of operations held for their modelled time.
//!
//! Like a GPU's copy and compute engines, each engine runs the operations in its queue one at a
//! time, in arrival order. A slot's operations are a stream: its compute joins the compute
//! queue when its H2D has finished, and its D2H the D2H queue when its compute has, so one
//! slot waiting on its copy never holds up another slot's kernels (as on hardware with
//! several stream queues). With a shared DMA engine, copies in both directions take turns.
//!
//! An operation of zero modelled time (the default, zero-delay device) runs at once on the
//! thread that made it ready, when its engine is free and nothing is queued before it: still
//! one operation at a time per engine, recorded on the engine's track, but without waking an
//! engine thread for work that takes no time.

use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{AcqRel, Acquire};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use accelrt::trace::{Phase, Track};
use accelrt::Timeline;
use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

use crate::event::{Event, Gate};

/// Buffers and events of one slot, shared with the engines while its work is in flight.
#[derive(Default)]
pub(crate) struct SlotMemory {
    pub host_in: Mutex<Vec<f32>>,
    pub dev_in: Mutex<Vec<f32>>,
    pub dev_out: Mutex<Vec<f32>>,
    pub host_out: Mutex<Vec<f32>>,
    /// Set when the slot's D2H finished.
    pub done: Event,
    /// Set when the batch must fail on the device (an injected fault).
    pub fail: Mutex<Option<String>>,
    /// How long the engines spent on this slot's last batch: H2D, compute, D2H.
    pub times: Mutex<[Duration; 3]>,
}

impl SlotMemory {
    pub fn with_capacity(n: usize) -> Self {
        let buf = || Mutex::new(Vec::with_capacity(n));
        SlotMemory {
            host_in: buf(),
            dev_in: buf(),
            dev_out: buf(),
            host_out: buf(),
            ..SlotMemory::default()
        }
    }
}

pub(crate) struct Op {
    phase: Phase,
    batch: u64,
    unit: usize,
    /// Modelled times of the slot's H2D, compute and D2H.
    times: [Duration; 3],
    mem: Arc<SlotMemory>,
}

impl Op {
    fn step(&self) -> usize {
        match self.phase {
            Phase::H2D => 0,
            Phase::Compute => 1,
            _ => 2,
        }
    }
}

enum Msg {
    Op(Op),
    Stop,
}

/// One engine: its thread's queue, and the claim that keeps it to one operation at a time.
struct Engine {
    track: Track,
    queue: Sender<Msg>,
    /// Held while an operation runs on this engine, by its thread or by the thread running a
    /// zero-time operation at once.
    running: Mutex<()>,
    /// Operations sent to the thread and not yet finished. A zero-time operation runs at once
    /// only when this is 0, so it never overtakes one queued before it.
    queued: AtomicUsize,
}

/// The engines and what their operations need, shared by the engine threads and the issuer.
struct Engines {
    /// H2D, then D2H (the same engine with a shared DMA), then the compute units.
    list: Vec<Engine>,
    d2h: usize,
    computes: usize,
    f: Affine,
    timeline: Option<Timeline>,
    gate: Arc<Gate>,
}

/// The engines and their threads.
pub(crate) struct Device {
    engines: Arc<Engines>,
    threads: Vec<JoinHandle<()>>,
}

#[derive(Clone, Copy)]
struct Affine {
    a: f32,
    b: f32,
}

impl Device {
    pub fn start(
        shared_dma: bool,
        compute_units: usize,
        a: f32,
        b: f32,
        timeline: Option<Timeline>,
        gate: Arc<Gate>,
    ) -> std::io::Result<Self> {
        // Unbounded queues: at most `depth × instances` slots exist, each with one operation
        // in some queue at a time.
        let units = compute_units.max(1);
        let mut names = vec![if shared_dma {
            "dma".to_string()
        } else {
            "h2d".to_string()
        }];
        if !shared_dma {
            names.push("d2h".into());
        }
        names.extend((0..units).map(|k| {
            if units == 1 {
                "compute".to_string()
            } else {
                format!("compute-{k}")
            }
        }));
        let (list, rxs): (Vec<_>, Vec<_>) = names
            .iter()
            .map(|name| {
                let (queue, rx) = crossbeam_channel::unbounded::<Msg>();
                let engine = Engine {
                    track: Track::Engine(name.clone()),
                    queue,
                    running: Mutex::new(()),
                    queued: AtomicUsize::new(0),
                };
                (engine, rx)
            })
            .unzip();
        let d2h = if shared_dma { 0 } else { 1 };
        let engines = Arc::new(Engines {
            list,
            d2h,
            computes: d2h + 1,
            f: Affine { a, b },
            timeline,
            gate,
        });
        let mut device = Device {
            engines: engines.clone(),
            threads: Vec::new(),
        };
        for (k, (name, rx)) in names.into_iter().zip(rxs).enumerate() {
            let engines = engines.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("sim-{name}"))
                .spawn(move || engine_loop(&engines, k, rx));
            // On an error, dropping `device` stops what was started before reporting.
            device.threads.push(spawned?);
        }
        Ok(device)
    }

    /// Starts a slot's H2D; each engine hands the next operation on when it finishes, and the
    /// D2H sets the slot's `done` event. Returns once the first operation that takes time is
    /// queued (a zero-delay device has finished the whole batch by then).
    pub fn issue(&self, unit: usize, batch: u64, mem: &Arc<SlotMemory>, times: [Duration; 3]) {
        mem.done.reset();
        let op = Op {
            phase: Phase::H2D,
            batch,
            unit,
            times,
            mem: mem.clone(),
        };
        self.engines.dispatch(0, op);
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        // Engines hold each other's queues, so they stop on a message, not on disconnection.
        for e in &self.engines.list {
            let _ = e.queue.send(Msg::Stop);
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Engines {
    /// Hands `op` to engine `k`. An operation of zero modelled time runs at once on this
    /// thread when the engine is free, nothing is queued before it and the device is not
    /// paused: no engine thread needs to wake for work that takes no time. Anything else joins
    /// the engine's queue.
    fn dispatch(&self, k: usize, op: Op) {
        let engine = &self.list[k];
        if op.times[op.step()].is_zero() && engine.queued.load(Acquire) == 0 && self.gate.is_open() {
            if let Some(claim) = engine.running.try_lock() {
                let next = self.execute(k, op);
                drop(claim);
                if let Some((k, op)) = next {
                    self.dispatch(k, op);
                }
                return;
            }
        }
        engine.queued.fetch_add(1, AcqRel);
        // The engines only stop in `Device::drop`, so the send cannot fail before then.
        let _ = engine.queue.send(Msg::Op(op));
    }

    /// Runs `op` on engine `k` (whose claim the caller holds) for its modelled time; returns
    /// the slot's next operation and its engine, or sets the slot's `done` after its D2H.
    fn execute(&self, k: usize, op: Op) -> Option<(usize, Op)> {
        let mem = &op.mem;
        // Span names must be static: one per engine phase.
        let span = match op.phase {
            Phase::H2D => tracing::trace_span!("h2d", batch = op.batch),
            Phase::Compute => tracing::trace_span!("compute", batch = op.batch),
            _ => tracing::trace_span!("d2h", batch = op.batch),
        };
        let _enter = span.enter();
        let step = op.step();
        // A zero-time operation's device time is zero; the clock is read only for a timeline.
        let clocked = !op.times[step].is_zero() || self.timeline.is_some();
        let start = clocked.then(Instant::now);
        match op.phase {
            Phase::H2D => copy(&mem.host_in, &mem.dev_in),
            Phase::Compute => {
                if mem.fail.lock().is_none() {
                    let input = mem.dev_in.lock();
                    let mut out = mem.dev_out.lock();
                    out.clear();
                    out.extend(input.iter().map(|&x| self.f.a * x + self.f.b));
                }
            }
            _ => copy(&mem.dev_out, &mem.host_out),
        }
        let took = match start {
            Some(start) => {
                hold(start, op.times[step]);
                let end = Instant::now();
                if let Some(tl) = &self.timeline {
                    tl.record(self.list[k].track.clone(), op.phase, op.batch, start, end);
                }
                end - start
            }
            None => Duration::ZERO,
        };
        mem.times.lock()[step] = took;
        // Stream order: the slot's next operation is handed on only now.
        match op.phase {
            Phase::H2D => {
                let unit = self.computes + op.unit % (self.list.len() - self.computes);
                Some((
                    unit,
                    Op {
                        phase: Phase::Compute,
                        ..op
                    },
                ))
            }
            Phase::Compute => Some((
                self.d2h,
                Op {
                    phase: Phase::D2H,
                    ..op
                },
            )),
            _ => {
                mem.done.set();
                None
            }
        }
    }
}

/// Engine `k`'s thread: runs what reaches its queue, in order, until told to stop.
fn engine_loop(engines: &Engines, k: usize, ops: Receiver<Msg>) {
    let engine = &engines.list[k];
    while let Ok(Msg::Op(op)) = ops.recv() {
        engines.gate.wait_open();
        let claim = engine.running.lock();
        let next = engines.execute(k, op);
        drop(claim);
        engine.queued.fetch_sub(1, AcqRel);
        if let Some((k, op)) = next {
            engines.dispatch(k, op);
        }
    }
}

fn copy(from: &Mutex<Vec<f32>>, to: &Mutex<Vec<f32>>) {
    let from = from.lock();
    let mut to = to.lock();
    to.clear();
    to.extend_from_slice(&from);
}

/// Keeps the engine busy until `start + d` (the modelled time, whatever the real work took).
/// A time too long to represent holds for good, like a device that never finishes.
pub(crate) fn hold(start: Instant, d: Duration) {
    if d.is_zero() {
        return;
    }
    let Some(end) = start.checked_add(d) else {
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    };
    loop {
        let now = Instant::now();
        if now >= end {
            return;
        }
        std::thread::sleep(end - now);
    }
}
