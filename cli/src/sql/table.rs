//! The text building blocks of what `brook sql` prints ([`super::render`] and
//! [`super::describe`]): the ksql CLI's `Table`, left-aligned padding, a statement on one line.

/// The ksql CLI's `Table`: headers, rows, footer lines, printed as
/// ` H1 | H2 ` / dashes / rows / dashes. Every line ends with `\n`.
#[derive(Debug, Default)]
pub(crate) struct Table {
    pub(crate) headers: Vec<String>,
    pub(crate) rows: Vec<Vec<String>>,
    pub(crate) header_lines: Vec<String>,
    pub(crate) footer_lines: Vec<String>,
}

impl Table {
    pub(crate) fn new(headers: &[&str]) -> Self {
        Table { headers: headers.iter().map(|h| (*h).to_owned()).collect(), ..Table::default() }
    }

    pub(crate) fn row<S: Into<String>>(mut self, cells: impl IntoIterator<Item = S>) -> Self {
        self.rows.push(cells.into_iter().map(Into::into).collect());
        self
    }

    pub(crate) fn footer(mut self, line: &str) -> Self {
        self.footer_lines.push(line.to_owned());
        self
    }

    /// The table as text for a terminal `width` columns wide (the dashes stop there).
    pub(crate) fn render(&self, width: usize) -> String {
        let mut out = String::new();
        for l in &self.header_lines {
            out.push_str(l);
            out.push('\n');
        }
        if !self.headers.is_empty() {
            let widths: Vec<usize> = (0..self.headers.len())
                .map(|i| {
                    let cells = self.rows.iter().map(|r| r.get(i).map_or(0, |c| c.lines().map(char_len).max().unwrap_or(0)));
                    cells.chain([char_len(&self.headers[i])]).max().unwrap_or(0)
                })
                .collect();
            let separator = "-".repeat((widths.iter().map(|w| w + 3).sum::<usize>().saturating_sub(1)).min(width));
            let line = |cells: &[String]| {
                let padded: Vec<String> = widths.iter().enumerate().map(|(i, w)| pad(cells.get(i).map_or("", String::as_str), *w)).collect();
                format!(" {} \n", padded.join(" | "))
            };
            out.push_str(&line(&self.headers));
            out.push_str(&separator);
            out.push('\n');
            for r in &self.rows {
                out.push_str(&line(r));
            }
            out.push_str(&separator);
            out.push('\n');
        }
        for l in &self.footer_lines {
            out.push_str(l);
            out.push('\n');
        }
        out
    }
}

fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// `s` left-aligned in `width` characters (Java's `%-Ns`).
pub(crate) fn pad(s: &str, width: usize) -> String {
    format!("{s}{}", " ".repeat(width.saturating_sub(char_len(s))))
}

/// A statement on one line, as `getQuerySingleLine` prints it.
pub(crate) fn single_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
