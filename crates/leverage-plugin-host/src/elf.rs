//! Checks of an ELF file's structure made before any dynamic loader sees it.
//!
//! glibc's loader trusts the program headers of a file it maps: where each loadable segment
//! lies in the file, and where the dynamic section it reads and relocates through lies in
//! memory. A file that lies about either faults inside the loader, which kills the whole process
//! (findings F4 and F6 of docs/fuzzing.md). These checks refuse the ways to crash that are known;
//! the pre-load check in a worker process (`sandbox::preload`) contains the rest.

/// `p_type` of a loadable segment.
const PT_LOAD: u32 = 1;
/// `p_type` of the dynamic section.
const PT_DYNAMIC: u32 = 2;
/// Size of one `Elf64_Phdr`.
const PHDR_SIZE: u16 = 56;
/// Size of one `Elf64_Dyn` entry: a tag and a value, 8 bytes each.
const DYN_ENTRY_SIZE: usize = 16;

/// The fields of a program header that the loader's mapping depends on.
#[derive(Clone, Copy, Debug)]
struct ProgramHeader {
    /// Its index in the program header table, for messages.
    index: usize,
    kind: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
}

/// A half-open range `start..end`.
#[derive(Clone, Copy, Debug)]
struct Span {
    start: u64,
    end: u64,
}

impl Span {
    /// `start..start + len`, or `None` when the end overflows.
    fn new(start: u64, len: u64) -> Option<Span> {
        Some(Span {
            start,
            end: start.checked_add(len)?,
        })
    }

    fn within(self, outer: Span) -> bool {
        outer.start <= self.start && self.end <= outer.end
    }
}

impl ProgramHeader {
    /// The bytes of the file the segment is made of.
    fn in_file(&self) -> Option<Span> {
        Span::new(self.offset, self.filesz)
    }

    /// The addresses a loadable segment occupies once mapped.
    fn mapped(&self) -> Option<Span> {
        Span::new(self.vaddr, self.memsz)
    }

    /// The addresses the loader reads for this segment: its file bytes and its memory size,
    /// whichever is larger.
    fn read(&self) -> Option<Span> {
        Span::new(self.vaddr, self.filesz.max(self.memsz))
    }

    /// Whether this segment lies within the loadable segment `load` in the file and in memory,
    /// at the same place in both: the bytes read from the file are then the bytes the loader
    /// finds at its address.
    fn lies_within(&self, load: &ProgramHeader) -> bool {
        let (Some(file), Some(read), Some(load_file), Some(load_mapped)) =
            (self.in_file(), self.read(), load.in_file(), load.mapped())
        else {
            return false;
        };
        // Both subtractions are in range once both `within` hold.
        file.within(load_file)
            && read.within(load_mapped)
            && self.offset - load.offset == self.vaddr - load.vaddr
    }
}

/// Checks that the loader can map a 64-bit little-endian ELF file without faulting on its
/// structure:
///
/// * the program header table and every loadable segment (`PT_LOAD`) lie within the file
///   (finding F4): glibc maps a segment even when the file ends inside it, and the first touch
///   of a missing page raises SIGBUS — a plugin file still being written when a reload reads it
///   would take the server down;
/// * every dynamic section (`PT_DYNAMIC`) lies within one loadable segment, in the file
///   (`p_offset`, `p_filesz`) and in memory (`p_vaddr`, `p_memsz`), at the same place in both,
///   and holds the `DT_NULL` entry that ends it (finding F6): the loader reads the dynamic
///   section at its address, up to `DT_NULL`, and relocates through what it finds there; one
///   outside the mapped segments made it read and write through memory that is not there
///   (SIGSEGV).
///
/// All offset arithmetic is checked. Other files (not ELF, 32-bit, big-endian) are left to
/// `dlopen`, which refuses what is not a library for this machine. On refusal, says what is
/// wrong and where.
pub(crate) fn check_elf_extent(bytes: &[u8]) -> Result<(), String> {
    if bytes.get(..6) != Some(b"\x7fELF\x02\x01".as_slice()) {
        return Ok(());
    }
    let len = bytes.len() as u64;
    let truncated = |what: &str, end: u64| {
        format!(
            "{what} ends at byte {end} but the file has {len} bytes: the file is truncated or \
             damaged (was it still being written? deploy plugins by writing them elsewhere and \
             renaming them into place)"
        )
    };
    let field = |at: u64, n: usize| {
        let at = usize::try_from(at).ok()?;
        bytes.get(at..at.checked_add(n)?)
    };
    let u16_at = |at: u64| field(at, 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |at: u64| field(at, 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let u64_at = |at: u64| {
        field(at, 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
    };

    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        return Err(truncated("the ELF header", 64));
    };
    let table = u64::from(phentsize)
        .checked_mul(u64::from(phnum))
        .and_then(|size| Span::new(phoff, size));
    let table_end = table.map_or(u64::MAX, |table| table.end);
    if table_end > len || phentsize < PHDR_SIZE {
        return Err(truncated("the program header table", table_end));
    }
    let mut headers = Vec::with_capacity(usize::from(phnum));
    for index in 0..usize::from(phnum) {
        // Within the table, which lies within the file: no overflow.
        let at = phoff + index as u64 * u64::from(phentsize);
        let (Some(kind), Some(offset), Some(vaddr), Some(filesz), Some(memsz)) = (
            u32_at(at),
            u64_at(at + 8),
            u64_at(at + 16),
            u64_at(at + 32),
            u64_at(at + 40),
        ) else {
            return Err(truncated("the program header table", table_end));
        };
        headers.push(ProgramHeader {
            index,
            kind,
            offset,
            vaddr,
            filesz,
            memsz,
        });
    }

    let loads: Vec<ProgramHeader> = headers
        .iter()
        .filter(|header| header.kind == PT_LOAD)
        .copied()
        .collect();
    for load in &loads {
        let end = load.in_file().map_or(u64::MAX, |span| span.end);
        if end > len {
            return Err(truncated(&format!("loadable segment {}", load.index), end));
        }
    }
    for dynamic in headers.iter().filter(|header| header.kind == PT_DYNAMIC) {
        check_dynamic(bytes, dynamic, &loads)?;
    }
    Ok(())
}

/// Checks one `PT_DYNAMIC` header against the loadable segments, which lie within `bytes`.
fn check_dynamic(
    bytes: &[u8],
    dynamic: &ProgramHeader,
    loads: &[ProgramHeader],
) -> Result<(), String> {
    let index = dynamic.index;
    if !loads.iter().any(|load| dynamic.lies_within(load)) {
        let span = |span: Option<Span>| {
            span.map_or_else(
                || "past the end of the address space".to_owned(),
                |s| format!("{:#x}..{:#x}", s.start, s.end),
            )
        };
        return Err(format!(
            "the dynamic section (program header {index}: file bytes {}, addresses {}) does not \
             lie within one loadable segment, at the same place in the file and in memory: the \
             dynamic loader would read and relocate through memory that is not there",
            span(dynamic.in_file()),
            span(dynamic.read()),
        ));
    }
    // Within a loadable segment, which lies within the file.
    let entries = dynamic
        .in_file()
        .and_then(|span| {
            bytes.get(usize::try_from(span.start).ok()?..usize::try_from(span.end).ok()?)
        })
        .unwrap_or_default();
    let ends = entries
        .chunks_exact(DYN_ENTRY_SIZE)
        .any(|entry| entry[..8] == [0; 8]);
    if !ends {
        return Err(format!(
            "the dynamic section (program header {index}, {} bytes) has no DT_NULL entry to end \
             it: the dynamic loader would read past it",
            dynamic.filesz
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_elf_extent;

    fn u64_at(bytes: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
    }

    fn put_u64(bytes: &mut [u8], at: usize, value: u64) {
        bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
    }

    /// Where the program headers of `kind` start in `bytes` (a 64-bit ELF file).
    fn headers_of(bytes: &[u8], kind: u32) -> Vec<usize> {
        let phoff = u64_at(bytes, 0x20) as usize;
        let phentsize = usize::from(u16::from_le_bytes([bytes[0x36], bytes[0x37]]));
        let phnum = usize::from(u16::from_le_bytes([bytes[0x38], bytes[0x39]]));
        (0..phnum)
            .map(|i| phoff + i * phentsize)
            .filter(|&at| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4")) == kind)
            .collect()
    }

    fn this_binary() -> Vec<u8> {
        std::fs::read(std::env::current_exe().expect("test binary")).expect("readable")
    }

    #[test]
    fn truncated_elf_files_are_refused_before_the_loader_maps_them() {
        let me = this_binary();
        assert_eq!(check_elf_extent(&me), Ok(()));
        for cut in [10, 64, 200, 680, me.len() / 2, me.len() - 1] {
            let cut = cut.min(me.len() - 1);
            let result = check_elf_extent(&me[..cut]);
            // A cut past every loadable segment (in trailing sections) is harmless to mapping.
            if cut >= me.len() / 2 && result.is_ok() {
                continue;
            }
            assert!(result.unwrap_err().contains("truncated"), "cut at {cut}");
        }
        assert_eq!(check_elf_extent(b"not an elf file"), Ok(()));
    }

    #[test]
    fn real_libraries_pass() {
        const LIMIT: usize = 300;
        let mut checked = 0;
        let mut files = vec![std::env::current_exe().expect("test binary")];
        for dir in ["/usr/lib/x86_64-linux-gnu", "/usr/lib64"] {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            files.extend(
                entries
                    .flatten()
                    .filter(|entry| entry.metadata().is_ok_and(|m| m.len() < 1 << 24))
                    .map(|entry| entry.path())
                    .filter(|path| path.to_string_lossy().contains(".so"))
                    .take(LIMIT),
            );
        }
        for path in files {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            assert_eq!(check_elf_extent(&bytes), Ok(()), "{}", path.display());
            checked += 1;
        }
        assert!(checked >= 1);
    }

    #[test]
    fn a_dynamic_section_outside_every_loadable_segment_is_refused() {
        let original = this_binary();
        let dynamic = headers_of(&original, super::PT_DYNAMIC)[0];
        let (offset, vaddr, size) = (
            u64_at(&original, dynamic + 8),
            u64_at(&original, dynamic + 16),
            u64_at(&original, dynamic + 32),
        );
        let past = original.len() as u64 + 0x1000;
        // (field offset in the header, new value): moved in the file, in memory, both, or
        // overflowing.
        let cases: [&[(usize, u64)]; 7] = [
            &[(8, past)],
            &[(16, vaddr + 0x1000_0000)],
            &[(8, past), (16, past)],
            &[(8, offset + 8)],
            &[(32, u64::MAX)],
            &[(40, u64::MAX - vaddr + 1)],
            &[(8, u64::MAX - 4), (16, u64::MAX - 4)],
        ];
        for (case, changes) in cases.iter().enumerate() {
            let mut bytes = original.clone();
            for (field, value) in *changes {
                put_u64(&mut bytes, dynamic + field, *value);
            }
            let error = check_elf_extent(&bytes).expect_err(&format!("case {case}"));
            assert!(
                error.contains("dynamic section") && error.contains("loadable segment"),
                "case {case}: {error}"
            );
        }
        // Without its DT_NULL end (every tag made non-zero).
        let mut bytes = original.clone();
        for entry in (offset..offset + size).step_by(16) {
            put_u64(&mut bytes, entry as usize, 1);
        }
        let error = check_elf_extent(&bytes).expect_err("no DT_NULL");
        assert!(error.contains("DT_NULL"), "{error}");
    }

    #[test]
    fn the_fuzzing_input_of_finding_f6_is_refused() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/regressions/plugin_header/F6-dynamic-outside-load");
        let bytes = std::fs::read(&path).expect("F6 input");
        let error = check_elf_extent(&bytes).expect_err("F6 refused");
        assert!(
            error.contains("the dynamic section (program header 6"),
            "{error}"
        );
    }
}
