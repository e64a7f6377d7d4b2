//! Our kernels' launches, and the switch that turns cudarc's event tracking off.
#![allow(unsafe_code)]

use std::sync::Arc;

use cudarc::driver::{CudaContext, CudaFunction, CudaStream, LaunchConfig, PushKernelArg};

use crate::error::{CudaError, CudaResult};
use crate::memory::DeviceBuffer;

/// Turns off cudarc's automatic cross-stream tracking for buffers allocated from `ctx` from
/// now on. It records two events per buffer use, which costs microseconds per copy and
/// kernel; the backend orders work itself (see the invariant below).
pub(crate) fn disable_event_tracking(ctx: &Arc<CudaContext>) {
    // SAFETY: called right after the context is created, before any buffer exists. The
    // invariant the backend keeps instead: every slot buffer is used only on its slot's stream
    // (so stream order is enough), weights are written on the instance stream, which is
    // synchronized before any slot reads them, and host staging is guarded by its own event
    // (`memory::PinnedBuffer`). `CudaModel` implementations are told the same in its docs.
    unsafe { ctx.disable_event_tracking() }
}

fn grid_1d(n: usize) -> CudaResult<LaunchConfig> {
    let n = u32::try_from(n).map_err(|_| CudaError::Config(format!("{n} threads exceed a 1-D grid")))?;
    Ok(LaunchConfig::for_num_elems(n.max(1)))
}

/// Launches `hwc_u8_to_chw_f32` (see `kernels.rs`) on `stream` for `n` images of `h`×`w`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn launch_preprocess(
    stream: &Arc<CudaStream>,
    func: &CudaFunction,
    src: &DeviceBuffer,
    dst: &mut DeviceBuffer,
    n: usize,
    (h, w): (usize, usize),
    mean: [f32; 3],
    inv_std: [f32; 3],
) -> CudaResult<()> {
    let pixels = n * h * w;
    let src_view = src.view::<u8>(pixels * 3)?;
    let mut dst_view = dst.view_mut::<f32>(pixels * 3)?;
    let cfg = grid_1d(pixels)?;
    let (n32, h32, w32) = (n as u32, h as u32, w as u32);
    let mut args = stream.launch_builder(func);
    args.arg(&src_view).arg(&mut dst_view).arg(&n32).arg(&h32).arg(&w32);
    for v in mean.iter().chain(inv_std.iter()) {
        args.arg(v);
    }
    // SAFETY: the kernel's signature is `(const u8*, float*, u32 n, u32 h, u32 w, 6 × float)`,
    // matching the arguments pushed above in order and type. It reads `n*h*w*3` bytes of `src`
    // and writes `n*h*w*3` floats of `dst`; the two views were checked to hold that many
    // elements (`view` fails otherwise), and the grid covers exactly `n*h*w` threads with a
    // bounds check in the kernel. Both buffers belong to the slot and are used only on
    // `stream`, so no other work touches them meanwhile.
    unsafe { args.launch(cfg) }.map_err(|source| CudaError::Launch {
        kernel: "hwc_u8_to_chw_f32",
        source,
    })?;
    Ok(())
}

/// Launches `bias_act` (see `kernels.rs`): `y[r][c] = act(y[r][c] + bias[c])` in place.
pub(crate) fn launch_bias_act(
    stream: &Arc<CudaStream>,
    func: &CudaFunction,
    y: &mut DeviceBuffer,
    bias: &DeviceBuffer,
    (rows, cols): (usize, usize),
    relu: bool,
) -> CudaResult<()> {
    let mut y_view = y.view_mut::<f32>(rows * cols)?;
    let bias_view = bias.view::<f32>(cols)?;
    let cfg = grid_1d(rows * cols)?;
    let (rows32, cols32, relu32) = (rows as u32, cols as u32, relu as i32);
    let mut args = stream.launch_builder(func);
    args.arg(&mut y_view)
        .arg(&bias_view)
        .arg(&rows32)
        .arg(&cols32)
        .arg(&relu32);
    // SAFETY: the kernel's signature is `(float* y, const float* bias, u32 rows, u32 cols,
    // int relu)`, matching the arguments above. It touches `rows*cols` floats of `y` and
    // `cols` floats of `bias`, which the checked views hold; `bias` is read-only weight memory
    // written before the instance was published, `y` belongs to the slot and is used only on
    // `stream`.
    unsafe { args.launch(cfg) }.map_err(|source| CudaError::Launch {
        kernel: "bias_act",
        source,
    })?;
    Ok(())
}
