//! Quoting untrusted text in messages.
//!
//! Errors often quote what they refuse (a value, a server's message, a file's problem). The
//! value may come from a hostile file or server and be megabytes long, so a message quotes at
//! most a short prefix of it and says how much was left out: output stays bounded whatever
//! the input.

/// At most `max` bytes of `text`, cut on a character boundary, followed by how many bytes
/// were left out.
pub fn prefix(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} more bytes)", &text[..end], text.len() - end)
}

#[cfg(test)]
mod tests {
    use super::prefix;

    #[test]
    fn long_text_is_cut_on_a_character_boundary_and_says_how_much_is_left() {
        assert_eq!(prefix("short", 10), "short");
        let long = "é".repeat(1000);
        let cut = prefix(&long, 5);
        assert_eq!(cut, "éé… (1996 more bytes)");
    }

    #[test]
    fn protocol_errors_quote_a_prefix_of_a_huge_value() {
        let huge = "m".repeat(1_000_000);
        let body = serde_json::json!({"id": 1, "jsonrpc": "2.0", "method": huge, "params": {}});
        let err = crate::protocol::parse_outbound(body.to_string().as_bytes()).unwrap_err();
        assert!(
            err.to_string().len() < 400,
            "{} bytes",
            err.to_string().len()
        );
        let stamp = crate::protocol::Timestamp::parse_lenient(&huge).unwrap_err();
        assert!(stamp.to_string().len() < 400);
    }
}
