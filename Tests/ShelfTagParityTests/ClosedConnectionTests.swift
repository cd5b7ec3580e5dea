import Foundation
import Testing

@testable import ShelfTagParity

/// An HTTP/1.1 server on 127.0.0.1 that answers its first connection's first request with keep-alive, then closes that
/// connection as the next request arrives (as a server's idle timeout does), and answers every later connection.
private final class ClosingServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var closedRequests = 0
    private var connections = 0

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        #expect(bound && listen(listener, 8) == 0)
        port = Int(UInt16(bigEndian: address.sin_port))
        self.listener = listener
        Thread.detachNewThread { self.serve() }
    }

    /// Requests that got no answer: their connection was closed under them.
    var unanswered: Int { lock.withLock { closedRequests } }

    private func serve() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            let first = lock.withLock {
                connections += 1
                return connections == 1
            }
            Thread.detachNewThread {
                var answered = 0
                while Self.readRequest(client) {
                    if first && answered == 1 {
                        self.lock.withLock { self.closedRequests += 1 }
                        break
                    }
                    let response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"
                    _ = response.utf8CString.withUnsafeBufferPointer { write(client, $0.baseAddress, $0.count - 1) }
                    answered += 1
                }
                close(client)
            }
        }
    }

    /// Reads one request's head (the requests here have no body); false at the end of the connection.
    private static func readRequest(_ client: Int32) -> Bool {
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while !head.suffix(4).elementsEqual("\r\n\r\n".utf8) {
            guard read(client, &byte, 1) == 1 else { return false }
            head.append(byte)
        }
        return true
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}

@Suite("Parity's HTTP client and kept-alive connections")
struct ClosedConnectionTests {
    @Test("a kept-alive connection the server closes as the next request goes out is asked again on a new one, not reported unreachable")
    func closedKeptAliveConnection() async throws {
        let server = try ClosingServer()
        defer { server.stop() }
        var answers: [Int: Int] = [:]
        try await Fetcher.fetch(
            count: 3, url: { "http://127.0.0.1:\(server.port)/01/0376000100198\($0)" }, accept: "application/json", concurrency: 1,
            receive: { index, answer in answers[index] = answer.status })
        #expect(answers == [0: 200, 1: 200, 2: 200])
        #expect(server.unanswered == 1, "the second request met the closed connection, and was asked again")
    }
}
