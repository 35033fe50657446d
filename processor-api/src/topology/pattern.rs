//! A small regular-expression matcher for pattern sources (whole-string match, as Java's
//! `Matcher.matches`): literals, `.`, classes `[a-z0-9_]` / `[^...]`, `\d \w \s` and escaped
//! characters, groups `( )`, alternation `|`, and the quantifiers `* + ?`. Backtracking over
//! topic names (at most 249 characters) is cheap enough.

use crate::error::{Result, TopologyError};

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Char(char),
    Any,
    Class { negated: bool, items: Vec<(char, char)> },
    Group(Vec<Vec<Node>>),
    Repeat { node: Box<Node>, min: usize, max: Option<usize> },
}

/// A compiled topic pattern.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TopicPattern {
    source: String,
    alternatives: Vec<Vec<Node>>,
}

impl TopicPattern {
    pub(crate) fn compile(source: &str) -> Result<Self, TopologyError> {
        let chars: Vec<char> = source.chars().collect();
        let mut pos = 0;
        let alternatives = parse_alternatives(&chars, &mut pos)?;
        if pos != chars.len() {
            return Err(bad(source, "unbalanced ')'"));
        }
        Ok(TopicPattern { source: source.to_owned(), alternatives })
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.source
    }

    pub(crate) fn matches(&self, s: &str) -> bool {
        let chars: Vec<char> = s.chars().collect();
        let group = Node::Group(self.alternatives.clone());
        match_seq(std::slice::from_ref(&group), &chars, 0, &mut |end| end == chars.len())
    }
}

fn bad(source: &str, why: &'static str) -> TopologyError {
    TopologyError::InvalidPattern { pattern: source.to_owned(), reason: why }
}

fn parse_alternatives(c: &[char], pos: &mut usize) -> Result<Vec<Vec<Node>>, TopologyError> {
    let mut alts = vec![Vec::new()];
    while *pos < c.len() {
        let ch = c[*pos];
        match ch {
            ')' => break,
            '|' => {
                *pos += 1;
                alts.push(Vec::new());
            }
            '*' | '+' | '?' => {
                *pos += 1;
                let seq = alts.last_mut().expect("non-empty");
                let Some(prev) = seq.pop() else {
                    return Err(bad(&c.iter().collect::<String>(), "quantifier without operand"));
                };
                let (min, max) = match ch {
                    '*' => (0, None),
                    '+' => (1, None),
                    _ => (0, Some(1)),
                };
                seq.push(Node::Repeat { node: Box::new(prev), min, max });
            }
            '(' => {
                *pos += 1;
                if c.get(*pos) == Some(&'?') && c.get(*pos + 1) == Some(&':') {
                    *pos += 2;
                }
                let inner = parse_alternatives(c, pos)?;
                if c.get(*pos) != Some(&')') {
                    return Err(bad(&c.iter().collect::<String>(), "unclosed '('"));
                }
                *pos += 1;
                alts.last_mut().expect("non-empty").push(Node::Group(inner));
            }
            '[' => {
                *pos += 1;
                let node = parse_class(c, pos)?;
                alts.last_mut().expect("non-empty").push(node);
            }
            '.' => {
                *pos += 1;
                alts.last_mut().expect("non-empty").push(Node::Any);
            }
            '^' | '$' => *pos += 1,
            '\\' => {
                *pos += 1;
                let Some(&e) = c.get(*pos) else { return Err(bad(&c.iter().collect::<String>(), "trailing '\\'")) };
                *pos += 1;
                alts.last_mut().expect("non-empty").push(escape(e));
            }
            _ => {
                *pos += 1;
                alts.last_mut().expect("non-empty").push(Node::Char(ch));
            }
        }
    }
    Ok(alts)
}

fn escape(e: char) -> Node {
    match e {
        'd' => Node::Class { negated: false, items: vec![('0', '9')] },
        'w' => Node::Class { negated: false, items: vec![('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')] },
        's' => Node::Class { negated: false, items: vec![(' ', ' '), ('\t', '\t'), ('\n', '\n'), ('\r', '\r')] },
        other => Node::Char(other),
    }
}

fn parse_class(c: &[char], pos: &mut usize) -> Result<Node, TopologyError> {
    let negated = c.get(*pos) == Some(&'^');
    if negated {
        *pos += 1;
    }
    let mut items = Vec::new();
    let mut first = true;
    loop {
        let Some(&ch) = c.get(*pos) else { return Err(bad(&c.iter().collect::<String>(), "unclosed '['")) };
        *pos += 1;
        if ch == ']' && !first {
            break;
        }
        first = false;
        let lo = if ch == '\\' {
            let Some(&e) = c.get(*pos) else { return Err(bad(&c.iter().collect::<String>(), "trailing '\\'")) };
            *pos += 1;
            if let Node::Class { items: more, .. } = escape(e) {
                items.extend(more);
                continue;
            }
            e
        } else {
            ch
        };
        if c.get(*pos) == Some(&'-') && c.get(*pos + 1).is_some_and(|&n| n != ']') {
            let hi = c[*pos + 1];
            *pos += 2;
            items.push((lo, hi));
        } else {
            items.push((lo, lo));
        }
    }
    Ok(Node::Class { negated, items })
}

fn match_one(node: &Node, s: &[char], i: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    match node {
        Node::Char(c) => s.get(i) == Some(c) && k(i + 1),
        Node::Any => i < s.len() && k(i + 1),
        Node::Class { negated, items } => match s.get(i) {
            Some(&ch) => (items.iter().any(|&(lo, hi)| lo <= ch && ch <= hi) != *negated) && k(i + 1),
            None => false,
        },
        Node::Group(alts) => alts.iter().any(|seq| match_seq(seq, s, i, k)),
        Node::Repeat { node, min, max } => match_repeat(node, *min, *max, 0, s, i, k),
    }
}

fn match_repeat(
    node: &Node,
    min: usize,
    max: Option<usize>,
    count: usize,
    s: &[char],
    i: usize,
    k: &mut dyn FnMut(usize) -> bool,
) -> bool {
    // Greedy: try one more repetition first (requiring progress), then stop.
    if max.is_none_or(|m| count < m)
        && match_one(node, s, i, &mut |j| j > i && match_repeat(node, min, max, count + 1, s, j, k))
    {
        return true;
    }
    count >= min && k(i)
}

fn match_seq(seq: &[Node], s: &[char], i: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    match seq.split_first() {
        None => k(i),
        Some((first, rest)) => match_one(first, s, i, &mut |j| match_seq(rest, s, j, k)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_whole_names() {
        let p = TopicPattern::compile("topic-\\d+").unwrap();
        assert!(p.matches("topic-1"));
        assert!(p.matches("topic-123"));
        assert!(!p.matches("topic-"));
        assert!(!p.matches("xtopic-1"));
        let p = TopicPattern::compile("(orders|payments)\\..*").unwrap();
        assert!(p.matches("orders.eu"));
        assert!(p.matches("payments."));
        assert!(!p.matches("refunds.eu"));
        let p = TopicPattern::compile("[a-c]x?[^0-9]").unwrap();
        assert!(p.matches("bz"));
        assert!(p.matches("axy"));
        assert!(!p.matches("d1"));
        assert!(!p.matches("a1"));
        assert!(TopicPattern::compile("(a").is_err());
        assert!(TopicPattern::compile("*a").is_err());
        assert!(TopicPattern::compile("a.*b.*c").unwrap().matches("axxbyyc"));
    }
}
