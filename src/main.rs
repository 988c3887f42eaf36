//! The `lnlab` binary: a thin shell over the library's command line.

fn main() {
    // Die quietly when the reader of our output goes away (`lnlab ... | head`), as Unix
    // tools do, instead of panicking on a broken pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // The policy network is small (a hidden layer of 32): splitting its matrix products
    // over threads costs more in hand-offs than it saves. One thread for dfdx's kernels
    // trains 15-20% faster, with the same weights; `RAYON_NUM_THREADS` still overrides.
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // Fails only if the pool already exists, and then that one is used.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build_global();
    }
    std::process::exit(lnlab::run_cli());
}
