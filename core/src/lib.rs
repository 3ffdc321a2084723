//! Jobpack core.
pub mod qr;
