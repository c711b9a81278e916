//! Ringkeeper storage.
