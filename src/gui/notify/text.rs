//! What a notification says, made safe to hand to a notification server:
//! a contact chooses the message and may choose their name, so control
//! and direction-override characters go, the length is a notification's,
//! and markup is escaped where the server would interpret it.

use super::{Key, Shown};

/// Characters of a body a notification shows; the chat has the rest.
const BODY_CHARS: usize = 240;
const SUMMARY_CHARS: usize = 80;

pub fn shown(key: &Key, title: &str, latest: Option<&str>, count: u32) -> Shown {
    let name = clean(title, SUMMARY_CHARS, false);
    let name = if name.is_empty() {
        key.1.to_string()
    } else {
        name
    };
    let summary = if count > 1 {
        format!("{name} ({count} new messages)")
    } else {
        name
    };
    let body = match latest {
        Some(text) => clean(text, BODY_CHARS, true),
        None if count > 1 => format!("{count} new messages"),
        None => "New message".to_owned(),
    };
    Shown {
        key: key.clone(),
        summary,
        body,
        sound: true,
        count,
    }
}

/// Control characters (C0 but newlines, DEL, C1: the 8-bit terminal
/// escapes) and bidirectional overrides (which can make a link or a name
/// read backwards) removed; cut to `max` characters.
pub fn clean(text: &str, max: usize, keep_newlines: bool) -> String {
    let mut out = String::new();
    let mut kept = 0;
    for c in text.trim().chars() {
        // A tab reads as a space.
        let c = if c == '\t' { ' ' } else { c };
        let keep = match c {
            '\n' => keep_newlines,
            c if c.is_control() => false,
            '\u{061C}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}' => false,
            _ => true,
        };
        if !keep {
            continue;
        }
        if kept == max {
            out.push('…');
            break;
        }
        out.push(c);
        kept += 1;
    }
    out
}

/// The freedesktop notification spec: a server with the `body-markup`
/// capability reads the body as a small XML-like markup (`<a href>`,
/// `<img>`, `<b>`): the five characters that would start markup or an
/// entity are escaped.
pub fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        (
            "me@example.org".parse().expect("jid"),
            "bob@example.org".parse().expect("jid"),
        )
    }

    #[test]
    fn markup_is_escaped_not_interpreted() {
        let body = r#"<a href="https://evil.example">click</a> & <img src="x"/>"#;
        assert_eq!(
            escape_markup(body),
            "&lt;a href=&quot;https://evil.example&quot;&gt;click&lt;/a&gt; &amp; &lt;img src=&quot;x&quot;/&gt;"
        );
        assert_eq!(escape_markup("&amp;"), "&amp;amp;");
    }

    #[test]
    fn controls_and_overrides_are_removed_and_length_is_bounded() {
        assert_eq!(
            clean("a\u{1b}[31mred\u{9b}2J\u{7f}", 100, true),
            "a[31mred2J"
        );
        assert_eq!(clean("evil\u{202E}gnp.exe", 100, true), "evilgnp.exe");
        assert_eq!(clean("one\ntwo\r\n", 100, true), "one\ntwo");
        assert_eq!(clean("one\ntwo", 100, false), "onetwo");
        let long = "x".repeat(10_000);
        let cut = clean(&long, BODY_CHARS, true);
        assert_eq!(cut.chars().count(), BODY_CHARS + 1);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn hidden_content_says_only_how_many() {
        assert_eq!(shown(&key(), "Bob", None, 1).body, "New message");
        let many = shown(&key(), "Bob", None, 4);
        assert_eq!(many.body, "4 new messages");
        assert_eq!(many.summary, "Bob (4 new messages)");
        // A name that is all control characters falls back to the address.
        assert_eq!(
            shown(&key(), "\u{1b}\u{7}", None, 1).summary,
            "bob@example.org"
        );
    }
}
