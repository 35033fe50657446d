//! Java regex replacement strings in the `regex` crate's syntax: shared by the SQL engine's
//! `REGEXP_REPLACE` and Kafka Connect's `RegexRouter`.

/// Java's `Matcher.replaceFirst` replacement (`$1`, `${name}`, `\$`) in the `regex` crate's
/// syntax (`${1}`, `${name}`, `$$`).
pub fn java_replacement(r: &str) -> String {
    let mut out = String::new();
    let mut chars = r.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(n) => out.push(n),
                None => {}
            },
            '$' if chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push_str("${");
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    out.push(d);
                    chars.next();
                }
                out.push('}');
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_replacements_become_regex_crate_ones() {
        assert_eq!(java_replacement("$1-copy"), "${1}-copy");
        assert_eq!(java_replacement("a\\$b$12x"), "a$$b${12}x");
        assert_eq!(java_replacement("${name}"), "${name}");
        assert_eq!(java_replacement("\\$1"), "$$1");
    }
}
