//! What the dask driver and its processes write to stderr, on its way to this program's
//! stderr: every line passes, but a Python traceback becomes its one last line.
//!
//! The driver (and a local cluster's scheduler and workers, its children) write into a
//! pipe that a thread of this process reads. So nothing of theirs reaches the terminal
//! after the program has ended (the pipe has no reader then), and a traceback, which is
//! about dask's insides, never does: the error it ends with is what a user can act on.
//! The lines tasks write on the workers come through here too, prefixed with their
//! worker by the driver.

use std::io::{BufRead, Write};

/// Where a traceback's lines stand.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Text,
    /// Inside `Traceback (most recent call last):` up to its exception line.
    Traceback,
}

/// Filters Python's tracebacks out of a stream of lines, keeping each one's last line.
#[derive(Debug)]
pub(crate) struct Filter {
    state: State,
}

impl Filter {
    pub(crate) fn new() -> Filter {
        Filter { state: State::Text }
    }

    /// What to print for `line` (without its newline), if anything.
    pub(crate) fn line(&mut self, line: &str) -> Option<String> {
        let start = line.starts_with("Traceback (most recent call last):");
        match self.state {
            _ if start => {
                self.state = State::Traceback;
                None
            }
            // Python's note before a traceback it could not raise (at exit, in a
            // destructor): the traceback after it says it all.
            State::Text if line.starts_with("Exception ignored") => None,
            State::Text => Some(line.to_owned()),
            State::Traceback => {
                let inside = line.is_empty()
                    || line.starts_with([' ', '\t', '^', '~'])
                    || line.starts_with("During handling of the above exception")
                    || line.starts_with("The above exception was the direct cause");
                if inside {
                    return None;
                }
                self.state = State::Text;
                Some(format!("delayed: dask: {line}"))
            }
        }
    }
}

/// Copies `from` to `to` line by line through a [`Filter`] until `from` ends.
pub(crate) fn forward(from: impl std::io::Read, mut to: impl Write) {
    let mut from = std::io::BufReader::new(from);
    let mut filter = Filter::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        match from.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        if let Some(out) = filter.line(text.trim_end_matches(['\n', '\r'])) {
            // This program's stderr gone: nothing more can be shown.
            if writeln!(to, "{out}").and_then(|()| to.flush()).is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filtered(text: &str) -> String {
        let mut out = Vec::new();
        forward(text.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plain_lines_pass() {
        let text = "[worker tcp://127.0.0.1:1] hello\nwarning: slow\n";
        assert_eq!(filtered(text), text);
    }

    #[test]
    fn a_traceback_becomes_its_last_line() {
        let text = "before\n\
            Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n    f()\n    ^^^\n\
            \n\
            During handling of the above exception, another exception occurred:\n\n\
            Traceback (most recent call last):\n  File \"y.py\", line 2, in g\n\
            BrokenPipeError: [Errno 32] Broken pipe\n\
            after\n";
        assert_eq!(
            filtered(text),
            "before\ndelayed: dask: BrokenPipeError: [Errno 32] Broken pipe\nafter\n"
        );
    }

    #[test]
    fn exception_ignored_notes_go_with_their_traceback() {
        let text = "Exception ignored in: <_io.TextIOWrapper name='<stderr>'>\n\
            Traceback (most recent call last):\n  File \"z.py\", line 3\n\
            KeyboardInterrupt\n";
        assert_eq!(filtered(text), "delayed: dask: KeyboardInterrupt\n");
    }

    #[test]
    fn a_last_line_without_newline_is_kept() {
        assert_eq!(filtered("one\ntwo"), "one\ntwo\n");
    }
}
