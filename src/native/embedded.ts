/**
 * Where, in the compiled executable, Bun keeps the bytes of a shared object embedded in it:
 * what lets src/native/addon.ts copy the addon into a memfd inside the kernel (sendfile from
 * /proc/self/exe) instead of reading its megabytes into JavaScript first (measured on this
 * kind of machine: a copy through a Buffer, `readFileSync` of /$bunfs plus `writeSync`, ~1.9
 * ms; sendfile of the same 2.7 MB, ~0.7 ms).
 *
 * Bun (1.2+) puts its standalone module graph in the executable's ELF section `.bun`: the
 * files' bytes, then a table of (offset, length) pairs, u32 each, counted from the graph's
 * start a few bytes into the section. The ELF part is public; the graph's layout is Bun's own,
 * so the table only proposes candidates, and one is taken only if an ELF shared object starts
 * there whose own headers say it is exactly `size` bytes long (its section header table ends
 * it, as every linker lays it out). Where none is, the caller copies the bytes through
 * JavaScript as before: a Bun release that lays the graph out otherwise costs that
 * millisecond, never a wrong library.
 *
 * Reads go through the caller's `read` (addon.ts: pread through bun:ffi, since loading node:fs
 * would cost each call as much as the addon itself; test/unit/embedded.test.ts: node:fs).
 */

/** Reads `length` bytes at `position` (fewer at the end of the file). */
export type Reader = (length: number, position: number) => Buffer;

/** How much of the section's end is searched for the table, a small read first (the table is ~2 KiB for runts). */
const TABLE_WINDOWS = [8 * 1024, 256 * 1024];
/** Where the graph may start within the section (Bun 1.4: after a u64 length). */
const GRAPH_STARTS = [0, 8, 16];

interface ElfHeader {
  type: number;
  shoff: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
}

/** The header of a 64-bit little-endian ELF file (the only kind built here), if `b` starts one. */
function elfHeader(b: Buffer): ElfHeader | undefined {
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) return undefined;
  return {
    type: b.readUInt16LE(0x10),
    shoff: Number(b.readBigUInt64LE(0x28)),
    shentsize: b.readUInt16LE(0x3a),
    shnum: b.readUInt16LE(0x3c),
    shstrndx: b.readUInt16LE(0x3e),
  };
}

/** The file offset and size of the ELF section `name`. */
export function elfSection(read: Reader, name: string): { offset: number; size: number } | undefined {
  const eh = elfHeader(read(64, 0));
  if (!eh || eh.shentsize < 64 || eh.shnum === 0 || eh.shstrndx >= eh.shnum) return undefined;
  const sh = read(eh.shentsize * eh.shnum, eh.shoff);
  if (sh.length < eh.shentsize * eh.shnum) return undefined;
  const at = (i: number) => ({
    name: sh.readUInt32LE(i * eh.shentsize),
    offset: Number(sh.readBigUInt64LE(i * eh.shentsize + 0x18)),
    size: Number(sh.readBigUInt64LE(i * eh.shentsize + 0x20)),
  });
  const strtab = at(eh.shstrndx);
  const names = read(strtab.size, strtab.offset);
  const want = Buffer.from(`${name}\0`);
  for (let i = 0; i < eh.shnum; i++) {
    const s = at(i);
    if (names.subarray(s.name, s.name + want.length).equals(want)) return { offset: s.offset, size: s.size };
  }
  return undefined;
}

/** Whether a shared object of exactly `size` bytes starts at `offset`. */
function sharedObjectAt(read: Reader, offset: number, size: number): boolean {
  const eh = elfHeader(read(64, offset));
  const ET_DYN = 3;
  return !!eh && eh.type === ET_DYN && eh.shentsize >= 64 && eh.shoff + eh.shentsize * eh.shnum === size;
}

/**
 * The offset in the executable `read` reads of the shared object of `size` bytes that Bun
 * embedded in it; undefined where it cannot be found for certain.
 */
export function locateEmbedded(read: Reader, size: number): number | undefined {
  const section = elfSection(read, '.bun');
  if (!section || section.size < size) return undefined;
  const length = Buffer.alloc(4);
  length.writeUInt32LE(size);
  for (const want of TABLE_WINDOWS) {
    const window = Math.min(want, section.size);
    const end = read(window, section.offset + section.size - window);
    for (let i = end.indexOf(length, 4); i >= 4; i = end.indexOf(length, i + 1)) {
      const rel = end.readUInt32LE(i - 4);
      for (const start of GRAPH_STARTS) {
        const offset = section.offset + start + rel;
        if (offset + size <= section.offset + section.size && sharedObjectAt(read, offset, size)) return offset;
      }
    }
    if (window === section.size) break;
  }
  return undefined;
}
