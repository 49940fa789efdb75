import Foundation

/// Writes files so that a crash at any moment leaves either the old version or the new one whole:
/// the bytes go to a temporary file in the same directory, are flushed to the disk (`fsync`), then
/// the temporary file is renamed over the target and the directory entry flushed too.
public enum AtomicFile {
    /// Replaces the file at `path` by `data`; the new file is readable by its owner only.
    ///
    /// - Throws: ``SessionError/io(path:operation:code:)`` naming the step that failed; the target
    ///   is then untouched and the temporary file removed.
    public static func write(_ data: Data, to path: String) throws(SessionError) {
        let directory = (path as NSString).deletingLastPathComponent
        var template = Array(((directory.isEmpty ? "." : directory) + "/." + (path as NSString).lastPathComponent + ".tmp-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw .io(path: path, operation: "create a temporary file for", code: errno) }
        let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        func fail(_ operation: String, _ code: Int32) -> SessionError {
            close(fd)
            unlink(temporary)
            return .io(path: path, operation: operation, code: code)
        }
        let written: Int32? = data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += n
            }
            return nil
        }
        if let code = written { throw fail("write", code) }
        guard fsync(fd) == 0 else { throw fail("flush", errno) }
        guard close(fd) == 0 else {
            let code = errno
            unlink(temporary)
            throw .io(path: path, operation: "close", code: code)
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw .io(path: path, operation: "replace", code: code)
        }
        let directoryFD = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
    }

    /// Creates `directory` and its parents, readable by the owner only, unless it exists.
    public static func createDirectory(_ directory: String) throws(SessionError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
            throw .io(path: directory, operation: "create the directory", code: underlying.map { Int32($0.code) } ?? EIO)
        }
    }
}
