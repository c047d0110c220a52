import CZlib
import Foundation
import SpacerCore

/// gzip through the system zlib (a well-kept library: the format is not this project's business).
public enum Gzip {
    /// Decompresses a gzip (or zlib) stream (`Inflater`, 64 KiB at a time).
    /// - Parameter limit: the most bytes the output may hold.
    /// - Throws: `SpacerError.data` naming `file` and the input byte offset when the stream is
    ///   corrupt or truncated, or when it would decompress to more than `limit` bytes.
    public static func decompress(_ data: Data, file: String, limit: Int = Int.max) throws -> Data {
        let inflater = try Inflater(data, file: file, limit: limit)
        var out = Data()
        var buffer = [UInt8](repeating: 0, count: Inflater.chunk)
        repeat {
            let produced = try buffer.withUnsafeMutableBufferPointer { try inflater.inflate(into: $0.baseAddress!, capacity: Inflater.chunk) }
            out.append(contentsOf: buffer[0..<produced])
        } while !inflater.finished
        return out
    }

    /// A gzip (or zlib) stream decompressed step by step into the caller's memory, so that a
    /// reader can parse each step as it comes (`TableReader`). Concatenated gzip members are read
    /// as one stream.
    public final class Inflater {
        /// The bytes one step may produce (and the most `inflate(into:capacity:)` should be given:
        /// the error a truncated stream gives depends on it).
        public static let chunk = 1 << 16
        private let stream: UnsafeMutablePointer<z_stream>
        private let input: UnsafeMutablePointer<UInt8>
        private let file: String
        private let limit: Int
        private var total = 0
        /// Whether the stream has ended (the last step returned its last bytes).
        public private(set) var finished = false

        /// Starts decompressing `data`, naming `file` in errors.
        /// - Parameter limit: the most bytes the output may hold.
        public init(_ data: Data, file: String, limit: Int = Int.max) throws {
            self.file = file; self.limit = limit
            stream = .allocate(capacity: 1)
            stream.initialize(to: z_stream())
            input = .allocate(capacity: max(data.count, 1))
            data.copyBytes(to: input, count: data.count)
            guard spacer_inflateInit2(stream, 15 + 32) == Z_OK else {
                stream.deallocate(); input.deallocate()
                throw SpacerError.internalInvariant("zlib inflateInit2 failed")
            }
            stream.pointee.next_in = input
            stream.pointee.avail_in = uInt(data.count)
        }

        deinit {
            inflateEnd(stream)
            stream.deallocate(); input.deallocate()
        }

        /// One step: up to `capacity` bytes (at most `chunk`) written at `out`.
        /// - Returns: the bytes written (0 is possible before the end).
        /// - Throws: `SpacerError.data` naming the file and the input byte offset when the stream
        ///   is corrupt or truncated, or when the output would exceed `limit`.
        public func inflate(into out: UnsafeMutablePointer<UInt8>, capacity: Int) throws -> Int {
            precondition(!finished, "Inflater.inflate after the end of the stream")
            stream.pointee.next_out = out
            stream.pointee.avail_out = uInt(capacity)
            var status = CZlib.inflate(stream, Z_NO_FLUSH)
            let produced = capacity - Int(stream.pointee.avail_out)
            guard produced <= limit - total else {
                throw SpacerError.data(file: file, location: "byte \(Int(stream.pointee.total_in))",
                                       expected: "a gzip stream of at most \(limit) bytes decompressed", found: "more")
            }
            total += produced
            if status == Z_STREAM_END && stream.pointee.avail_in > 0 {
                // Concatenated gzip members: start the next one.
                inflateReset(stream)
                status = Z_OK
            }
            if status != Z_OK && status != Z_STREAM_END {
                throw SpacerError.data(file: file, location: "byte \(Int(stream.pointee.total_in))", expected: "a valid gzip stream", found: "zlib error \(status)")
            }
            if status == Z_OK && stream.pointee.avail_in == 0 && produced == 0 {
                throw SpacerError.data(file: file, location: "byte \(Int(stream.pointee.total_in))", expected: "the rest of the gzip stream", found: "end of file")
            }
            if status == Z_STREAM_END { finished = true }
            return produced
        }
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
