//! Jobpack core.
