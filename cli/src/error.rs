//! Why a command failed, and the exit code each reason gets.

use std::path::PathBuf;

/// A command's failure. `main` prints it as one `error: ...` line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line names something that cannot work (a missing model, a shape that does
    /// not fit the model). Exit code 2, like clap's own usage errors.
    #[error("{0}")]
    Usage(String),
    /// Some inputs of a command that goes on past failures (`ocr`) failed; each was reported
    /// as it happened. Exit code 1.
    #[error("{0}")]
    Partial(String),
    /// The runtime or a backend refused or failed.
    #[error(transparent)]
    Runtime(#[from] accelrt::Error),
    /// Writing an output file failed.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The server could not start or stop cleanly.
    #[error("{0}")]
    Serve(String),
    /// Drawing the timeline picture failed.
    #[error("cannot draw {}: {reason}", path.display())]
    Plot {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

impl CliError {
    /// 2 for anything the user can fix on the command line (as clap does), 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Runtime(accelrt::Error::Config(_) | accelrt::Error::InvalidInput(_)) => 2,
            _ => 1,
        }
    }

    /// The message on one line: backend messages (ONNX Runtime's) may span several.
    pub fn one_line(&self) -> String {
        self.to_string().split_whitespace().collect::<Vec<_>>().join(" ")
    }
}
