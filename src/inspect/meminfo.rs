//! /proc/meminfo: the machine's memory, as `free` reports it.
//!
//! One `Key: value kB` line per figure. `MemTotal` is the RAM the kernel can
//! use; docker's `stats` shows it as the limit of a container that has none.
//! Read by procfs-core, which gives every figure in bytes.

use std::path::Path;

use procfs_core::{FromRead, Meminfo};

use super::{ParseError, ReadError, read_parsed};

/// Parses /proc/meminfo; the total RAM in bytes.
pub fn parse_mem_total(text: &str) -> Result<u64, ParseError> {
    if !text.lines().any(|l| l.starts_with("MemTotal:")) {
        return Err(ParseError::missing("MemTotal"));
    }
    Meminfo::from_read(text.as_bytes())
        .map(|m| m.mem_total)
        .map_err(ParseError::procfs)
}

/// The host's total RAM in bytes (/proc/meminfo's `MemTotal`).
pub fn read_mem_total() -> Result<u64, ReadError> {
    read_parsed(Path::new("/proc/meminfo"), parse_mem_total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_in_bytes() {
        let text = "MemTotal:        2014068 kB\nMemFree:          123456 kB\nMemAvailable:    1500000 kB\nBuffers:           10000 kB\nCached:           200000 kB\nSwapCached:            0 kB\nActive:           300000 kB\nInactive:         200000 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\nDirty:                 0 kB\nWriteback:             0 kB\nMapped:            50000 kB\nShmem:              1000 kB\nSlab:              40000 kB\nSReclaimable:      20000 kB\nSUnreclaim:        20000 kB\nKernelStack:        3000 kB\nPageTables:         5000 kB\nNFS_Unstable:          0 kB\nBounce:                0 kB\nWritebackTmp:          0 kB\nCommitLimit:     1000000 kB\nCommitted_AS:    2000000 kB\nVmallocTotal:   34359738367 kB\nVmallocUsed:       20000 kB\nVmallocChunk:          0 kB\nAnonPages:        100000 kB\nActive(anon):      50000 kB\nInactive(anon):    50000 kB\nActive(file):     250000 kB\nInactive(file):   150000 kB\nUnevictable:           0 kB\nMlocked:               0 kB\n";
        assert_eq!(parse_mem_total(text), Ok(2014068 * 1024));
        assert_eq!(
            parse_mem_total("MemFree: 1 kB\n"),
            Err(ParseError::missing("MemTotal"))
        );
    }

    #[test]
    fn this_host_has_memory() {
        assert!(read_mem_total().is_ok_and(|b| b > 0));
    }
}
