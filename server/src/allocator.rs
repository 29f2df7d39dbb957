//! How the process's allocator holds memory: no transparent huge pages, and freed memory
//! given back a tenth of a second after it is freed rather than mimalloc's second.
//!
//! On huge pages:
//! mimalloc asks for huge pages (2 MiB) on the memory it maps. A 20,000-claim remittance
//! takes a hundred megabytes or so of short-lived buffers (the parsed model, the rows, the
//! statements' arrays), touched sparsely: the first touch of each huge page has the kernel
//! zero all 2 MiB of it, and freeing part of one splits it again, so the kernel's zeroing
//! dominated a large file's time; what it cost and what turning it off saved are in
//! `docs/benchmarks.md`.

/// Turns transparent huge pages off for this process (Linux), unless `MIMALLOC_ALLOW_THP`
/// in the environment asks for mimalloc's own choice. Returns whether they are off.
pub fn no_huge_pages() -> bool {
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
        return false;
    }
    disable()
}

/// How long mimalloc keeps freed memory before giving it back, in milliseconds.
///
/// Its default (1,000 ms) let one 10,000-claim file's parsed model and rows, freed, sit beside
/// the next file's: the SQLite server's peak ran to 240–275 MiB over three files a second
/// apart. Given back after 100 ms it was 177–181 MiB, in the same time (`docs/benchmarks.md`,
/// issue #18). Files arriving faster than that still reuse what the last one freed.
pub const PURGE_DELAY_MS: std::ffi::c_long = 100;

/// `mi_option_purge_delay` in mimalloc's `mi_option_e` (v3; the Rust binding does not name it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets mimalloc's purge delay to `PURGE_DELAY_MS`, unless `MIMALLOC_PURGE_DELAY` in the
/// environment already chose one. Returns the delay set, if any.
pub fn purge_sooner() -> Option<std::ffi::c_long> {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return None;
    }
    // SAFETY: sets one of mimalloc's option values; the option is read as memory is freed.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
    Some(PURGE_DELAY_MS)
}

#[cfg(target_os = "linux")]
fn disable() -> bool {
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no memory of ours.
    unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0 }
}

#[cfg(not(target_os = "linux"))]
fn disable() -> bool {
    false
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn huge_pages_end_up_off_for_the_process() {
        assert!(super::disable());
        // SAFETY: PR_GET_THP_DISABLE reads the process's flag.
        let flag = unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) };
        assert_eq!(flag, 1);
    }

    #[test]
    fn freed_memory_goes_back_sooner_than_mimallocs_default() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: reads one of mimalloc's option values.
        let get = || unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        // mimalloc's own default: the option index names the purge delay.
        assert_eq!(get(), 1_000);
        assert_eq!(super::purge_sooner(), Some(super::PURGE_DELAY_MS));
        assert_eq!(get(), super::PURGE_DELAY_MS);
    }
}
