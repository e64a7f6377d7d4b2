//! The device: one thread per engine, each a FIFO of operations held for their modelled time.
//!
//! Like a GPU's copy and compute engines, each engine runs the operations in its queue one at a
//! time, in arrival order. A slot's operations are a stream: its compute joins the compute
//! queue when its H2D has finished, and its D2H the D2H queue when its compute has, so one
//! slot waiting on its copy never holds up another slot's kernels (as on hardware with
//! several stream queues). With a shared DMA engine, copies in both directions take turns.

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

enum Msg {
    Op(Op),
    Stop,
}

/// Where an engine sends a finished operation's successor.
struct Routes {
    compute: Vec<Sender<Msg>>,
    d2h: Sender<Msg>,
}

/// The engines' queues and threads.
pub(crate) struct Device {
    h2d: Sender<Msg>,
    /// Every distinct engine queue, to stop them.
    queues: Vec<Sender<Msg>>,
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
        let (txs, rxs): (Vec<_>, Vec<_>) = names.iter().map(|_| crossbeam_channel::unbounded::<Msg>()).unzip();
        let dma_queues = if shared_dma { 1 } else { 2 };
        let routes = Arc::new(Routes {
            compute: txs[dma_queues..].to_vec(),
            d2h: txs[dma_queues - 1].clone(),
        });
        let mut threads = Vec::new();
        for (name, rx) in names.into_iter().zip(rxs) {
            let (tl, gate, routes) = (timeline.clone(), gate.clone(), routes.clone());
            let track = Track::Engine(name.clone());
            let f = Affine { a, b };
            let spawned = std::thread::Builder::new()
                .name(format!("sim-{name}"))
                .spawn(move || engine_loop(rx, track, tl, f, &gate, &routes));
            match spawned {
                Ok(t) => threads.push(t),
                Err(e) => {
                    // Stop what was started before reporting.
                    drop(Device {
                        h2d: txs[0].clone(),
                        queues: txs.clone(),
                        threads,
                    });
                    return Err(e);
                }
            }
        }
        Ok(Device {
            h2d: txs[0].clone(),
            queues: txs,
            threads,
        })
    }

    /// Starts a slot's H2D; each engine hands the next operation on when it finishes, and the
    /// D2H sets the slot's `done` event. Returns at once.
    pub fn issue(&self, unit: usize, batch: u64, mem: &Arc<SlotMemory>, times: [Duration; 3]) {
        mem.done.reset();
        let op = Op {
            phase: Phase::H2D,
            batch,
            unit,
            times,
            mem: mem.clone(),
        };
        // The engines only stop in `Drop`, so the send cannot fail while `&self` is alive.
        let _ = self.h2d.send(Msg::Op(op));
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        // Engines hold each other's queues, so they stop on a message, not on disconnection.
        for q in &self.queues {
            let _ = q.send(Msg::Stop);
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn engine_loop(ops: Receiver<Msg>, track: Track, timeline: Option<Timeline>, f: Affine, gate: &Gate, routes: &Routes) {
    while let Ok(Msg::Op(op)) = ops.recv() {
        gate.wait_open();
        let mem = &op.mem;
        // Span names must be static: one per engine phase.
        let span = match op.phase {
            Phase::H2D => tracing::trace_span!("h2d", batch = op.batch),
            Phase::Compute => tracing::trace_span!("compute", batch = op.batch),
            _ => tracing::trace_span!("d2h", batch = op.batch),
        };
        let _enter = span.enter();
        let start = Instant::now();
        let k = match op.phase {
            Phase::H2D => {
                copy(&mem.host_in, &mem.dev_in);
                0
            }
            Phase::Compute => {
                if mem.fail.lock().is_none() {
                    let input = mem.dev_in.lock();
                    let mut out = mem.dev_out.lock();
                    out.clear();
                    out.extend(input.iter().map(|&x| f.a * x + f.b));
                }
                1
            }
            _ => {
                copy(&mem.dev_out, &mem.host_out);
                2
            }
        };
        hold(start, op.times[k]);
        let end = Instant::now();
        if let Some(tl) = &timeline {
            tl.record(track.clone(), op.phase, op.batch, start, end);
        }
        mem.times.lock()[k] = end - start;
        // Stream order: the slot's next operation joins its engine's queue only now.
        let next = match op.phase {
            Phase::H2D => Some((Phase::Compute, &routes.compute[op.unit % routes.compute.len()])),
            Phase::Compute => Some((Phase::D2H, &routes.d2h)),
            _ => None,
        };
        match next {
            Some((phase, queue)) => {
                let _ = queue.send(Msg::Op(Op { phase, ..op }));
            }
            None => mem.done.set(),
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
