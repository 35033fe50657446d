//! The group coordinator.
