//! Helpers shared by the integration tests (included with `mod common;`).
#![allow(dead_code)]

use std::time::{Duration, Instant};

use accelrt::Tensor;

/// Long enough that a test relying on it would visibly hang, never reached when correct.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Polls until `cond` holds (or `PATIENCE` runs out, which fails the test).
pub fn eventually(what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < PATIENCE, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A one-item input `f32 [1, len]` whose elements are `v, v + 1, v + 2, ...`.
pub fn item(v: f32, len: usize) -> Tensor {
    Tensor::new([1, len], (0..len).map(|k| v + k as f32).collect::<Vec<f32>>()).expect("shape matches")
}

/// Checks that `y` is `a·x + b` of the input built by `item(v, len)`.
pub fn check(y: &Tensor, v: f32, len: usize, a: f32, b: f32) {
    assert_eq!(y.shape(), &[1, len]);
    let got = y.as_slice::<f32>().expect("f32 output");
    let want: Vec<f32> = (0..len).map(|k| a * (v + k as f32) + b).collect();
    assert_eq!(got, &want[..], "output of input {v} belongs to another input");
}
