//! Host calibration (needs the runtime; lands with it).
