#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory mapping of a whole file. The bytes stay valid while the object lives.
// Sendable by hand: a read-only mapping, immutable after `init` and unmapped in `deinit`.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let base: UnsafeRawPointer
    public let count: Int

    /// Maps `path` read-only. Throws `GGUFError.cannotOpen` with the system's reason.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw GGUFError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw GGUFError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw GGUFError.cannotOpen(path: path, reason: "not a regular file") }
        let size = Int(info.st_size)
        guard size > 0 else { throw GGUFError.truncated(what: "header", offset: 0) }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw GGUFError.cannotOpen(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(mapped)
        count = size
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), count) }

    /// Reads the whole mapping into memory now rather than at the first forward pass, reporting
    /// `progress(bytesRead, count)` after each 32 MB, so a big model's disk reads can be shown.
    public func readIn(progress: (Int, Int) -> Void) {
        let chunk = 32 << 20, page = max(4096, Int(sysconf(Int32(_SC_PAGESIZE))))
        var offset = 0
        var sum: UInt8 = 0
        while offset < count {
            let end = min(count, offset + chunk)
            _ = madvise(UnsafeMutableRawPointer(mutating: base + offset), end - offset, MADV_WILLNEED)
            for p in stride(from: offset, to: end, by: page) { sum &+= base.load(fromByteOffset: p, as: UInt8.self) }
            offset = end
            progress(offset, count)
        }
        withExtendedLifetime(sum) {}
    }

    /// Asks the kernel to read the mapping ahead (weights are touched soon after loading).
    public func adviseWillNeed() {
        _ = madvise(UnsafeMutableRawPointer(mutating: base), count, MADV_WILLNEED)
    }
}
