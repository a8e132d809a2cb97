import Foundation
import VisageCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A minimal blocking reader of an MJPEG-over-HTTP stream (ours or any camera's): connects,
/// sends GET, and returns the first `count` JPEG parts. Used to check `--stream` end to end.
public enum MJPEGClient {
    public struct Response: Sendable {
        public var status: Int
        public var headers: String
        public var jpegs: [Data]
    }

    /// GET `path` from host:port; for multipart responses collects `count` parts, otherwise the body.
    public static func fetch(host: String = "127.0.0.1", port: Int, path: String, count: Int = 1, timeout: Double = 10) throws -> Response {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw VisageError.invalidArgument("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw VisageError.invalidArgument("connect to \(host):\(port): \(String(cString: strerror(errno)))") }
        let request = "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }

        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        var response = Response(status: 0, headers: "", jpegs: [])
        let deadline = Date().addingTimeInterval(timeout)
        var bodyStart: Int?
        while Date() < deadline {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            data.append(buffer, count: n)
            if bodyStart == nil, let end = data.range(of: Data("\r\n\r\n".utf8)) {
                response.headers = String(decoding: data[..<end.lowerBound], as: UTF8.self)
                response.status = Int(response.headers.split(separator: " ").dropFirst().first ?? "") ?? 0
                bodyStart = end.upperBound
            }
            if let start = bodyStart, response.headers.lowercased().contains("multipart") {
                response.jpegs = parts(in: data[start...])
                if response.jpegs.count >= count { response.jpegs = Array(response.jpegs.prefix(count)); return response }
            }
        }
        if let start = bodyStart, !response.headers.lowercased().contains("multipart") {
            response.jpegs = [Data(data[start...])]
        }
        return response
    }

    /// Complete JPEG parts (Content-Length framed) in a multipart body.
    static func parts(in body: Data) -> [Data] {
        var result: [Data] = []
        var cursor = body.startIndex
        while let header = body.range(of: Data("Content-Length: ".utf8), in: cursor..<body.endIndex),
              let lineEnd = body.range(of: Data("\r\n\r\n".utf8), in: header.upperBound..<body.endIndex) {
            guard let lengthEnd = body.range(of: Data("\r\n".utf8), in: header.upperBound..<body.endIndex),
                  let length = Int(String(decoding: body[header.upperBound..<lengthEnd.lowerBound], as: UTF8.self)) else { break }
            let start = lineEnd.upperBound
            guard body.distance(from: start, to: body.endIndex) >= length else { break }
            let end = body.index(start, offsetBy: length)
            result.append(Data(body[start..<end]))
            cursor = end
        }
        return result
    }
}
