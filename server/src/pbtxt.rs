//! A reader for the protobuf text format that Triton's `config.pbtxt` is written in.
//!
//! Why hand-written: the maintained text-format parsers (`prost-reflect`, `protobuf`) parse
//! into a schema and refuse fields the schema lacks, so they would need Triton's whole
//! `model_config.proto` to read a user's config at all. This reader needs no schema: it turns
//! the text into a tree of named fields, the model config reads the fields accelrt uses, and
//! every other field is reported as ignored instead of failing the load.
//!
//! Grammar covered: `name: scalar`, `name: [v, ...]`, `name { ... }`, `name: { ... }`,
//! `name [ { ... }, ... ]` (also with `< >` for braces), `#` comments, `,`/`;` separators,
//! double- or single-quoted strings with backslash escapes.

use std::fmt;

/// One field value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar as written: a number, an enum name or `true`/`false`.
    Word(String),
    /// A quoted string, unescaped.
    Str(String),
    /// A nested message.
    Message(Message),
}

/// A message: its fields in file order (a repeated field appears once per value).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Message {
    /// `(name, value)` pairs.
    pub fields: Vec<(String, Value)>,
}

impl Message {
    /// Every value of field `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.fields.iter().filter(move |(n, _)| n == name).map(|(_, v)| v)
    }

    /// The last value of field `name` (the text format's rule for a non-repeated field).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The nested message `name`, if present.
    pub fn message(&self, name: &str) -> Option<&Message> {
        match self.get(name) {
            Some(Value::Message(m)) => Some(m),
            _ => None,
        }
    }
}

/// A syntax error with its line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: expected {expected}, got {got}")]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// What the parser wanted.
    pub expected: String,
    /// What it found.
    pub got: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Punct(char),
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Word(w) => write!(f, "`{w}`"),
            Token::Str(s) => write!(f, "{s:?}"),
            Token::Punct(c) => write!(f, "`{c}`"),
        }
    }
}

/// Parses a whole file as one message.
pub fn parse(text: &str) -> Result<Message, ParseError> {
    let tokens = tokenize(text)?;
    let mut p = Parser { tokens, pos: 0 };
    let msg = p.fields(None)?;
    Ok(msg)
}

fn tokenize(text: &str) -> Result<Vec<(Token, usize)>, ParseError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(&c) = chars.peek() {
        match c {
            '\n' => {
                line += 1;
                chars.next();
            }
            c if c.is_whitespace() => {
                chars.next();
            }
            '#' => {
                while chars.peek().is_some_and(|&c| c != '\n') {
                    chars.next();
                }
            }
            '{' | '}' | '[' | ']' | ':' | ',' | ';' | '<' | '>' => {
                out.push((Token::Punct(c), line));
                chars.next();
            }
            '"' | '\'' => {
                let quote = c;
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None | Some('\n') => {
                            return Err(ParseError {
                                line,
                                expected: format!("a closing {quote}"),
                                got: "the end of the line".into(),
                            })
                        }
                        Some('\\') => match chars.next() {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some(other) => s.push(other),
                            None => {}
                        },
                        Some(ch) if ch == quote => break,
                        Some(ch) => s.push(ch),
                    }
                }
                out.push((Token::Str(s), line));
            }
            c if c.is_alphanumeric() || matches!(c, '_' | '-' | '+' | '.') => {
                let mut w = String::new();
                while let Some(&ch) = chars.peek() {
                    if ch.is_alphanumeric() || matches!(ch, '_' | '-' | '+' | '.') {
                        w.push(ch);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push((Token::Word(w), line));
            }
            other => {
                return Err(ParseError {
                    line,
                    expected: "a field".into(),
                    got: format!("`{other}`"),
                })
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(t, _)| t)
    }

    fn line(&self) -> usize {
        self.tokens.get(self.pos).or(self.tokens.last()).map_or(1, |(_, l)| *l)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).map(|(t, _)| t.clone());
        self.pos += 1;
        t
    }

    fn error<T>(&self, expected: &str, got: Option<&Token>) -> Result<T, ParseError> {
        Err(ParseError {
            line: self.line(),
            expected: expected.into(),
            got: got.map_or_else(|| "the end of the file".into(), Token::to_string),
        })
    }

    /// Fields up to `close` (or the end of the input for the top level).
    fn fields(&mut self, close: Option<char>) -> Result<Message, ParseError> {
        let mut msg = Message::default();
        loop {
            match self.peek().cloned() {
                None if close.is_none() => return Ok(msg),
                Some(Token::Punct(c)) if Some(c) == close => {
                    self.next();
                    return Ok(msg);
                }
                Some(Token::Punct(',' | ';')) => {
                    self.next();
                }
                Some(Token::Word(name)) => {
                    self.next();
                    self.field(name, &mut msg)?;
                }
                other => return self.error("a field name", other.as_ref()),
            }
        }
    }

    fn field(&mut self, name: String, msg: &mut Message) -> Result<(), ParseError> {
        let colon = matches!(self.peek(), Some(Token::Punct(':')));
        if colon {
            self.next();
        }
        match self.peek().cloned() {
            Some(Token::Punct('[')) => {
                self.next();
                loop {
                    match self.peek().cloned() {
                        Some(Token::Punct(']')) => {
                            self.next();
                            return Ok(());
                        }
                        Some(Token::Punct(',')) => {
                            self.next();
                        }
                        _ => {
                            let v = self.value()?;
                            msg.fields.push((name.clone(), v));
                        }
                    }
                }
            }
            Some(Token::Punct('{' | '<')) => {
                let v = self.value()?;
                msg.fields.push((name, v));
                Ok(())
            }
            other if colon => {
                let _ = other;
                let v = self.value()?;
                msg.fields.push((name, v));
                Ok(())
            }
            other => self.error(&format!("`:` or `{{` after `{name}`"), other.as_ref()),
        }
    }

    fn value(&mut self) -> Result<Value, ParseError> {
        match self.next() {
            Some(Token::Word(w)) => Ok(Value::Word(w)),
            Some(Token::Str(mut s)) => {
                // Adjacent string literals concatenate.
                while let Some(Token::Str(more)) = self.peek().cloned() {
                    self.next();
                    s.push_str(&more);
                }
                Ok(Value::Str(s))
            }
            Some(Token::Punct('{')) => Ok(Value::Message(self.fields(Some('}'))?)),
            Some(Token::Punct('<')) => Ok(Value::Message(self.fields(Some('>'))?)),
            other => {
                self.pos -= 1;
                self.error("a value", other.as_ref())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_triton_config() {
        let text = r#"
            name: "det"   # the model
            platform: "onnxruntime_onnx"
            max_batch_size: 8
            input [
              { name: "x", data_type: TYPE_FP32, dims: [ 3, -1, -1 ] }
            ]
            dynamic_batching {
              preferred_batch_size: [ 4, 8 ]
              max_queue_delay_microseconds: 100
              default_queue_policy { default_timeout_microseconds: 5000 max_queue_size: 16 }
            }
            instance_group [ { count: 2 kind: KIND_CPU } ]
            optimization < execution_accelerators { } >
        "#;
        let m = parse(text).unwrap();
        assert_eq!(m.get("name"), Some(&Value::Str("det".into())));
        assert_eq!(m.get("max_batch_size"), Some(&Value::Word("8".into())));
        let input = match m.get("input") {
            Some(Value::Message(i)) => i.clone(),
            other => panic!("{other:?}"),
        };
        let dims: Vec<_> = input.all("dims").cloned().collect();
        assert_eq!(dims, ["3", "-1", "-1"].map(|d| Value::Word(d.into())));
        let db = m.message("dynamic_batching").unwrap();
        assert_eq!(db.all("preferred_batch_size").count(), 2);
        let qp = db.message("default_queue_policy").unwrap();
        assert_eq!(qp.get("max_queue_size"), Some(&Value::Word("16".into())));
        assert!(m.message("optimization").is_some());
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e = parse("max_batch_size: 8\ninput [ { name: \"x\" ").unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse("name \"x\"").unwrap_err();
        assert!(e.to_string().contains("expected `:` or `{` after `name`"), "{e}");
        let e = parse("name: \"x").unwrap_err();
        assert!(e.to_string().contains("closing"), "{e}");
    }
}
