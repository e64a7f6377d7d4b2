//! Counters and model descriptions as plain Python values (durations in seconds).

use accelrt::{Dim, Latency, PipelineStats, Stats, TensorSpec};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::convert::numpy_name;

fn latency<'py>(py: Python<'py>, l: &Latency) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("count", l.count)?;
    d.set_item("mean", l.mean.as_secs_f64())?;
    d.set_item("p50", l.p50.as_secs_f64())?;
    d.set_item("p90", l.p90.as_secs_f64())?;
    d.set_item("p99", l.p99.as_secs_f64())?;
    d.set_item("max", l.max.as_secs_f64())?;
    Ok(d)
}

/// A runtime's [`Stats`] as a dict with the same field names.
pub(crate) fn stats_to_py<'py>(py: Python<'py>, s: &Stats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("uptime", s.uptime.as_secs_f64())?;
    d.set_item("submitted", s.submitted)?;
    d.set_item("completed", s.completed)?;
    d.set_item("failed", s.failed)?;
    d.set_item("cancelled", s.cancelled)?;
    d.set_item("queued", s.queued)?;
    d.set_item("pending_deadlines", s.pending_deadlines)?;
    d.set_item("batches", s.batches)?;
    d.set_item("mean_batch", s.mean_batch)?;
    d.set_item("throughput", s.throughput())?;
    d.set_item("latency", latency(py, &s.latency)?)?;
    let p = &s.phases;
    let phases = PyDict::new(py);
    for (name, t) in [
        ("queue", p.queue),
        ("prepare", p.prepare),
        ("submit", p.submit),
        ("h2d", p.h2d),
        ("compute", p.compute),
        ("d2h", p.d2h),
        ("complete", p.complete),
    ] {
        phases.set_item(name, t.as_secs_f64())?;
    }
    d.set_item("phases", phases)?;
    d.set_item("instance_busy_fraction", s.instance_busy_fraction.clone())?;
    d.set_item("engine_busy_fraction", s.engine_busy_fraction.map(|e| e.to_vec()))?;
    Ok(d)
}

/// A pipeline's [`PipelineStats`] as a dict.
pub(crate) fn pipeline_stats_to_py<'py>(py: Python<'py>, s: &PipelineStats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("uptime", s.uptime.as_secs_f64())?;
    d.set_item("completed", s.completed)?;
    d.set_item("failed", s.failed)?;
    d.set_item("throughput", s.throughput())?;
    d.set_item("latency", latency(py, &s.latency)?)?;
    let stages = PyList::empty(py);
    for st in &s.stages {
        let sd = PyDict::new(py);
        sd.set_item("name", &st.name)?;
        sd.set_item("workers", st.workers)?;
        sd.set_item("items", st.items)?;
        sd.set_item("failed", st.failed)?;
        sd.set_item("busy", st.busy.as_secs_f64())?;
        sd.set_item("queue_wait", st.queue_wait.as_secs_f64())?;
        stages.append(sd)?;
    }
    d.set_item("stages", stages)?;
    Ok(d)
}

/// Model inputs or outputs as `[{"name", "dtype", "shape"}]`; a dynamic dimension is its name.
pub(crate) fn spec_to_py<'py>(py: Python<'py>, specs: &[TensorSpec]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for t in specs {
        let d = PyDict::new(py);
        d.set_item("name", &t.name)?;
        d.set_item("dtype", numpy_name(t.dtype))?;
        let shape = PyList::empty(py);
        for dim in &t.shape {
            match dim {
                Dim::Fixed(n) => shape.append(n)?,
                Dim::Dynamic(name) if name.is_empty() => shape.append("?")?,
                Dim::Dynamic(name) => shape.append(name)?,
            }
        }
        d.set_item("shape", shape)?;
        list.append(d)?;
    }
    Ok(list)
}
