//! [`probe`]: what this machine offers the backend (driver, devices, NVRTC, cuBLAS), for
//! reports and for deciding whether GPU work can run at all.

use crate::device::CudaDevice;
use crate::ffi::{self, LibrarySource};
use crate::libraries::{binding_major, CudaLibrary};

/// Something a piece of GPU work needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// The driver and at least one visible device.
    Device,
    /// NVRTC (every built-in model compiles a kernel).
    Nvrtc,
    /// cuBLAS (the [`Mlp`](crate::Mlp)).
    Cublas,
}

/// What [`probe`] found. Each part is `Err` with the reason when it is missing.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The CUDA major of the bindings this crate was built with.
    pub binding_major: u32,
    /// The driver's CUDA version, `(major, minor)`.
    pub driver: Result<(u32, u32), String>,
    /// Visible devices (`Err` when there are none, or no driver).
    pub devices: Result<usize, String>,
    /// Where NVRTC comes from.
    pub nvrtc: Result<LibrarySource, String>,
    /// Where cuBLAS comes from.
    pub cublas: Result<LibrarySource, String>,
}

/// Looks for the driver, devices, NVRTC and cuBLAS, making the libraries loadable as the
/// backend would (see [`library_source`](crate::library_source)). Opens no device context.
pub fn probe() -> Probe {
    let driver = ffi::require_driver()
        .map_err(|e| e.to_string())
        .and_then(|()| ffi::driver_version().ok_or_else(|| "the driver reports no version".to_string()));
    let devices = match CudaDevice::count() {
        Ok(0) => Err("the driver sees no GPU".to_string()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    };
    let library = |check: fn() -> crate::error::CudaResult<()>, lib| {
        check().map(|()| ffi::library_source(lib)).map_err(|e| e.to_string())
    };
    Probe {
        binding_major: binding_major(),
        driver,
        devices,
        nvrtc: library(ffi::require_nvrtc, CudaLibrary::Nvrtc),
        cublas: library(ffi::require_cublas, CudaLibrary::Cublas),
    }
}

impl Probe {
    /// Why work needing `needs` cannot run here, or `None` when it can. A missing device is
    /// reason enough: the libraries' reasons are left out then.
    pub fn missing(&self, needs: &[Requirement]) -> Option<String> {
        if let (true, Err(e)) = (needs.contains(&Requirement::Device), &self.devices) {
            return Some(format!("no GPU: {e}"));
        }
        let reasons: Vec<String> = needs
            .iter()
            .filter_map(|need| match need {
                Requirement::Device => self.devices.as_ref().err().map(|e| format!("no GPU: {e}")),
                Requirement::Nvrtc => self.nvrtc.as_ref().err().map(|e| format!("no NVRTC: {e}")),
                Requirement::Cublas => self.cublas.as_ref().err().map(|e| format!("no cuBLAS: {e}")),
            })
            .collect();
        (!reasons.is_empty()).then(|| reasons.join("; "))
    }
}

impl std::fmt::Display for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |r: Result<String, &String>| r.unwrap_or_else(|e| format!("missing: {e}"));
        writeln!(f, "bindings: CUDA {}", self.binding_major)?;
        writeln!(
            f,
            "driver:   {}",
            show(self.driver.as_ref().map(|(m, n)| format!("CUDA {m}.{n}")))
        )?;
        writeln!(f, "devices:  {}", show(self.devices.as_ref().map(|n| n.to_string())))?;
        writeln!(f, "nvrtc:    {}", show(self.nvrtc.as_ref().map(|s| s.to_string())))?;
        write!(f, "cublas:   {}", show(self.cublas.as_ref().map(|s| s.to_string())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_names_every_absent_requirement_and_only_those() {
        let probe = Probe {
            binding_major: 13,
            driver: Ok((13, 0)),
            devices: Ok(1),
            nvrtc: Ok(LibrarySource::System {
                soname: "libnvrtc.so.13".into(),
            }),
            cublas: Err("libcublas.so.13 not found".into()),
        };
        assert_eq!(probe.missing(&[Requirement::Device, Requirement::Nvrtc]), None);
        let why = probe.missing(&[Requirement::Device, Requirement::Cublas]).unwrap();
        assert_eq!(why, "no cuBLAS: libcublas.so.13 not found");
        let none = Probe {
            devices: Err("the driver sees no GPU".into()),
            ..probe
        };
        let why = none.missing(&[Requirement::Device, Requirement::Cublas]).unwrap();
        assert_eq!(why, "no GPU: the driver sees no GPU");
        let why = none.missing(&[Requirement::Nvrtc, Requirement::Cublas]).unwrap();
        assert_eq!(why, "no cuBLAS: libcublas.so.13 not found");
        assert!(none.to_string().contains("devices:  missing: the driver sees no GPU"));
    }
}
