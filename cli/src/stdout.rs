//! Writes results to standard output. A reader that went away (`| head`) is not an error the
//! command can do anything about: the rest is dropped quietly and the run goes on to its end,
//! so that its containers are still removed and its exit code still says what held.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once a write failed: nothing more is written.
static GONE: AtomicBool = AtomicBool::new(false);

/// Writes `text` as it is.
pub fn print(text: &str) {
    if GONE.load(Ordering::Relaxed) {
        return;
    }
    let mut out = io::stdout().lock();
    if let Err(error) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        GONE.store(true, Ordering::Relaxed);
        // A closed pipe is the reader's choice; anything else (a full disk) is worth a word.
        if error.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("warning: cannot write to standard output ({error}): the rest is dropped");
        }
    }
}

/// Writes `text` and a newline.
pub fn println(text: &str) {
    print(&format!("{text}\n"));
}
