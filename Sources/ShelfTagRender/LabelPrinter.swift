import Foundation

/// A label printer's raw socket (Zebra and compatibles: port 9100), from `tcp://HOST[:PORT]`.
public struct PrinterAddress: Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let port: UInt16

    public static let defaultPort: UInt16 = 9100

    /// - Throws: `PrinterError.badAddress` for anything but `tcp://HOST[:PORT]`.
    public init(_ text: String) throws(PrinterError) {
        guard let url = URL(string: text), url.scheme?.lowercased() == "tcp", let host = url.host, !host.isEmpty,
            url.path.isEmpty || url.path == "/", url.query == nil, url.user == nil
        else { throw .badAddress(text) }
        guard let port = url.port.map({ UInt16(exactly: $0) }) ?? Self.defaultPort else { throw .badAddress(text) }
        self.host = host
        self.port = port
    }

    public var description: String { "\(host):\(port)" }
}

/// Why labels could not be sent.
public enum PrinterError: Error, Equatable, CustomStringConvertible {
    case badAddress(String)
    case unknownHost(String)
    case unreachable(PrinterAddress, reason: String)
    case timedOut(PrinterAddress, seconds: Int)
    case sendFailed(PrinterAddress, reason: String)

    public var description: String {
        switch self {
        case .badAddress(let text): "printer '\(text)': not tcp://HOST[:PORT] (the raw-socket port is 9100 by default)"
        case .unknownHost(let host): "printer \(host): no such host"
        case .unreachable(let address, let reason): "printer \(address): \(reason)"
        case .timedOut(let address, let seconds):
            "printer \(address): no answer within \(seconds) s (is it on, and is raw printing on port \(address.port) enabled?)"
        case .sendFailed(let address, let reason): "printer \(address): sending labels failed: \(reason)"
        }
    }
}

/// A connection to a raw-socket printer: each write goes out as it comes, each with a time limit.
final class PrinterConnection: @unchecked Sendable {
    private let address: PrinterAddress
    private var socket: Int32

    static let timeoutSeconds = 10

    /// Connects, waiting at most `timeoutSeconds`.
    /// - Throws: `PrinterError`.
    init(to address: PrinterAddress) throws(PrinterError) {
        self.address = address
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(address.host, String(address.port), &hints, &found) == 0, let first = found else { throw .unknownHost(address.host) }
        defer { freeaddrinfo(found) }
        var lastError = PrinterError.unreachable(address, reason: "no address")
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            candidate = info.pointee.ai_next
            let descriptor = Foundation.socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.pointee.ai_protocol)
            guard descriptor >= 0 else { continue }
            do {
                try Self.connect(descriptor, to: info.pointee, address: address)
                socket = descriptor
                var limit = timeval(tv_sec: Self.timeoutSeconds, tv_usec: 0)
                setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
                return
            } catch {
                Foundation.close(descriptor)
                lastError = error
            }
        }
        throw lastError
    }

    /// A non-blocking connect, then a wait for it with a time limit: a printer that is off never answers at all.
    private static func connect(_ descriptor: Int32, to info: addrinfo, address: PrinterAddress) throws(PrinterError) {
        let flags = fcntl(descriptor, F_GETFL)
        _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK)
        if Foundation.connect(descriptor, info.ai_addr, info.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else { throw .unreachable(address, reason: String(cString: strerror(errno))) }
            var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&poller, 1, Int32(timeoutSeconds * 1000))
            guard ready > 0 else { throw .timedOut(address, seconds: timeoutSeconds) }
            var failure: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &failure, &length)
            guard failure == 0 else { throw .unreachable(address, reason: String(cString: strerror(failure))) }
        }
        _ = fcntl(descriptor, F_SETFL, flags)
    }

    /// Sends all of `data`.
    /// - Throws: `PrinterError.sendFailed` or `.timedOut`.
    func send(_ data: Data) throws(PrinterError) {
        let failure: Int32? = data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let sent = Foundation.send(socket, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                if sent < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += sent
            }
            return nil
        }
        guard let failure else { return }
        if failure == EAGAIN || failure == EWOULDBLOCK { throw .timedOut(address, seconds: Self.timeoutSeconds) }
        throw .sendFailed(address, reason: String(cString: strerror(failure)))
    }

    /// Closes the connection once the printer has everything.
    func close() {
        guard socket >= 0 else { return }
        shutdown(socket, Int32(SHUT_WR))
        Foundation.close(socket)
        socket = -1
    }

    deinit { close() }
}
