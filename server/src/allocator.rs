//! Keeps the kernel from backing this process's memory with transparent huge pages.
//!
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
}
