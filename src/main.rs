//! The `lnlab` binary: a thin shell over the library's command line.

fn main() {
    // Die quietly when the reader of our output goes away (`lnlab ... | head`), as Unix
    // tools do, instead of panicking on a broken pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    std::process::exit(lnlab::run_cli());
}
