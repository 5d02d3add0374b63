//! Parser from tokens to untyped `key = value` assignments.
//!
//! Grammar (one assignment per logical line):
//!
//! ```text
//! file   := { NEWLINE | IDENT '=' value (NEWLINE | EOF) }
//! value  := STRING | INT | '[' [ item { ',' item } [','] ] ']'
//! item   := STRING | INT
//! ```
//!
//! As in Python, a later assignment to the same key replaces an earlier one.

use super::error::{ConfigError, Location};
use super::lexer::{Lexer, Pos, Token, TokenKind};

/// An untyped configuration value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A string literal.
    Str(String),
    /// An integer literal.
    Int(i64),
    /// A list of strings and integers, each with its location.
    List(Vec<Item>),
}

impl Value {
    /// How the value is shown in "found ..." parts of error messages.
    pub fn describe(&self) -> String {
        match self {
            Value::Str(s) => format!("{s:?}"),
            Value::Int(i) => i.to_string(),
            Value::List(_) => "a list".to_string(),
        }
    }
}

/// One element of a list, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The element (never a nested list).
    pub value: Value,
    /// Its location (file and line).
    pub at: Location,
}

/// One `key = value` assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The key.
    pub key: String,
    /// The value.
    pub value: Value,
    /// Where the key was written (file and line, no column).
    pub at: Location,
}

/// The assignments of a configuration file, after overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawConfig {
    /// Assignments in order of first appearance; each key appears once.
    pub assignments: Vec<Assignment>,
}

impl RawConfig {
    /// Sets a key, replacing any previous value (but keeping its position in
    /// the order).
    pub fn set(&mut self, a: Assignment) {
        match self.assignments.iter_mut().find(|x| x.key == a.key) {
            Some(slot) => *slot = a,
            None => self.assignments.push(a),
        }
    }

    /// The assignment of `key`, if any.
    pub fn get(&self, key: &str) -> Option<&Assignment> {
        self.assignments.iter().find(|a| a.key == key)
    }

    /// Applies a command-line override `key=value`.
    ///
    /// Values starting with a quote or `[` use the file syntax; anything
    /// else is taken literally as a string (as xm does: `name=foo`,
    /// `extra=console=hvc0`), and keys that need integers accept numeric
    /// strings, so `memory=256` works.
    pub fn apply_override(&mut self, arg: &str) -> Result<(), ConfigError> {
        let bad = || ConfigError::BadOverride {
            arg: arg.to_string(),
        };
        let (key, text) = arg.split_once('=').ok_or_else(bad)?;
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return Err(bad());
        }
        let source = format!("command-line override '{arg}'");
        let trimmed = text.trim_start();
        let value = if trimmed.starts_with(['\'', '"', '[']) {
            parse_value_text(text, &source)?
        } else {
            Value::Str(text.to_string())
        };
        self.set(Assignment {
            key: key.to_string(),
            value,
            at: Location::whole(&source),
        });
        Ok(())
    }
}

struct Parser {
    lexer: Lexer,
    peeked: Option<Token>,
}

impl Parser {
    fn peek(&mut self) -> Result<&Token, ConfigError> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lexer.next_token()?);
        }
        Ok(self.peeked.as_ref().expect("just filled"))
    }

    fn next(&mut self) -> Result<Token, ConfigError> {
        self.peek()?;
        Ok(self.peeked.take().expect("just filled"))
    }

    fn at(&self, pos: Pos) -> Location {
        self.lexer.location(pos).without_col()
    }

    fn syntax(&self, tok: &Token, expected: impl Into<String>) -> ConfigError {
        ConfigError::Syntax {
            at: self.at(tok.pos),
            expected: expected.into(),
            found: tok.kind.describe(),
        }
    }

    fn value(&mut self, key: &str) -> Result<Value, ConfigError> {
        let tok = self.next()?;
        match tok.kind {
            TokenKind::Str(s) => Ok(Value::Str(s)),
            TokenKind::Int(i) => Ok(Value::Int(i)),
            TokenKind::LBracket => self.list(tok.pos),
            _ => Err(self.syntax(&tok, format!("a string, integer or list after '{key} ='"))),
        }
    }

    fn list(&mut self, open: Pos) -> Result<Value, ConfigError> {
        let mut items = Vec::new();
        loop {
            let tok = self.next()?;
            let at = self.at(tok.pos);
            match tok.kind {
                TokenKind::RBracket => return Ok(Value::List(items)),
                TokenKind::Str(s) => items.push(Item {
                    value: Value::Str(s),
                    at,
                }),
                TokenKind::Int(i) => items.push(Item {
                    value: Value::Int(i),
                    at,
                }),
                TokenKind::Eof => return Err(self.unclosed(&tok, open)),
                _ => return Err(self.syntax(&tok, "a string or integer in list")),
            }
            let tok = self.next()?;
            match tok.kind {
                TokenKind::RBracket => return Ok(Value::List(items)),
                TokenKind::Comma => {}
                TokenKind::Eof => return Err(self.unclosed(&tok, open)),
                _ => return Err(self.syntax(&tok, "',' or ']' after list element")),
            }
        }
    }

    fn unclosed(&self, tok: &Token, open: Pos) -> ConfigError {
        if self.lexer.with_lines() {
            self.syntax(
                tok,
                format!("']' to close the list opened on line {}", open.line),
            )
        } else {
            self.syntax(tok, "']' to close the list")
        }
    }

    fn end_of_statement(&mut self, key: &str) -> Result<(), ConfigError> {
        let tok = self.next()?;
        match tok.kind {
            TokenKind::Newline | TokenKind::Eof => Ok(()),
            _ => Err(self.syntax(&tok, format!("end of line after the value of '{key}'"))),
        }
    }
}

/// Parses a whole configuration file. `source` is the file name used in
/// diagnostics.
pub fn parse(text: &str, source: &str) -> Result<RawConfig, ConfigError> {
    let mut p = Parser {
        lexer: Lexer::new(text, source, true),
        peeked: None,
    };
    let mut cfg = RawConfig::default();
    loop {
        let tok = p.next()?;
        let key = match tok.kind {
            TokenKind::Eof => return Ok(cfg),
            TokenKind::Newline => continue,
            TokenKind::Ident(k) => k,
            _ => return Err(p.syntax(&tok, "a key name at the start of a line")),
        };
        let eq = p.next()?;
        if eq.kind != TokenKind::Equals {
            return Err(p.syntax(&eq, format!("'=' after '{key}'")));
        }
        let value = p.value(&key)?;
        p.end_of_statement(&key)?;
        cfg.set(Assignment {
            key,
            value,
            at: p.at(tok.pos),
        });
    }
}

/// Parses a lone value (used for command-line overrides): the whole text
/// must be one value.
pub fn parse_value_text(text: &str, source: &str) -> Result<Value, ConfigError> {
    let mut p = Parser {
        lexer: Lexer::new(text, source, false),
        peeked: None,
    };
    let v = p.value("value")?;
    let tok = p.next()?;
    match tok.kind {
        TokenKind::Eof | TokenKind::Newline => Ok(v),
        _ => Err(p.syntax(&tok, "nothing after the value")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(text, "guest.cfg").unwrap_err().to_string()
    }

    #[test]
    fn good_file() {
        let text = "\
# A comment line

name = \"guest1\"   # trailing comment
memory = 256
disk = [ 'phy:/dev/vg/x,hda1,w',
         # comment inside a list
         'file:/var/xen/swap,hda2,w', ]
extra = 'console=hvc0 \\
quiet'
vcpus = \\
    2
empty = []
memory = 512
";
        let cfg = parse(text, "guest.cfg").unwrap();
        let keys: Vec<_> = cfg.assignments.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(keys, ["name", "memory", "disk", "extra", "vcpus", "empty"]);
        assert_eq!(cfg.get("name").unwrap().value, Value::Str("guest1".into()));
        // Later assignments win.
        assert_eq!(cfg.get("memory").unwrap().value, Value::Int(512));
        assert_eq!(cfg.get("memory").unwrap().at.line, Some(13));
        assert_eq!(
            cfg.get("extra").unwrap().value,
            Value::Str("console=hvc0 quiet".into())
        );
        assert_eq!(cfg.get("vcpus").unwrap().value, Value::Int(2));
        assert_eq!(cfg.get("empty").unwrap().value, Value::List(vec![]));
        let Value::List(items) = &cfg.get("disk").unwrap().value else {
            panic!()
        };
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].at.line, Some(5));
        assert_eq!(items[1].at.line, Some(7));
        assert_eq!(
            items[1].value,
            Value::Str("file:/var/xen/swap,hda2,w".into())
        );
    }

    #[test]
    fn empty_and_comment_only_files() {
        assert!(parse("", "g").unwrap().assignments.is_empty());
        assert!(parse("# nothing\n\n   \n", "g")
            .unwrap()
            .assignments
            .is_empty());
        assert_eq!(
            parse("a = 1", "g").unwrap().get("a").unwrap().value,
            Value::Int(1)
        );
    }

    #[test]
    fn syntax_errors_name_the_line() {
        assert_eq!(
            err("name = 'x'\n\n\n\n\n\nkernel = )\n"),
            "guest.cfg:7: expected a string, integer or list after 'kernel =', found ')'"
        );
        assert_eq!(
            err("memory 256\n"),
            "guest.cfg:1: expected '=' after 'memory', found integer 256"
        );
        assert_eq!(
            err("\n= 3\n"),
            "guest.cfg:2: expected a key name at the start of a line, found '='"
        );
        assert_eq!(
            err("a = 1 2\n"),
            "guest.cfg:1: expected end of line after the value of 'a', found integer 2"
        );
        assert_eq!(
            err("a =\n1\n"),
            "guest.cfg:1: expected a string, integer or list after 'a =', found end of line"
        );
        assert_eq!(
            err("a = ['x'\n 'y']\n"),
            "guest.cfg:2: expected ',' or ']' after list element, found string \"y\""
        );
        assert_eq!(
            err("a = ['x',\n\n"),
            "guest.cfg:3: expected ']' to close the list opened on line 1, found end of file"
        );
        assert_eq!(
            err("a = [[1]]\n"),
            "guest.cfg:1: expected a string or integer in list, found '['"
        );
        assert_eq!(
            err("import os\n"),
            "guest.cfg:1: expected '=' after 'import', found 'os'"
        );
        assert_eq!(
            err("x = 1\ny = 'abc\n"),
            "guest.cfg:2:5: unterminated string (missing closing ')"
        );
    }

    #[test]
    fn overrides() {
        let mut cfg = parse("memory = 128\nname = 'a'\n", "g.cfg").unwrap();
        cfg.apply_override("memory=256").unwrap();
        cfg.apply_override("name=foo").unwrap();
        cfg.apply_override("extra=console=hvc0 quiet").unwrap();
        cfg.apply_override("vif=['bridge=xenbr1', 'mac=00:16:3e:00:00:01']")
            .unwrap();
        cfg.apply_override("root=\"/dev/xvda1 ro\"").unwrap();
        assert_eq!(cfg.get("memory").unwrap().value, Value::Str("256".into()));
        assert_eq!(cfg.get("name").unwrap().value, Value::Str("foo".into()));
        assert_eq!(
            cfg.get("extra").unwrap().value,
            Value::Str("console=hvc0 quiet".into())
        );
        assert_eq!(
            cfg.get("root").unwrap().value,
            Value::Str("/dev/xvda1 ro".into())
        );
        let Value::List(items) = &cfg.get("vif").unwrap().value else {
            panic!()
        };
        assert_eq!(items.len(), 2);
        assert_eq!(
            cfg.apply_override("nokey").unwrap_err().to_string(),
            "invalid override 'nokey': expected key=value"
        );
        assert_eq!(
            cfg.apply_override("vif=['a'").unwrap_err().to_string(),
            "command-line override 'vif=['a'': expected ']' to close the list, found end of file"
        );
    }
}
