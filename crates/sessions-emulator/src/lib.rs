//! Emulator controls (to be written).
