//! Text pages with known contents, rendered here so tests, examples and benchmarks need no
//! image files from anywhere (feature `samples`).
//!
//! - [`render`] / [`render_colored`] draw lines of text ([`LineSpec`]: DejaVu font, size,
//!   position, tilt) and report each line's ink box ([`TextLine`]).
//! - [`sample_set`]: the simple set the detector example runs on (grey 1600 × 1200 PNG pages
//!   with 1 to 4 short lines).
//! - [`document_set`]: evaluation sets that resemble real documents (invoice-like JPEG pages,
//!   up to 12 lines of up to 60 characters, coloured paper, noise, blur; optionally tilted or
//!   upside down), in development splits and one held-out split ([`Split`]); [`page_set`]:
//!   the same for every [`PageKind`] (invoices, forms, labels, paragraphs).
//! - [`real_scans`]: two real scans with transcripts made by OCR, from a package on PyPI.
//!
//! Files: `render.rs`, `set.rs` (the simple set), `text.rs` (what the lines say),
//! `documents.rs` (the evaluation sets, invoices), `kinds.rs` (forms, labels, paragraphs),
//! `real.rs` (the real scans).

mod documents;
mod kinds;
mod real;
mod render;
mod set;
mod text;

pub use crate::detect::Rect;
pub use documents::{
    document, document_set, document_set_in, page, page_set, page_set_in, Document, Geometry, Split, HELD_OUT_SEED,
};
pub use kinds::PageKind;
pub use real::{real_scans, RealScan};
pub use render::{render, render_colored, Font, LineSpec, TextLine};
pub use set::{add_noise, sample_lines, sample_set, sample_set_in, Sample, SAMPLE_HEIGHT, SAMPLE_WIDTH};
