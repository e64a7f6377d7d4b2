//! The engine and the simulated device emit one `tracing` span per phase.
//!
//! A minimal subscriber records the names of the spans created (on any thread).

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use accelrt::{AsyncRuntime, Runtime};
use accelrt_sim::{SimBackend, SimConfig};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

#[derive(Default)]
struct Names {
    next: AtomicU64,
    seen: Mutex<BTreeMap<String, usize>>,
}

struct Collect(Arc<Names>);

impl Subscriber for Collect {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        *self
            .0
            .seen
            .lock()
            .unwrap()
            .entry(span.metadata().name().to_string())
            .or_default() += 1;
        Id::from_u64(self.0.next.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn every_phase_has_a_span() {
    let names = Arc::new(Names::default());
    tracing::subscriber::set_global_default(Collect(names.clone())).unwrap();
    let rt = Runtime::builder(SimBackend::new(SimConfig::default()))
        .max_batch(4)
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..20).map(|i| rt.run(common::item(i as f32, 4))).collect();
    for t in tasks {
        t.wait().unwrap();
    }
    rt.shutdown_blocking();
    let seen = names.seen.lock().unwrap().clone();
    assert_eq!(seen.get("queued"), Some(&20), "{seen:?}");
    for phase in ["prepare", "submit", "h2d", "compute", "d2h", "complete"] {
        assert!(seen.get(phase).is_some_and(|&n| n >= 5), "no {phase} spans: {seen:?}");
    }
}
