//! xm domain configuration files.
//!
//! An xm configuration file is (a small subset of) Python: `key = value`
//! lines where a value is a string, an integer or a list of those. The
//! pipeline is
//!
//! 1. [`lexer`]: characters to tokens (comments, continuations, escapes);
//! 2. [`parser`]: tokens to untyped [`RawConfig`] assignments;
//! 3. command-line `key=value` overrides ([`RawConfig::apply_override`]);
//! 4. [`domain`]: typed, validated [`DomainConfig`].

pub mod cpus;
pub mod domain;
pub mod error;
pub mod lexer;
pub mod parser;
pub mod vdev;

pub use cpus::{CpuListError, CpuSet};
pub use domain::{
    Action, CpuAffinity, Disk, DiskBackend, DiskError, DiskMode, DomainConfig, MacAddr, PhyDevice,
    Vif, VifError,
};
pub use error::{ConfigError, Location, Warning};
pub use parser::{RawConfig, Value};
pub use vdev::VirtualDevice;

use std::path::Path;

/// Parses configuration `text` (named `source` in diagnostics), applies the
/// command-line `overrides` (`key=value`, in order) and builds the typed
/// configuration. Returns it with any warnings.
pub fn parse_str(
    text: &str,
    source: &str,
    overrides: &[String],
) -> Result<(DomainConfig, Vec<Warning>), ConfigError> {
    let mut raw = parser::parse(text, source)?;
    for o in overrides {
        raw.apply_override(o)?;
    }
    DomainConfig::from_raw(&raw, source)
}

/// Reads the file at `path` and does what [`parse_str`] does.
pub fn load(
    path: &Path,
    overrides: &[String],
) -> Result<(DomainConfig, Vec<Warning>), ConfigError> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
        path: source.clone(),
        source: e,
    })?;
    parse_str(&text, &source, overrides)
}

#[cfg(test)]
mod tests;
