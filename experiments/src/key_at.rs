//! The key path at a place in an experiment file, so that a parse error can say which key it is
//! about (`protocol.confirmations`) as well as where: RON's own errors name only a line and a
//! column, and a value of the wrong type or range says nothing of the key it was given to.

/// One open bracket on the way to the place.
struct Frame {
    /// `(`, `[` or `{`.
    open: char,
    /// The field being read inside a `(...)` struct, if any.
    key: Option<String>,
    /// The element being read inside a `[...]` list or a tuple.
    index: usize,
}

/// The dotted key path (with `[i]` for list elements) of the value being read at 1-based
/// `line` and `column` of `text`; `None` outside every key.
pub fn key_at(text: &str, line: usize, column: usize) -> Option<String> {
    let end = offset(text, line, column)?;
    let bytes = text.as_bytes();
    let mut frames: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < end {
        let c = bytes[i] as char;
        match c {
            '/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < end && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            '/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < end && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
                continue;
            }
            '"' => {
                i += 1;
                while i < end && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            '(' | '[' | '{' => frames.push(Frame { open: c, key: None, index: 0 }),
            ')' | ']' | '}' => {
                frames.pop();
            }
            ',' => {
                if let Some(frame) = frames.last_mut() {
                    frame.key = None;
                    frame.index += 1;
                }
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < end && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                let mut j = i;
                while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                    j += 1;
                }
                let is_key = bytes.get(j) == Some(&b':') && bytes.get(j + 1) != Some(&b':');
                if let Some(frame) = frames.last_mut().filter(|f| f.open == '(' && is_key) {
                    frame.key = Some(text[start..i].to_string());
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    let mut path = String::new();
    for frame in &frames {
        match (&frame.key, frame.open) {
            (Some(key), _) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            (None, '[') if !path.is_empty() => path.push_str(&format!("[{}]", frame.index)),
            _ => {}
        }
    }
    (!path.is_empty()).then_some(path)
}

/// The byte offset of 1-based `line` and `column` (in characters) in `text`.
fn offset(text: &str, line: usize, column: usize) -> Option<usize> {
    let start: usize = text.split_inclusive('\n').take(line.checked_sub(1)?).map(str::len).sum();
    let rest = text.get(start..)?;
    let within = rest.char_indices().nth(column.saturating_sub(1)).map_or(rest.len(), |(at, _)| at);
    Some(start + within)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_key_being_read() {
        let text = "(\n  name: \"a, (b\", // a comment: (\n  protocol: Bridge(\n    confirmations: -1,\n  ),\n)";
        assert_eq!(key_at(text, 4, 20).as_deref(), Some("protocol.confirmations"));
        assert_eq!(key_at(text, 2, 10).as_deref(), Some("name"));
        assert_eq!(key_at(text, 1, 1), None);
    }

    #[test]
    fn names_list_elements_by_index() {
        let text = "(network: (roles: [(name: \"a\"), (name: \"b\", nodes: Count(-2))]))";
        let at = text.find("-2").unwrap() + 1;
        assert_eq!(key_at(text, 1, at).as_deref(), Some("network.roles[1].nodes"));
    }
}
