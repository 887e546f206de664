//! Bytes and numbers as text: hex, random ids, sizes for people.

/// Lowercase hex of some bytes (digests, ids).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 32 random bytes as 64 hex digits, as docker's ids (getrandom(2); time and
/// pid hashed where it fails: unique enough for one host).
pub fn random_id() -> String {
    let mut bytes = [0u8; 32];
    // SAFETY: getrandom writes into the buffer we own, of its length.
    let n = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
    if n != bytes.len() as isize {
        let seed = format!("{}-{}", crate::timefmt::now_unix_ns(), std::process::id());
        use sha2::Digest;
        bytes.copy_from_slice(&sha2::Sha256::digest(seed.as_bytes()));
    }
    hex(&bytes)
}

/// docker's `HumanSizeWithPrecision(n, 3)`, the sizes of `images` and
/// `ps -s`: decimal units (`kB` is 1000 bytes), three significant digits,
/// no trailing zeros: `512B`, `4.26MB`, `12.3kB`, `100MB`.
pub fn docker_size(n: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    let before = if v < 1.0 {
        1
    } else {
        v.log10().floor() as usize + 1
    };
    let decimals = 3usize.saturating_sub(before);
    let mut text = format!("{v:.decimals$}");
    if text.contains('.') {
        text = text.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    text + UNITS[unit]
}

/// How [`human_bytes`] writes a size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeStyle {
    /// docker's `stats`: `512B`, `1.50MiB`.
    Docker,
    /// The lab's panels: `512 B`, `1.5 MiB`.
    Lab,
}

/// A size in bytes in binary units, the largest under which it is at least 1.
pub fn human_bytes(n: u64, style: SizeStyle) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    match (style, unit) {
        (SizeStyle::Docker, 0) => format!("{n}B"),
        (SizeStyle::Docker, _) => format!("{v:.2}{}", UNITS[unit]),
        (SizeStyle::Lab, 0) => format!("{n} B"),
        (SizeStyle::Lab, _) => format!("{v:.1} {}", UNITS[unit]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_both_styles() {
        assert_eq!(docker_size(0), "0B");
        assert_eq!(docker_size(512), "512B");
        assert_eq!(docker_size(4_261_100), "4.26MB");
        assert_eq!(docker_size(12_340), "12.3kB");
        assert_eq!(docker_size(100_000_000), "100MB");
        assert_eq!(docker_size(1_500), "1.5kB");
        assert_eq!(human_bytes(512, SizeStyle::Docker), "512B");
        assert_eq!(human_bytes(1536, SizeStyle::Docker), "1.50KiB");
        assert_eq!(human_bytes(200 << 20, SizeStyle::Docker), "200.00MiB");
        assert_eq!(human_bytes(512, SizeStyle::Lab), "512 B");
        assert_eq!(human_bytes(1536, SizeStyle::Lab), "1.5 KiB");
        assert_eq!(human_bytes(3 << 40, SizeStyle::Lab), "3.0 TiB");
    }

    #[test]
    fn ids_are_64_hex_digits_and_differ() {
        let (a, b) = (random_id(), random_id());
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
    }
}
