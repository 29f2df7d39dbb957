//! How long the allocator keeps freed memory before handing it back to the system.
//!
//! A 20,000-claim remittance takes a hundred megabytes or so of short-lived buffers (the
//! parsed model, the rows, the statement's arrays). mimalloc returns freed pages to the
//! system after a second by default, so the next file faults every page in afresh, which
//! `perf` showed taking a third of the server's time on such a request. Keeping them for
//! `PURGE_DELAY` lets files that arrive within it reuse the pages; an idle server still
//! gives the memory back.

use std::time::Duration;

/// How long freed memory stays with the process.
pub const PURGE_DELAY: Duration = Duration::from_secs(30);

/// `mi_option_purge_delay` in mimalloc 3's option list (libmimalloc-sys names only the
/// options of version 2, where the list is ordered differently); the test below checks
/// that this index holds the purge delay's documented default.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets the purge delay, unless `MIMALLOC_PURGE_DELAY` in the environment already chose one.
pub fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    let millis = libc_long(PURGE_DELAY.as_millis());
    // SAFETY: sets one of mimalloc's global options; any value is valid for this one.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, millis) };
}

fn libc_long(n: u128) -> std::os::raw::c_long {
    std::os::raw::c_long::try_from(n).unwrap_or(std::os::raw::c_long::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_index_is_the_purge_delay() {
        // SAFETY: reads a global option.
        let before = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            // mimalloc 3's default purge delay is 1,000 ms; no other option defaults to it.
            assert_eq!(before, 1_000, "option {MI_OPTION_PURGE_DELAY} is not the purge delay");
        }
        keep_freed_memory();
        // SAFETY: as above.
        let after = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(after, 30_000);
        }
    }
}
