//! `accelrt`: inspect ONNX models, benchmark the runtime on a model or the simulated
//! accelerator, sweep settings, and export what the runtime did as a Chrome trace and an SVG
//! timeline.
//!
//! ```text
//! accelrt info model.onnx
//! accelrt bench model.onnx --parallel 2 --depth 3 --max-batch 8 --input-shape 1x3x224x224
//! accelrt bench --backend sim --sim-stages 3,2,4,1 --trace trace.json --plot timeline.svg
//! accelrt sweep --backend sim --parallel 1,2 --depth 1,2,3 --max-batch 1,4
//! accelrt serve --model-repository models --http-port 8000 --grpc-port 8001 --metrics-port 8002
//! accelrt ocr scans/ --json
//! ```
//!
//! Errors are one `error: ...` line on stderr. Exit codes: 0 success, 2 a usage error (unknown
//! flag, bad value, missing model, a shape the model rejects), 1 anything else.

mod args;
mod bench;
mod error;
mod info;
mod inputs;
mod load;
mod ocr;
mod plot;
mod report;
mod serve;
mod settings;
mod shape;
mod sim;
mod sweep;
mod target;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser;

use args::{Cli, Command};
use error::CliError;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let result = match &cli.command {
        Command::Info { model } => info::info(model).map(|text| print!("{text}")),
        Command::Bench(args) => bench::bench(args),
        Command::Sweep(args) => sweep::sweep(args),
        Command::Serve(args) => serve::serve(args),
        Command::Ocr(args) => ocr::ocr(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(e: &CliError) -> ExitCode {
    eprintln!("error: {}", e.one_line());
    ExitCode::from(e.exit_code())
}

/// Help and version go out as clap prints them; a real usage error becomes one line (clap's
/// first, plus its "did you mean" tip) and exit code 2.
fn usage_error(e: clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let code = e.exit_code();
            let _ = e.print();
            ExitCode::from(u8::try_from(code).unwrap_or(2))
        }
        _ => {
            let text = e.render().to_string();
            let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
            let first = lines.next().unwrap_or("error: invalid arguments").to_string();
            let tip = lines.find(|l| l.starts_with("tip:"));
            match tip {
                Some(tip) => eprintln!("{first} ({tip}; see --help)"),
                None => eprintln!("{first} (see --help)"),
            }
            ExitCode::from(2)
        }
    }
}
