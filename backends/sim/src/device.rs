//! The device: one thread per engine, each a FIFO of operations held for their modelled time.
//!
//! Like a GPU's copy and compute engines, each engine takes operations in the order they were
//! issued; an operation that depends on the previous one of its slot (compute after H2D, D2H
//! after compute) waits for that slot's event first. With a shared DMA engine this gives the
//! head-of-line blocking real single-copy-engine hardware shows.

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
    pub h2d_done: Event,
    pub compute_done: Event,
    pub d2h_done: Event,
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
    duration: Duration,
    mem: Arc<SlotMemory>,
}

/// The engines' senders and threads.
pub(crate) struct Device {
    h2d: Option<Sender<Op>>,
    d2h: Option<Sender<Op>>,
    compute: Vec<Sender<Op>>,
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
        let mut threads = Vec::new();
        let engine = |name: String, threads: &mut Vec<JoinHandle<()>>| -> std::io::Result<Sender<Op>> {
            // Unbounded: at most `depth × instances` slots exist, each with three ops in flight.
            let (tx, rx) = crossbeam_channel::unbounded();
            let tl = timeline.clone();
            let track = Track::Engine(name.clone());
            let f = Affine { a, b };
            let gate = gate.clone();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("sim-{name}"))
                    .spawn(move || engine_loop(rx, track, tl, f, &gate))?,
            );
            Ok(tx)
        };
        let (h2d, d2h) = if shared_dma {
            let dma = engine("dma".into(), &mut threads)?;
            (dma.clone(), dma)
        } else {
            (engine("h2d".into(), &mut threads)?, engine("d2h".into(), &mut threads)?)
        };
        let units = compute_units.max(1);
        let compute = (0..units)
            .map(|k| {
                let name = if units == 1 {
                    "compute".to_string()
                } else {
                    format!("compute-{k}")
                };
                engine(name, &mut threads)
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Device {
            h2d: Some(h2d),
            d2h: Some(d2h),
            compute,
            threads,
        })
    }

    /// Issues H2D, compute and D2H for one slot, in that order, and returns at once.
    pub fn issue(&self, unit: usize, batch: u64, mem: &Arc<SlotMemory>, times: [Duration; 3]) {
        mem.h2d_done.reset();
        mem.compute_done.reset();
        mem.d2h_done.reset();
        let op = |phase, duration| Op {
            phase,
            batch,
            duration,
            mem: mem.clone(),
        };
        let compute = &self.compute[unit % self.compute.len()];
        // Sends only fail after `Drop` took the senders, which needs `&mut self`.
        if let (Some(h2d), Some(d2h)) = (&self.h2d, &self.d2h) {
            let _ = h2d.send(op(Phase::H2D, times[0]));
            let _ = compute.send(op(Phase::Compute, times[1]));
            let _ = d2h.send(op(Phase::D2H, times[2]));
        }
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        self.h2d = None;
        self.d2h = None;
        self.compute.clear();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn engine_loop(ops: Receiver<Op>, track: Track, timeline: Option<Timeline>, f: Affine, gate: &Gate) {
    for op in ops {
        gate.wait_open();
        let mem = &op.mem;
        // Stream order: wait for the slot's previous operation.
        match op.phase {
            Phase::Compute => mem.h2d_done.wait(),
            Phase::D2H => mem.compute_done.wait(),
            _ => {}
        }
        // Span names must be static: one per engine phase.
        let span = match op.phase {
            Phase::H2D => tracing::trace_span!("h2d", batch = op.batch),
            Phase::Compute => tracing::trace_span!("compute", batch = op.batch),
            _ => tracing::trace_span!("d2h", batch = op.batch),
        };
        let _enter = span.enter();
        let start = Instant::now();
        match op.phase {
            Phase::H2D => copy(&mem.host_in, &mem.dev_in),
            Phase::Compute => {
                if mem.fail.lock().is_none() {
                    let input = mem.dev_in.lock();
                    let mut out = mem.dev_out.lock();
                    out.clear();
                    out.extend(input.iter().map(|&x| f.a * x + f.b));
                }
            }
            _ => copy(&mem.dev_out, &mem.host_out),
        }
        hold(start, op.duration);
        let end = Instant::now();
        if let Some(tl) = &timeline {
            tl.record(track.clone(), op.phase, op.batch, start, end);
        }
        let k = match op.phase {
            Phase::H2D => 0,
            Phase::Compute => 1,
            _ => 2,
        };
        mem.times.lock()[k] = end - start;
        match op.phase {
            Phase::H2D => mem.h2d_done.set(),
            Phase::Compute => mem.compute_done.set(),
            _ => mem.d2h_done.set(),
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
pub(crate) fn hold(start: Instant, d: Duration) {
    let end = start + d;
    loop {
        let now = Instant::now();
        if now >= end {
            return;
        }
        std::thread::sleep(end - now);
    }
}
