//! Reading and damaging plugin files, for the tests of findings F4 and F6 (docs/fuzzing.md),
//! shared by the tests of `leverage-plugin-host` and of the `leverage` command (included with
//! `#[path]`).

use std::path::{Path, PathBuf};

/// The minimized input of finding F6: a plugin's ELF header and program headers, 680 bytes,
/// whose dynamic section lies outside every loadable segment. `dlopen` crashed on it (SIGSEGV
/// in glibc's `elf_dynamic_do_Rela`) before the checks of the file's structure refused it.
pub fn f6_input() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions/plugin_header/F6-dynamic-outside-load")
}

/// `p_type` of a loadable segment.
pub const PT_LOAD: u32 = 1;
/// `p_type` of the dynamic section.
pub const PT_DYNAMIC: u32 = 2;

/// One program header of a file read by [`program_headers`].
pub struct ProgramHeader {
    pub kind: u32,
    pub offset: usize,
    pub filesz: usize,
}

fn u64_at(file: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(file[at..at + 8].try_into().expect("8 bytes"))
}

/// The program headers of `file`, a 64-bit little-endian ELF file whose header table is whole,
/// and where that table ends.
pub fn program_headers(file: &[u8]) -> (Vec<ProgramHeader>, usize) {
    assert_eq!(&file[..6], b"\x7fELF\x02\x01", "a 64-bit little-endian ELF");
    let u16_at = |at: usize| u16::from_le_bytes([file[at], file[at + 1]]);
    let phoff = u64_at(file, 0x20) as usize;
    let (phentsize, phnum) = (usize::from(u16_at(0x36)), usize::from(u16_at(0x38)));
    let headers = (0..phnum)
        .map(|i| phoff + i * phentsize)
        .map(|at| ProgramHeader {
            kind: u32::from_le_bytes(file[at..at + 4].try_into().expect("4 bytes")),
            offset: u64_at(file, at + 8) as usize,
            filesz: u64_at(file, at + 0x20) as usize,
        })
        .collect();
    (headers, phoff + phnum * phentsize)
}

/// `library` (a 64-bit little-endian ELF shared library) with the address of its relocation
/// table (`DT_RELA`) moved far past everything it maps. Its structure is intact — every segment
/// and the dynamic section lie where they should — so the checks of the file's structure let it
/// through, and the dynamic loader, relocating through that table, faults (SIGSEGV) inside
/// `dlopen`: a damaged file that only loading it can tell, which the pre-load check in a worker
/// process is for.
pub fn crashes_the_loader(library: &[u8]) -> Vec<u8> {
    const DT_RELA: u64 = 7;
    let (headers, _) = program_headers(library);
    let dynamic = headers
        .iter()
        .find(|header| header.kind == PT_DYNAMIC)
        .expect("a dynamic section");
    let rela = (dynamic.offset..dynamic.offset + dynamic.filesz)
        .step_by(16)
        .find(|&entry| u64_at(library, entry) == DT_RELA)
        .expect("a DT_RELA entry");
    let mut damaged = library.to_vec();
    damaged[rela + 8..rela + 16].copy_from_slice(&0x4000_0000_0000_u64.to_le_bytes());
    damaged
}
