//! Reads a RON value written on the command line (`--set key=VALUE`) into the JSON shape serde
//! gives the config types, so it can replace part of a resolved config: structs become objects,
//! `Variant(...)` becomes `{"Variant": ...}`, a bare `Variant` becomes `"Variant"`, `Some(x)`
//! becomes `x` and `None` becomes `null`. [`write`] turns such a value back into RON text.

use serde_json::{Map, Number, Value};

/// Parses a complete RON value.
pub fn parse(text: &str) -> Result<Value, String> {
    let mut parser = Parser { text: text.as_bytes(), pos: 0 };
    let value = parser.value()?;
    parser.skip_space();
    if parser.pos != parser.text.len() {
        return Err(parser.error("unexpected text after the value"));
    }
    Ok(value)
}

/// Writes a value of that JSON shape as RON that [`parse`] reads back to the same value:
/// `{"Pareto": {"spread": "5ms"}}` as `Pareto(spread: "5ms")`.
pub fn write(value: &Value) -> String {
    let mut out = String::new();
    write_into(value, &mut out);
    out
}

fn write_into(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) if is_identifier(s) => out.push_str(s),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            write_separated(items, out);
            out.push(']');
        }
        Value::Object(map) => match map.iter().next() {
            Some((name, content))
                if map.len() == 1 && name.starts_with(|c: char| c.is_ascii_uppercase()) && is_identifier(name) =>
            {
                out.push_str(name);
                out.push('(');
                match content {
                    // One element would be read back as the element itself, not a list of it.
                    Value::Array(items) if items.len() == 1 => write_into(content, out),
                    Value::Array(items) => write_separated(items, out),
                    Value::Object(fields) => write_fields(fields, out),
                    other => write_into(other, out),
                }
                out.push(')');
            }
            _ if map.keys().all(|key| is_identifier(key)) => {
                out.push('(');
                write_fields(map, out);
                out.push(')');
            }
            _ => {
                out.push('{');
                for (i, (key, item)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_string(key, out);
                    out.push_str(": ");
                    write_into(item, out);
                }
                out.push('}');
            }
        },
    }
}

fn write_separated(items: &[Value], out: &mut String) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_into(item, out);
    }
}

fn write_fields(fields: &Map<String, Value>, out: &mut String) {
    for (i, (name, item)) in fields.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(name);
        out.push_str(": ");
        write_into(item, out);
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Whether `s` reads as a bare identifier (a unit variant) rather than needing quotes.
fn is_identifier(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !matches!(s, "true" | "false" | "None")
}

struct Parser<'a> {
    text: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> String {
        format!("{what} at character {}", self.pos + 1)
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace() {
                self.pos += 1;
            } else if self.text[self.pos..].starts_with(b"//") {
                while self.peek().is_some_and(|c| c != b'\n') {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.skip_space();
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.eat(c) { Ok(()) } else { Err(self.error(&format!("expected `{}`", c as char))) }
    }

    fn value(&mut self) -> Result<Value, String> {
        self.skip_space();
        match self.peek() {
            None => Err(self.error("expected a value")),
            Some(b'"') => self.string().map(Value::String),
            Some(b'[') => self.list(),
            Some(b'{') => self.map(),
            Some(b'(') => self.parenthesised(),
            Some(c) if c == b'-' || c == b'+' || c.is_ascii_digit() || c == b'.' => self.number(),
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => self.identified(),
            Some(c) => Err(self.error(&format!("unexpected `{}`", c as char))),
        }
    }

    fn identifier(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_') {
            self.pos += 1;
        }
        String::from_utf8_lossy(&self.text[start..self.pos]).into_owned()
    }

    fn identified(&mut self) -> Result<Value, String> {
        let name = self.identifier();
        self.skip_space();
        let has_content = self.peek() == Some(b'(');
        match (name.as_str(), has_content) {
            ("true", false) => Ok(Value::Bool(true)),
            ("false", false) => Ok(Value::Bool(false)),
            ("None", false) => Ok(Value::Null),
            ("Some", true) => {
                self.expect(b'(')?;
                let inner = self.value()?;
                self.eat(b',');
                self.expect(b')')?;
                Ok(inner)
            }
            (_, false) => Ok(Value::String(name)),
            (_, true) => {
                let content = self.parenthesised()?;
                let content = match content {
                    Value::Array(mut items) if items.len() == 1 => items.remove(0),
                    Value::Array(items) if items.is_empty() => return Ok(Value::String(name)),
                    other => other,
                };
                Ok(Value::Object(Map::from_iter([(name, content)])))
            }
        }
    }

    /// `(a: 1, b: 2)` is a struct (object); `(1, 2)` a tuple (array).
    fn parenthesised(&mut self) -> Result<Value, String> {
        self.expect(b'(')?;
        self.skip_space();
        let checkpoint = self.pos;
        let is_struct = if self.peek().is_some_and(|c| c.is_ascii_alphabetic() || c == b'_') {
            self.identifier();
            self.eat(b':')
        } else {
            false
        };
        self.pos = checkpoint;
        if is_struct {
            let mut fields = Map::new();
            while !self.eat(b')') {
                self.skip_space();
                let key = self.identifier();
                if key.is_empty() {
                    return Err(self.error("expected a field name"));
                }
                self.expect(b':')?;
                fields.insert(key, self.value()?);
                if !self.eat(b',') {
                    self.expect(b')')?;
                    break;
                }
            }
            Ok(Value::Object(fields))
        } else {
            self.sequence(b')').map(Value::Array)
        }
    }

    fn list(&mut self) -> Result<Value, String> {
        self.expect(b'[')?;
        self.sequence(b']').map(Value::Array)
    }

    fn sequence(&mut self, close: u8) -> Result<Vec<Value>, String> {
        let mut items = Vec::new();
        while !self.eat(close) {
            items.push(self.value()?);
            if !self.eat(b',') {
                self.expect(close)?;
                break;
            }
        }
        Ok(items)
    }

    fn map(&mut self) -> Result<Value, String> {
        self.expect(b'{')?;
        let mut entries = Map::new();
        while !self.eat(b'}') {
            let key = match self.value()? {
                Value::String(s) => s,
                other => other.to_string(),
            };
            self.expect(b':')?;
            entries.insert(key, self.value()?);
            if !self.eat(b',') {
                self.expect(b'}')?;
                break;
            }
        }
        Ok(Value::Object(entries))
    }

    fn string(&mut self) -> Result<String, String> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return String::from_utf8(out).map_err(|_| self.error("invalid UTF-8 in string"));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let escaped = match self.peek() {
                        Some(b'n') => b'\n',
                        Some(b't') => b'\t',
                        Some(b'r') => b'\r',
                        Some(c @ (b'"' | b'\\')) => c,
                        _ => return Err(self.error("unsupported escape in string")),
                    };
                    out.push(escaped);
                    self.pos += 1;
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'+' | b'_')) {
            self.pos += 1;
        }
        let text: String = String::from_utf8_lossy(&self.text[start..self.pos]).replace('_', "");
        let text = text.strip_prefix('+').unwrap_or(&text);
        if let Ok(u) = text.parse::<u64>() {
            return Ok(Value::Number(u.into()));
        }
        if let Ok(i) = text.parse::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        text.parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("`{text}` is not a number"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_take_serde_json_shape() {
        assert_eq!(parse("2000").unwrap(), json!(2000));
        assert_eq!(parse("-1.5").unwrap(), json!(-1.5));
        assert_eq!(parse("\"10ms\"").unwrap(), json!("10ms"));
        assert_eq!(parse("FairShare").unwrap(), json!("FairShare"));
        assert_eq!(parse("RandomRegular(degree: 6)").unwrap(), json!({"RandomRegular": {"degree": 6}}));
        assert_eq!(parse("Constant(\"5ms\")").unwrap(), json!({"Constant": "5ms"}));
        assert_eq!(parse("Range(0, 10)").unwrap(), json!({"Range": [0, 10]}));
        assert_eq!(parse("Edges([(0, 1), (1, 2)])").unwrap(), json!({"Edges": [[0, 1], [1, 2]]}));
        assert_eq!(parse("Some(\"1s\")").unwrap(), json!("1s"));
        assert_eq!(parse("None").unwrap(), json!(null));
        assert_eq!(
            parse("(upload: \"1Mbps\", download: \"2Mbps\",)").unwrap(),
            json!({"upload": "1Mbps", "download": "2Mbps"})
        );
        assert_eq!(parse("[true, false]").unwrap(), json!([true, false]));
    }

    #[test]
    fn written_values_read_back_the_same() {
        let cases = [
            ("Pareto(spread: \"5ms\")", json!({"Pareto": {"spread": "5ms"}})),
            ("Constant(\"20ms\")", json!({"Constant": "20ms"})),
            ("RandomRegular(degree: 4)", json!({"RandomRegular": {"degree": 4}})),
            ("Range(0, 10)", json!({"Range": [0, 10]})),
            ("Edges([[0, 1]])", json!({"Edges": [[0, 1]]})),
            ("Fifo", json!("Fifo")),
            ("\"10Mbps\"", json!("10Mbps")),
            ("None", json!(null)),
            ("\"None\"", json!("None")),
            ("(upload: \"1Mbps\", download: Unlimited)", json!({"upload": "1Mbps", "download": "Unlimited"})),
            ("{\"EU-west\": 0.5}", json!({"EU-west": 0.5})),
            ("[-1.5, true, \"a \\\"b\\\" \\\\ c\\n\"]", json!([-1.5, true, "a \"b\" \\ c\n"])),
        ];
        for (text, value) in cases {
            assert_eq!(write(&value), text);
            assert_eq!(parse(text).unwrap(), value, "{text}");
        }
    }

    #[test]
    fn malformed_values_are_errors() {
        assert!(parse("10ms").is_err());
        assert!(parse("(a: 1").is_err());
        assert!(parse("\"open").is_err());
        assert!(parse("1 2").is_err());
    }
}
