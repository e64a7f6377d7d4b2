//! Where NVRTC and cuBLAS are found at run time, before cudarc looks for them.
//!
//! cudarc (`dynamic-loading`) asks the system loader for fixed names: `libnvrtc.so`, then
//! `libnvrtc.so.<binding major>`, `.so.12`, `.so.11`, ... So it finds only libraries on
//! `LD_LIBRARY_PATH` or in the `ldconfig` cache, and a CUDA 12 build never asks for `.so.13`.
//! CUDA toolkits (`/usr/local/cuda*/lib64`) and NVIDIA's Python wheels
//! (`site-packages/nvidia/cu13/lib`, `site-packages/nvidia/<package>/lib`) are usually on
//! neither. This module finds such files by name, here and in the directories a user names;
//! [`ffi`](crate::ffi) then loads them by absolute path, so that cudarc's later lookup by
//! soname resolves to the library already loaded (the dynamic loader matches a requested name
//! against the sonames of loaded objects).
//!
//! The search is plain file-system work with no loading, so it is tested on directories laid
//! out like a GPU machine's, made of empty files.

use std::path::{Path, PathBuf};

/// Colon-separated directories searched first for CUDA libraries.
pub const LIB_DIRS_ENV: &str = "ACCELRT_CUDA_LIB_DIRS";

/// A CUDA library the backend loads at run time (the driver, `libcuda`, comes with the NVIDIA
/// driver and is always on the system loader's path).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CudaLibrary {
    /// The runtime compiler, `libnvrtc.so.<major>`; it loads `libnvrtc-builtins` by name.
    Nvrtc,
    /// `libcublas.so.<major>`, which needs `libcublasLt.so.<major>`.
    Cublas,
}

impl CudaLibrary {
    /// Both libraries.
    pub const ALL: [CudaLibrary; 2] = [CudaLibrary::Nvrtc, CudaLibrary::Cublas];

    /// The library's base name, e.g. `nvrtc`.
    pub fn name(self) -> &'static str {
        match self {
            CudaLibrary::Nvrtc => "nvrtc",
            CudaLibrary::Cublas => "cublas",
        }
    }

    /// The soname cudarc asks the system loader for, e.g. `libnvrtc.so.13`.
    pub fn soname(self, major: u32) -> String {
        format!("lib{}.so.{major}", self.name())
    }

    /// File-name prefixes to load for `major`, dependencies first. A file matches a prefix
    /// when its name is the prefix or the prefix followed by `.` (`libnvrtc-builtins.so.13`
    /// matches `libnvrtc-builtins.so.13.0`).
    pub(crate) fn files(self, major: u32) -> [String; 2] {
        match self {
            CudaLibrary::Nvrtc => [format!("libnvrtc-builtins.so.{major}"), format!("libnvrtc.so.{major}")],
            CudaLibrary::Cublas => [format!("libcublasLt.so.{major}"), format!("libcublas.so.{major}")],
        }
    }
}

/// The CUDA major version of the bindings this crate was built with (`cuda-12` or `cuda-13`).
pub fn binding_major() -> u32 {
    if cfg!(feature = "cuda-13") {
        13
    } else {
        12
    }
}

/// The library majors worth loading, best first: those whose soname cudarc asks for with
/// bindings of `binding` (its own major, then 12, 11), and no newer than the driver's CUDA
/// version (`driver`, when known): a newer NVRTC writes PTX the driver cannot load, and a newer
/// cuBLAS refuses to start.
pub fn wanted_majors(binding: u32, driver: Option<u32>) -> Vec<u32> {
    let mut majors = vec![binding, 12, 11];
    majors.sort_unstable_by(|a, b| b.cmp(a));
    majors.dedup();
    majors.retain(|&m| m <= binding && driver.is_none_or(|d| m <= d));
    majors
}

/// The files that make up one library, found in one directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Its major version.
    pub major: u32,
    /// Paths to load in this order (dependencies first); the last is the library itself.
    pub files: Vec<PathBuf>,
}

/// Where to look, captured once (from the environment, or given by tests).
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// Searched first, in order ([`LIB_DIRS_ENV`]).
    pub explicit: Vec<PathBuf>,
    /// CUDA toolkit roots named by `CUDA_HOME`, `CUDA_PATH`, `CUDA_ROOT`.
    pub cuda_homes: Vec<PathBuf>,
    /// Python package roots named by `PYTHONPATH`, `VIRTUAL_ENV`, `CONDA_PREFIX`.
    pub python_roots: Vec<PathBuf>,
    /// The user's home, for `~/.local/lib/python3.*/site-packages`.
    pub home: Option<PathBuf>,
    /// The file-system root the standard locations are under (`/`; a temporary directory in
    /// tests).
    pub root: PathBuf,
}

impl Search {
    /// The search this process makes: environment variables, then standard locations under `/`.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let split = |name: &str| {
            var(name)
                .map(|v| std::env::split_paths(&v).collect())
                .unwrap_or_default()
        };
        let cuda_homes = ["CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"]
            .iter()
            .filter_map(|n| var(n).map(PathBuf::from))
            .collect();
        let mut python_roots: Vec<PathBuf> = split("PYTHONPATH");
        for env in ["VIRTUAL_ENV", "CONDA_PREFIX"] {
            if let Some(prefix) = var(env) {
                python_roots.extend(site_packages(&PathBuf::from(prefix).join("lib")));
            }
        }
        Search {
            explicit: split(LIB_DIRS_ENV),
            cuda_homes,
            python_roots,
            home: var("HOME").map(PathBuf::from),
            root: PathBuf::from("/"),
        }
    }

    /// The directories to look in for libraries of `major`, in order, existing ones only:
    /// [`explicit`](Self::explicit), then [`standard_dirs`](Self::standard_dirs).
    pub fn dirs(&self, major: u32) -> Vec<PathBuf> {
        let mut dirs = self.explicit.clone();
        dirs.extend(self.standard_dirs(major));
        existing_once(dirs)
    }

    /// Toolkits (`CUDA_HOME` and co., `/usr/local/cuda-<major>*`, `/usr/local/cuda`) and Python
    /// wheels (`nvidia/cu<major>/lib`, `nvidia/<package>/lib`), existing ones only.
    pub fn standard_dirs(&self, major: u32) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        let toolkit_libs =
            |home: &Path| ["lib64", "lib", "targets/x86_64-linux/lib", "targets/sbsa-linux/lib"].map(|l| home.join(l));
        for home in &self.cuda_homes {
            dirs.extend(toolkit_libs(home));
        }
        // /usr/local/cuda-13.0 before /usr/local/cuda (which may point at another version).
        let local = self.root.join("usr/local");
        let mut toolkits = children(&local, &format!("cuda-{major}"));
        toolkits.sort();
        toolkits.reverse();
        toolkits.push(local.join("cuda"));
        for home in &toolkits {
            dirs.extend(toolkit_libs(home));
        }
        // Python wheels: `nvidia/cu13/lib` (CUDA 13 wheels share one directory), then one
        // directory per package (`nvidia/cuda_nvrtc/lib`, `nvidia/cublas/lib`: CUDA 12 wheels).
        let mut roots = self.python_roots.clone();
        for prefix in ["usr/local/lib", "usr/lib", "opt/conda/lib"] {
            roots.extend(site_packages(&self.root.join(prefix)));
        }
        roots.push(self.root.join("usr/lib/python3/dist-packages"));
        if let Some(home) = &self.home {
            roots.extend(site_packages(&home.join(".local/lib")));
        }
        for root in roots {
            let nvidia = root.join("nvidia");
            dirs.push(nvidia.join(format!("cu{major}/lib")));
            let mut packages = children(&nvidia, "");
            packages.sort();
            dirs.extend(packages.into_iter().map(|p| p.join("lib")));
        }
        existing_once(dirs)
    }

    /// The first of `majors` for which a directory holds every file of `lib`, searching
    /// [`dirs`](Self::dirs).
    pub fn find(&self, lib: CudaLibrary, majors: &[u32]) -> Option<Found> {
        majors.iter().find_map(|&major| find_in(lib, major, &self.dirs(major)))
    }
}

/// The first of `dirs` holding every file of `lib` at `major`.
pub fn find_in(lib: CudaLibrary, major: u32, dirs: &[PathBuf]) -> Option<Found> {
    dirs.iter().find_map(|dir| {
        let files = lib
            .files(major)
            .iter()
            .map(|prefix| matching_file(dir, prefix))
            .collect::<Option<Vec<_>>>()?;
        Some(Found { major, files })
    })
}

/// `dirs` that exist, each once, in order.
fn existing_once(mut dirs: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut seen = std::collections::HashSet::new();
    dirs.retain(|d| d.is_dir() && seen.insert(d.clone()));
    dirs
}

/// `dir/<name>` or, failing that, the first `dir/<name>.*` in name order.
fn matching_file(dir: &Path, prefix: &str) -> Option<PathBuf> {
    let exact = dir.join(prefix);
    if exact.is_file() {
        return Some(exact);
    }
    let dotted = format!("{prefix}.");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&dotted))
        })
        .collect();
    files.sort();
    files.into_iter().next()
}

/// Subdirectories of `dir` whose names start with `prefix`.
fn children(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(prefix))
        })
        .collect()
}

/// `lib/python3.*/{site,dist}-packages` under `lib`.
fn site_packages(lib: &Path) -> Vec<PathBuf> {
    let mut pythons = children(lib, "python3");
    pythons.sort();
    pythons.reverse();
    pythons
        .into_iter()
        .flat_map(|p| [p.join("site-packages"), p.join("dist-packages")])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory tree of empty files, removed on drop.
    struct Tree(PathBuf);

    impl Tree {
        fn new(name: &str, files: &[&str]) -> Tree {
            let root = std::env::temp_dir().join(format!("accelrt-cuda-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&root);
            for f in files {
                let path = root.join(f);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, b"").unwrap();
            }
            Tree(root)
        }

        fn search(&self) -> Search {
            Search {
                root: self.0.clone(),
                ..Search::default()
            }
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// What a GPU machine with PyTorch for CUDA 13 and an older toolkit holds.
    const DEVICE_IMAGE: &[&str] = &[
        "usr/local/lib/python3.12/dist-packages/nvidia/cu13/lib/libnvrtc.so.13",
        "usr/local/lib/python3.12/dist-packages/nvidia/cu13/lib/libnvrtc-builtins.so.13.0",
        "usr/local/lib/python3.12/dist-packages/nvidia/cu13/lib/libnvrtc.alt.so.13",
        "usr/local/lib/python3.12/dist-packages/nvidia/cu13/lib/libcublas.so.13",
        "usr/local/lib/python3.12/dist-packages/nvidia/cu13/lib/libcublasLt.so.13",
        "usr/local/lib/python3.12/dist-packages/nvidia/cu13/lib/libcudart.so.13",
        "usr/local/cuda-12.8/lib64/libnvrtc.so.12",
        "usr/local/cuda-12.8/lib64/libnvrtc-builtins.so.12.8",
    ];

    #[test]
    fn majors_follow_the_bindings_and_stop_at_the_driver() {
        assert_eq!(wanted_majors(13, None), vec![13, 12, 11]);
        assert_eq!(wanted_majors(13, Some(13)), vec![13, 12, 11]);
        assert_eq!(wanted_majors(13, Some(12)), vec![12, 11]);
        // A CUDA 12 build cannot use `.so.13`: cudarc never asks for that name.
        assert_eq!(wanted_majors(12, Some(13)), vec![12, 11]);
        assert_eq!(wanted_majors(12, Some(10)), Vec::<u32>::new());
    }

    #[test]
    fn cuda_13_wheels_are_found_with_their_dependencies_first() {
        let tree = Tree::new("wheels", DEVICE_IMAGE);
        let lib = tree.0.join("usr/local/lib/python3.12/dist-packages/nvidia/cu13/lib");
        let search = tree.search();

        let nvrtc = search.find(CudaLibrary::Nvrtc, &wanted_majors(13, Some(13))).unwrap();
        assert_eq!(nvrtc.major, 13);
        assert_eq!(
            nvrtc.files,
            vec![lib.join("libnvrtc-builtins.so.13.0"), lib.join("libnvrtc.so.13")]
        );
        let cublas = search.find(CudaLibrary::Cublas, &wanted_majors(13, Some(13))).unwrap();
        assert_eq!(
            cublas.files,
            vec![lib.join("libcublasLt.so.13"), lib.join("libcublas.so.13")]
        );
    }

    #[test]
    fn an_older_driver_gets_the_older_toolkit_and_missing_parts_are_not_found() {
        let tree = Tree::new("toolkit", DEVICE_IMAGE);
        let search = tree.search();
        let nvrtc = search.find(CudaLibrary::Nvrtc, &wanted_majors(13, Some(12))).unwrap();
        assert_eq!(nvrtc.major, 12);
        assert_eq!(nvrtc.files[1], tree.0.join("usr/local/cuda-12.8/lib64/libnvrtc.so.12"));
        // There is no cuBLAS 12 anywhere in the tree.
        assert_eq!(search.find(CudaLibrary::Cublas, &wanted_majors(13, Some(12))), None);
    }

    #[test]
    fn explicit_directories_come_first_and_per_package_wheels_are_searched() {
        let tree = Tree::new(
            "explicit",
            &[
                "mine/libcublas.so.13",
                "mine/libcublasLt.so.13",
                "usr/local/lib/python3.12/dist-packages/nvidia/cu13/lib/libcublas.so.13",
                "usr/local/lib/python3.12/dist-packages/nvidia/cu13/lib/libcublasLt.so.13",
                "home/me/.local/lib/python3.11/site-packages/nvidia/cuda_nvrtc/lib/libnvrtc.so.12",
                "home/me/.local/lib/python3.11/site-packages/nvidia/cuda_nvrtc/lib/libnvrtc-builtins.so.12.9",
            ],
        );
        let search = Search {
            explicit: vec![tree.0.join("mine")],
            home: Some(tree.0.join("home/me")),
            ..tree.search()
        };
        let cublas = search.find(CudaLibrary::Cublas, &[13, 12]).unwrap();
        assert_eq!(cublas.files[1], tree.0.join("mine/libcublas.so.13"));
        let nvrtc = search.find(CudaLibrary::Nvrtc, &[13, 12]).unwrap();
        assert_eq!(nvrtc.major, 12);
        assert!(nvrtc.files[0].ends_with("nvidia/cuda_nvrtc/lib/libnvrtc-builtins.so.12.9"));
    }

    #[test]
    fn an_empty_machine_finds_nothing() {
        let tree = Tree::new("empty", &[]);
        for lib in CudaLibrary::ALL {
            assert_eq!(tree.search().find(lib, &[13, 12, 11]), None);
        }
    }
}
