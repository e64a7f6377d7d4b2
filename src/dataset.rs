//! Running a whole dataset through any [`AsyncRuntime`] with a bounded window.
//!
//! At most `window` requests are in flight at once, whatever the dataset's size, so memory
//! stays bounded; results come back in input order ([`ordered`]) or as they finish, tagged
//! with their index ([`unordered`]). The `_blocking` variants are plain iterators for sync code.
//!
//! ```
//! use accelrt::{dataset, Runtime, Tensor};
//! use accelrt_sim::{SimBackend, SimConfig};
//!
//! let rt = Runtime::builder(SimBackend::new(SimConfig::default())).max_batch(16).build()?;
//! let inputs = (0..1000).map(|i| Tensor::new([1, 4], vec![i as f32; 4]).unwrap());
//! for (i, y) in dataset::ordered_blocking(&rt, inputs, 64).enumerate() {
//!     assert_eq!(y?.as_slice::<f32>()?[0], 2.0 * i as f32 + 1.0);
//! }
//! # Ok::<(), accelrt::Error>(())
//! ```

use futures::stream::{self, Stream, StreamExt};

use crate::{AsyncRuntime, Result};

/// Results in input order, at most `window` requests in flight.
pub fn ordered<'a, R, I>(runtime: &'a R, inputs: I, window: usize) -> impl Stream<Item = Result<R::Output>> + 'a
where
    R: AsyncRuntime + ?Sized,
    I: IntoIterator<Item = R::Input>,
    I::IntoIter: 'a,
{
    ordered_stream(runtime, stream::iter(inputs), window)
}

/// Results as they finish, as `(index, result)`, at most `window` requests in flight.
pub fn unordered<'a, R, I>(
    runtime: &'a R,
    inputs: I,
    window: usize,
) -> impl Stream<Item = (usize, Result<R::Output>)> + 'a
where
    R: AsyncRuntime + ?Sized,
    I: IntoIterator<Item = R::Input>,
    I::IntoIter: 'a,
{
    unordered_stream(runtime, stream::iter(inputs), window)
}

/// [`ordered`] over a stream of inputs.
pub fn ordered_stream<'a, R, S>(runtime: &'a R, inputs: S, window: usize) -> impl Stream<Item = Result<R::Output>> + 'a
where
    R: AsyncRuntime + ?Sized,
    S: Stream<Item = R::Input> + 'a,
{
    // `buffered` polls the `run` of the next input only while fewer than `window` are pending.
    inputs.map(move |x| runtime.run(x)).buffered(window.max(1))
}

/// [`unordered`] over a stream of inputs.
pub fn unordered_stream<'a, R, S>(
    runtime: &'a R,
    inputs: S,
    window: usize,
) -> impl Stream<Item = (usize, Result<R::Output>)> + 'a
where
    R: AsyncRuntime + ?Sized,
    S: Stream<Item = R::Input> + 'a,
{
    inputs
        .enumerate()
        .map(move |(i, x)| {
            let task = runtime.run(x);
            async move { (i, task.await) }
        })
        .buffer_unordered(window.max(1))
}

/// [`ordered`] as a blocking iterator, for sync code (no async runtime needed).
pub fn ordered_blocking<'a, R, I>(
    runtime: &'a R,
    inputs: I,
    window: usize,
) -> impl Iterator<Item = Result<R::Output>> + 'a
where
    R: AsyncRuntime + ?Sized,
    I: IntoIterator<Item = R::Input>,
    I::IntoIter: 'a,
{
    futures::executor::block_on_stream(Box::pin(ordered(runtime, inputs, window)))
}

/// [`unordered`] as a blocking iterator, for sync code.
pub fn unordered_blocking<'a, R, I>(
    runtime: &'a R,
    inputs: I,
    window: usize,
) -> impl Iterator<Item = (usize, Result<R::Output>)> + 'a
where
    R: AsyncRuntime + ?Sized,
    I: IntoIterator<Item = R::Input>,
    I::IntoIter: 'a,
{
    futures::executor::block_on_stream(Box::pin(unordered(runtime, inputs, window)))
}
