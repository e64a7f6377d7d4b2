//! Scheduler tests (filled below).
