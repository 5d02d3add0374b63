//! Errors and warnings produced while reading a domain configuration.
//!
//! Every diagnostic names where it comes from: the configuration file and
//! line (plus the column for lexical errors), or the command-line override
//! that caused it.

use std::fmt;

use super::cpus::CpuListError;
use super::domain::{DiskError, VifError};

/// Where a diagnostic points: a file (or command-line override) and
/// optionally a line and column within it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file name as the user gave it, or a description such as
    /// `command-line override 'memory=lots'`.
    pub source: String,
    /// 1-based line, when meaningful.
    pub line: Option<usize>,
    /// 1-based column (in characters), when useful.
    pub col: Option<usize>,
}

impl Location {
    /// A location covering a whole source (no line).
    pub fn whole(source: &str) -> Self {
        Location {
            source: source.to_string(),
            line: None,
            col: None,
        }
    }

    /// The same location without its column (used for non-lexical errors,
    /// which are reported as `file:line:`).
    pub fn without_col(&self) -> Self {
        Location {
            col: None,
            ..self.clone()
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.col {
                write!(f, ":{col}")?;
            }
        }
        Ok(())
    }
}

/// Everything that can go wrong reading a domain configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// File name as given.
        path: String,
        /// Underlying I/O error.
        source: std::io::Error,
    },
    /// A string literal is not closed before the end of its line.
    #[error("{at}: unterminated string (missing closing {quote})")]
    UnterminatedString {
        /// Position of the opening quote.
        at: Location,
        /// The quote character that opened it.
        quote: char,
    },
    /// Something that starts like a number but is not one (e.g. `256M`).
    #[error("{at}: invalid number '{text}'")]
    InvalidNumber {
        /// Position of the literal.
        at: Location,
        /// The offending text.
        text: String,
    },
    /// A `\` outside a string that is not at the end of its line.
    #[error(
        "{at}: '\\' outside a string must be the last character of the line (line continuation)"
    )]
    StrayBackslash {
        /// Position of the backslash.
        at: Location,
    },
    /// The token stream does not follow `key = value` syntax.
    #[error("{at}: expected {expected}, found {found}")]
    Syntax {
        /// Where the unexpected token is.
        at: Location,
        /// What the parser expected there.
        expected: String,
        /// Description of what it found.
        found: String,
    },
    /// A key has a value of the wrong type or out of range.
    #[error("{at}: '{key}' must be {expected}, found {found}")]
    InvalidValue {
        /// Location of the assignment (or list element).
        at: Location,
        /// The key.
        key: String,
        /// What a valid value looks like.
        expected: String,
        /// The value found.
        found: String,
    },
    /// A `vif` entry is malformed.
    #[error("{at}: vif {spec:?}: {source}")]
    Vif {
        /// Location of the list element.
        at: Location,
        /// The entry text.
        spec: String,
        /// What is wrong with it.
        source: VifError,
    },
    /// A `disk` entry is malformed.
    #[error("{at}: disk {spec:?}: {source}")]
    Disk {
        /// Location of the list element.
        at: Location,
        /// The entry text.
        spec: String,
        /// What is wrong with it.
        source: DiskError,
    },
    /// A cpu list (`cpus`) is malformed.
    #[error("{at}: cpus {spec:?}: {source}")]
    Cpus {
        /// Location of the value.
        at: Location,
        /// The cpu list text.
        spec: String,
        /// What is wrong with it.
        source: CpuListError,
    },
    /// A key xm requires is absent.
    #[error("{file}: required key '{key}' is missing ({why})")]
    Missing {
        /// Configuration file name.
        file: String,
        /// The missing key.
        key: &'static str,
        /// Why it is required.
        why: &'static str,
    },
    /// `builder` names something other than a PV (`linux`) guest.
    #[error("{at}: builder '{builder}' is not supported: only PV guests (builder = 'linux') can be built")]
    UnsupportedBuilder {
        /// Location of the assignment.
        at: Location,
        /// The requested builder.
        builder: String,
    },
    /// A command-line override is not of the form `key=value`.
    #[error("invalid override '{arg}': expected key=value")]
    BadOverride {
        /// The argument as given.
        arg: String,
    },
}

/// A non-fatal diagnostic (for example an unknown key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Where the warning points.
    pub at: Location,
    /// Human-readable message.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: warning: {}", self.at, self.message)
    }
}
