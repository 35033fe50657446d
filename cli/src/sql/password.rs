//! The password prompt of `brook sql -u USER` without `-p`, as the ksql CLI asks for it: in a
//! terminal the line editor reads it with every character shown as `*`; from a pipe the first
//! line of the command's input (standard input) is the password.

use std::borrow::Cow;
use std::io::{BufRead, IsTerminal};

use rustyline::completion::Completer;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{ColorMode, Config, Editor, Helper};

/// Shows each character of the line as `*`.
struct Masked;

impl Highlighter for Masked {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        Cow::Owned("*".repeat(line.chars().count()))
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        true
    }
}

impl Completer for Masked {
    type Candidate = String;
}

impl Hinter for Masked {
    type Hint = String;
}

impl Validator for Masked {}

impl Helper for Masked {}

/// Asks for the password of `user`: on the terminal, or as the first line of `input` when
/// standard input is not one.
///
/// # Errors
/// The input cannot be read, or the prompt was left with Ctrl-C / Ctrl-D.
pub(crate) fn prompt(user: &str, input: &mut dyn BufRead) -> anyhow::Result<String> {
    if !std::io::stdin().is_terminal() {
        let mut line = String::new();
        input.read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    let config = Config::builder().auto_add_history(false).color_mode(ColorMode::Forced).build();
    let mut editor: Editor<Masked, DefaultHistory> = Editor::with_config(config)?;
    editor.set_helper(Some(Masked));
    editor.readline(&format!("Enter password for {user}: ")).map_err(|e| anyhow::anyhow!("no password read: {e}"))
}
