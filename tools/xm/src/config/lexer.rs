//! Tokeniser for xm's Python-like configuration syntax.
//!
//! Recognised tokens: identifiers, string literals (`'...'` or `"..."` with
//! Python backslash escapes), integers (decimal, or hex with `0x`, optionally
//! signed), `[`, `]`, `,`, `=`, end of line and end of input.  Any other
//! character is returned as [`TokenKind::Other`] so the parser can say what it
//! expected instead.
//!
//! Like Python, the lexer
//! * drops `#` comments (outside strings),
//! * joins lines ending in `\` (explicit continuation; trailing blanks after
//!   the backslash are tolerated),
//! * joins lines inside `[ ... ]` (implicit continuation), so lists may span
//!   lines.

use super::error::{ConfigError, Location};

/// A 1-based line/column position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    /// Line, starting at 1.
    pub line: usize,
    /// Column in characters, starting at 1.
    pub col: usize,
}

/// Kinds of token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    /// A name such as `memory`.
    Ident(String),
    /// A string literal, escapes already processed.
    Str(String),
    /// An integer literal.
    Int(i64),
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `,`
    Comma,
    /// `=`
    Equals,
    /// End of a logical line.
    Newline,
    /// End of input.
    Eof,
    /// Any other character (always a syntax error for the parser).
    Other(char),
}

impl TokenKind {
    /// How the token is shown in "found ..." parts of error messages.
    pub fn describe(&self) -> String {
        match self {
            TokenKind::Ident(s) => format!("'{s}'"),
            TokenKind::Str(s) => format!("string {s:?}"),
            TokenKind::Int(i) => format!("integer {i}"),
            TokenKind::LBracket => "'['".into(),
            TokenKind::RBracket => "']'".into(),
            TokenKind::Comma => "','".into(),
            TokenKind::Equals => "'='".into(),
            TokenKind::Newline => "end of line".into(),
            TokenKind::Eof => "end of file".into(),
            TokenKind::Other(c) => format!("'{}'", c.escape_default()),
        }
    }
}

/// A token and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Where it starts.
    pub pos: Pos,
}

/// Streaming tokeniser over one source text.
pub struct Lexer {
    chars: Vec<char>,
    i: usize,
    line: usize,
    col: usize,
    depth: usize,
    source: String,
    with_lines: bool,
}

impl Lexer {
    /// A lexer over `text`; diagnostics name `source` and, if `with_lines`,
    /// the line (and column) too.
    pub fn new(text: &str, source: &str, with_lines: bool) -> Self {
        Lexer {
            chars: text.chars().collect(),
            i: 0,
            line: 1,
            col: 1,
            depth: 0,
            source: source.to_string(),
            with_lines,
        }
    }

    /// The diagnostic location for `pos` (with column).
    pub fn location(&self, pos: Pos) -> Location {
        if self.with_lines {
            Location {
                source: self.source.clone(),
                line: Some(pos.line),
                col: Some(pos.col),
            }
        } else {
            Location::whole(&self.source)
        }
    }

    /// Whether diagnostics carry line numbers.
    pub fn with_lines(&self) -> bool {
        self.with_lines
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.i + n).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }

    /// Produces the next token.
    pub fn next_token(&mut self) -> Result<Token, ConfigError> {
        loop {
            let pos = self.pos();
            let Some(c) = self.peek() else {
                return Ok(Token {
                    kind: TokenKind::Eof,
                    pos,
                });
            };
            let kind = match c {
                ' ' | '\t' | '\r' | '\x0c' => {
                    self.bump();
                    continue;
                }
                '#' => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                    continue;
                }
                '\\' => {
                    let mut n = 1;
                    while matches!(self.peek_at(n), Some(' ' | '\t' | '\r')) {
                        n += 1;
                    }
                    match self.peek_at(n) {
                        Some('\n') | None => {
                            for _ in 0..=n {
                                self.bump();
                            }
                            continue;
                        }
                        Some(_) => {
                            return Err(ConfigError::StrayBackslash {
                                at: self.location(pos),
                            })
                        }
                    }
                }
                '\n' => {
                    self.bump();
                    if self.depth > 0 {
                        continue;
                    }
                    TokenKind::Newline
                }
                '[' => {
                    self.bump();
                    self.depth += 1;
                    TokenKind::LBracket
                }
                ']' => {
                    self.bump();
                    self.depth = self.depth.saturating_sub(1);
                    TokenKind::RBracket
                }
                ',' => {
                    self.bump();
                    TokenKind::Comma
                }
                '=' => {
                    self.bump();
                    TokenKind::Equals
                }
                '\'' | '"' => self.string(pos, c)?,
                c if c.is_ascii_digit()
                    || (matches!(c, '-' | '+')
                        && self.peek_at(1).is_some_and(|d| d.is_ascii_digit())) =>
                {
                    self.number(pos)?
                }
                c if c.is_alphabetic() || c == '_' => {
                    let mut s = String::new();
                    while let Some(c) = self.peek().filter(|c| c.is_alphanumeric() || *c == '_') {
                        s.push(c);
                        self.bump();
                    }
                    TokenKind::Ident(s)
                }
                other => {
                    self.bump();
                    TokenKind::Other(other)
                }
            };
            return Ok(Token { kind, pos });
        }
    }

    fn number(&mut self, pos: Pos) -> Result<TokenKind, ConfigError> {
        let mut text = String::new();
        if let Some(sign @ ('-' | '+')) = self.peek() {
            text.push(sign);
            self.bump();
        }
        while let Some(c) = self
            .peek()
            .filter(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
        {
            text.push(c);
            self.bump();
        }
        let (neg, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.trim_start_matches('+')),
        };
        let parsed = match digits
            .strip_prefix("0x")
            .or_else(|| digits.strip_prefix("0X"))
        {
            Some(hex) => i64::from_str_radix(hex, 16).ok(),
            None if digits.bytes().all(|b| b.is_ascii_digit()) => digits.parse::<i64>().ok(),
            None => None,
        };
        match parsed {
            Some(v) => Ok(TokenKind::Int(if neg { -v } else { v })),
            None => Err(ConfigError::InvalidNumber {
                at: self.location(pos),
                text,
            }),
        }
    }

    fn string(&mut self, pos: Pos, quote: char) -> Result<TokenKind, ConfigError> {
        self.bump();
        let mut s = String::new();
        loop {
            match self.bump() {
                None | Some('\n') => {
                    return Err(ConfigError::UnterminatedString {
                        at: self.location(pos),
                        quote,
                    })
                }
                Some(c) if c == quote => return Ok(TokenKind::Str(s)),
                Some('\\') => match self.bump() {
                    None => {
                        return Err(ConfigError::UnterminatedString {
                            at: self.location(pos),
                            quote,
                        })
                    }
                    Some('\n') => {} // continuation inside a string
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some('r') => s.push('\r'),
                    Some('0') => s.push('\0'),
                    Some(c @ ('\\' | '\'' | '"')) => s.push(c),
                    Some('x') => {
                        let hex: String = (0..2).filter_map(|n| self.peek_at(n)).collect();
                        match u8::from_str_radix(&hex, 16) {
                            Ok(b) if hex.len() == 2 => {
                                self.bump();
                                self.bump();
                                s.push(char::from(b));
                            }
                            _ => s.push_str("\\x"),
                        }
                    }
                    // Python keeps unknown escapes verbatim.
                    Some(c) => {
                        s.push('\\');
                        s.push(c);
                    }
                },
                Some(c) => s.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        let mut lx = Lexer::new(text, "t.cfg", true);
        let mut out = Vec::new();
        loop {
            let t = lx.next_token().unwrap();
            let end = t.kind == TokenKind::Eof;
            out.push(t.kind);
            if end {
                return out;
            }
        }
    }

    fn err(text: &str) -> String {
        let mut lx = Lexer::new(text, "t.cfg", true);
        loop {
            match lx.next_token() {
                Ok(t) if t.kind == TokenKind::Eof => panic!("no error for {text:?}"),
                Ok(_) => {}
                Err(e) => return e.to_string(),
            }
        }
    }

    use TokenKind::*;

    #[test]
    fn basic_tokens() {
        assert_eq!(
            kinds("memory = 256 # comment\nname='a#b'\n"),
            vec![
                Ident("memory".into()),
                Equals,
                Int(256),
                Newline,
                Ident("name".into()),
                Equals,
                Str("a#b".into()),
                Newline,
                Eof
            ]
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(kinds("-5 +7 0x1F"), vec![Int(-5), Int(7), Int(31), Eof]);
        assert_eq!(err("memory = 256M"), "t.cfg:1:10: invalid number '256M'");
    }

    #[test]
    fn escapes() {
        assert_eq!(
            kinds(r#"'a\'b' "q\"\\\n\t\x41" '\d'"#),
            vec![
                Str("a'b".into()),
                Str("q\"\\\n\tA".into()),
                Str("\\d".into()),
                Eof
            ]
        );
    }

    #[test]
    fn continuation_and_brackets() {
        assert_eq!(
            kinds("a = \\  \n 1\nb = [1,\n # c\n 2]\n"),
            vec![
                Ident("a".into()),
                Equals,
                Int(1),
                Newline,
                Ident("b".into()),
                Equals,
                LBracket,
                Int(1),
                Comma,
                Int(2),
                RBracket,
                Newline,
                Eof
            ]
        );
        assert_eq!(kinds("'ab\\\ncd'"), vec![Str("abcd".into()), Eof]);
    }

    #[test]
    fn lexical_errors() {
        assert_eq!(
            err("\nname = 'abc\n"),
            "t.cfg:2:8: unterminated string (missing closing ')"
        );
        assert_eq!(
            err("x = \"abc"),
            "t.cfg:1:5: unterminated string (missing closing \")"
        );
        assert!(err("x = \\ 1").starts_with("t.cfg:1:5: '\\' outside a string"));
    }

    #[test]
    fn other_chars_are_tokens() {
        assert_eq!(kinds(")"), vec![Other(')'), Eof]);
    }
}
