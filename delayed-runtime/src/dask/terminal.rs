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
                if !is_exception_line(line) {
                    // Another process's line (several write into one pipe), or a task's
                    // forwarded `[worker …]` line: it passes, the traceback goes on.
                    return Some(line.to_owned());
                }
                self.state = State::Text;
                Some(format!("delayed: dask: {line}"))
            }
        }
    }
}

/// Whether `line` ends a traceback: `Name` or `module.Name`, then `:` and the message or
/// nothing (`KeyboardInterrupt`, `ValueError: bad`, `distributed.comm.CommClosedError`).
fn is_exception_line(line: &str) -> bool {
    let name = line.split_once(':').map_or(line, |(name, _)| name);
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// Copies `from` to `to` line by line through a [`Filter`] until `from` ends. Once `to`
/// fails (this program's stderr closed), lines are still read and dropped: the writers
/// must never block on a full pipe.
pub(crate) fn forward(from: impl std::io::Read, mut to: impl Write) {
    let mut from = std::io::BufReader::new(from);
    let mut filter = Filter::new();
    let mut line = Vec::new();
    let mut shown = true;
    loop {
        line.clear();
        match from.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        if let (Some(mut out), true) = (filter.line(text.trim_end_matches(['\n', '\r'])), shown) {
            out.push('\n');
            // One write per line, so lines of other threads never cut into it.
            shown = to
                .write_all(out.as_bytes())
                .and_then(|()| to.flush())
                .is_ok();
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
    fn other_lines_inside_a_traceback_pass_and_it_goes_on() {
        let text = "Traceback (most recent call last):\n  File \"a.py\", line 1\n\
            [worker tcp://127.0.0.1:1] task says hi\n\
            distributed.worker - WARNING - slow\n  File \"b.py\", line 2\n\
            distributed.comm.core.CommClosedError: in <TCP (closed)>\n";
        assert_eq!(
            filtered(text),
            "[worker tcp://127.0.0.1:1] task says hi\n\
             distributed.worker - WARNING - slow\n\
             delayed: dask: distributed.comm.core.CommClosedError: in <TCP (closed)>\n"
        );
    }

    #[test]
    fn a_closed_terminal_does_not_stop_the_reading() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        // A megabyte of lines: all read (the writer would block on a full pipe otherwise).
        let text = "a line of output\n".repeat(1 << 16);
        let mut from = std::io::Cursor::new(text.as_bytes());
        forward(&mut from, Closed);
        assert_eq!(from.position() as usize, text.len());
    }

    #[test]
    fn a_last_line_without_newline_is_kept() {
        assert_eq!(filtered("one\ntwo"), "one\ntwo\n");
    }
}
