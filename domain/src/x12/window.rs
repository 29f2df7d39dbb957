//! Where two delimiters stand in the next 64 bytes of a file, as two bit masks: the one pass
//! over a segment that finds both where it ends and where each of its elements ends. A
//! segment of an 835 or 837 is 20 to 60 bytes long, so one window holds most of them whole.

/// Bytes one window covers: one bit each in a `u64`.
pub(super) const WIDTH: usize = 64;

/// Bit `i` of the first mask is set when `input[at + i] == a`, of the second when it is `b`,
/// for the bytes of `input` from `at` (none past its end).
#[inline]
pub(super) fn masks(input: &[u8], at: usize, a: u8, b: u8) -> (u64, u64) {
    match input.get(at..at + WIDTH) {
        Some(window) => masks_of(window.try_into().expect("WIDTH bytes"), a, b),
        None => {
            // The file's last bytes, padded with a letter: no delimiter is a letter.
            let mut window = [b'A'; WIDTH];
            let rest = input.get(at..).unwrap_or_default();
            window[..rest.len()].copy_from_slice(rest);
            masks_of(&window, a, b)
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn masks_of(window: &[u8; WIDTH], a: u8, b: u8) -> (u64, u64) {
    use core::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8};
    let (mut ma, mut mb) = (0u64, 0u64);
    // SAFETY: SSE2 is part of every x86_64 CPU (the target's baseline), and each load reads
    // the 16 bytes of a 16-byte chunk of `window`; an unaligned load is what `loadu` is for.
    unsafe {
        let (va, vb) = (_mm_set1_epi8(a as i8), _mm_set1_epi8(b as i8));
        for (k, chunk) in window.chunks_exact(16).enumerate() {
            let v = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
            ma |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, va)) as u16) << (16 * k);
            mb |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, vb)) as u16) << (16 * k);
        }
    }
    (ma, mb)
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn masks_of(window: &[u8; WIDTH], a: u8, b: u8) -> (u64, u64) {
    window
        .iter()
        .enumerate()
        .fold((0, 0), |(ma, mb), (i, &c)| (ma | u64::from(c == a) << i, mb | u64::from(c == b) << i))
}

/// The bits below `n` (all of them from 64).
#[inline]
pub(super) fn below(n: usize) -> u64 {
    if n >= WIDTH { u64::MAX } else { (1u64 << n) - 1 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn plain(input: &[u8], at: usize, c: u8) -> u64 {
        input.iter().skip(at).take(WIDTH).enumerate().filter(|&(_, &x)| x == c).fold(0, |m, (i, _)| m | 1 << i)
    }

    proptest! {
        #[test]
        fn masks_agree_with_a_plain_loop(input in prop::collection::vec(prop::sample::select(b"*~:AB\n".to_vec()), 0..200), at in 0usize..210) {
            let (a, b) = masks(&input, at, b'*', b'~');
            prop_assert_eq!(a, plain(&input, at, b'*'));
            prop_assert_eq!(b, plain(&input, at, b'~'));
        }
    }
}
