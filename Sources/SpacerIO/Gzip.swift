import CZlib
import Foundation
import SpacerCore

/// gzip through the system zlib (a well-kept library: the format is not this project's business).
public enum Gzip {
    /// Decompresses a gzip (or zlib) stream.
    /// - Parameter limit: the most bytes the output may hold.
    /// - Throws: `SpacerError.data` naming `file` and the input byte offset when the stream is
    ///   corrupt or truncated, or when it would decompress to more than `limit` bytes.
    public static func decompress(_ data: Data, file: String, limit: Int = Int.max) throws -> Data {
        var stream = z_stream()
        guard spacer_inflateInit2(&stream, 15 + 32) == Z_OK else {
            throw SpacerError.internalInvariant("zlib inflateInit2 failed")
        }
        defer { inflateEnd(&stream) }
        var out = Data()
        let chunk = 1 << 16
        var buffer = [UInt8](repeating: 0, count: chunk)
        var input = [UInt8](data)
        var status: Int32 = Z_OK
        try input.withUnsafeMutableBufferPointer { inp in
            stream.next_in = inp.baseAddress
            stream.avail_in = uInt(inp.count)
            repeat {
                status = buffer.withUnsafeMutableBufferPointer { b -> Int32 in
                    stream.next_out = b.baseAddress
                    stream.avail_out = uInt(chunk)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk - Int(stream.avail_out)
                guard produced <= limit - out.count else {
                    throw SpacerError.data(file: file, location: "byte \(Int(stream.total_in))",
                                           expected: "a gzip stream of at most \(limit) bytes decompressed", found: "more")
                }
                out.append(contentsOf: buffer[0..<produced])
                if status == Z_STREAM_END && stream.avail_in > 0 {
                    // Concatenated gzip members: start the next one.
                    inflateReset(&stream)
                    status = Z_OK
                }
                if status != Z_OK && status != Z_STREAM_END {
                    throw SpacerError.data(file: file, location: "byte \(Int(stream.total_in))", expected: "a valid gzip stream", found: "zlib error \(status)")
                }
                if status == Z_OK && stream.avail_in == 0 && produced == 0 {
                    throw SpacerError.data(file: file, location: "byte \(Int(stream.total_in))", expected: "the rest of the gzip stream", found: "end of file")
                }
            } while status != Z_STREAM_END
        }
        return out
    }

    /// Compresses `data` as one gzip member (deterministic: no file name, no time stamp).
    public static func compress(_ data: Data) throws -> Data {
        var stream = z_stream()
        guard spacer_deflateInit2(&stream, 9) == Z_OK else { throw SpacerError.internalInvariant("zlib deflateInit2 failed") }
        defer { deflateEnd(&stream) }
        var out = Data()
        let chunk = 1 << 16
        var buffer = [UInt8](repeating: 0, count: chunk)
        var input = [UInt8](data)
        input.withUnsafeMutableBufferPointer { inp in
            stream.next_in = inp.baseAddress
            stream.avail_in = uInt(inp.count)
            var status: Int32 = Z_OK
            repeat {
                status = buffer.withUnsafeMutableBufferPointer { b -> Int32 in
                    stream.next_out = b.baseAddress
                    stream.avail_out = uInt(chunk)
                    return deflate(&stream, Z_FINISH)
                }
                out.append(contentsOf: buffer[0..<(chunk - Int(stream.avail_out))])
            } while status == Z_OK
        }
        return out
    }
}
