import FuzzSupport
import SpacerCore
import SpacerELF

/// libFuzzer entry point: the input is one linked ELF executable (program headers above all).
///
/// Asserts: parsing either succeeds or throws a data error naming the input and a byte offset
/// inside it; the mapped span is counted without trapping (or refused as a data error beyond
/// 4 GiB); on small images, `PageMeasure.measure` agrees with a naive reference that assembles
/// every page by the documented rule (program-header order, a later segment's file bytes then
/// zeros replacing earlier bytes), counts and frames are consistent, and measuring the image
/// twice doubles every page without adding a frame.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMeasure(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    let elf: ELFExecutable
    do { elf = try ELFExecutable(bytes: bytes, file: "fuzz.elf") } catch {
        FuzzCheck.inputError(error, file: "fuzz.elf", byteCount: bytes.count)
        return 0
    }
    for s in elf.loadSegments {
        guard s.offset >= 0, s.fileSize >= 0, s.offset + s.fileSize <= bytes.count, UInt64(s.fileSize) <= s.memSize,
              s.vaddr <= ELFExecutable.maxLoadEnd - s.memSize else { fatalError("accepted segment breaks the documented checks: \(s)") }
    }
    for ps in [4096, 1 << 16, 1 << 21, 1 << 30] {
        do { _ = try PageMeasure.mappedPages(elf, pageSize: ps) } catch {
            FuzzCheck.inputError(error, file: "fuzz.elf")
        }
    }
    // Measure only small images (the span is hashed byte by byte).
    guard let pages = try? PageMeasure.mappedPages(elf, pageSize: 4096), pages <= 256 else { return 0 }
    let r: PageMeasure.Result, twice: PageMeasure.Result
    do {
        r = try PageMeasure.measure([elf], maxPageSharing: 1 << 20)
        twice = try PageMeasure.measure([elf, elf], maxPageSharing: 1 << 20)
    } catch { fatalError("measure failed on an accepted small image: \(error)") }
    guard r.all.totalPages == Int(pages), r.pagesPerImage == [Int(pages)],
          r.readOnly.totalPages + r.writable.totalPages == r.all.totalPages,
          r.all.frames <= r.all.totalPages, r.all.zeroPages <= r.all.totalPages,
          r.all.frames == r.readOnly.frames + r.writable.frames else { fatalError("inconsistent counts: \(r)") }
    guard twice.all.totalPages == 2 * r.all.totalPages, twice.all.frames == r.all.frames,
          twice.all.pagesSharing == twice.all.totalPages else { fatalError("measuring twice: \(r) vs \(twice)") }
    // The naive reference (byte by byte: on the smallest images only, so that the run stays fast).
    guard pages <= 32 else { return 0 }
    let ps: UInt64 = 4096
    var content: [UInt64: [UInt8]] = [:], writable: [UInt64: Bool] = [:]
    for s in elf.loadSegments where s.memSize > 0 {
        for n in (s.vaddr / ps)...((s.vaddr + s.memSize - 1) / ps) {
            var page = content[n] ?? [UInt8](repeating: 0, count: Int(ps))
            writable[n] = (writable[n] ?? false) || s.isWritable
            let lo = max(n * ps, s.vaddr), hi = min((n + 1) * ps, s.vaddr + s.memSize)
            for a in lo..<hi {
                let o = a - s.vaddr
                page[Int(a - n * ps)] = o < UInt64(s.fileSize) ? bytes[s.offset + Int(o)] : 0
            }
            content[n] = page
        }
    }
    var distinct: Set<[UInt8]> = [], distinctW: Set<[UInt8]> = []
    var zero = 0
    for (n, page) in content {
        if page.allSatisfy({ $0 == 0 }) { zero += 1 }
        if writable[n]! { distinctW.insert(page) } else { distinct.insert(page) }
    }
    guard content.count == r.all.totalPages, distinct.count + distinctW.count == r.all.frames, zero == r.all.zeroPages,
          writable.values.filter({ $0 }).count == r.writable.totalPages else {
        fatalError("reference: \(content.count) pages, \(distinct.count)+\(distinctW.count) frames, \(zero) zero; measure: \(r)")
    }
    return 0
}
