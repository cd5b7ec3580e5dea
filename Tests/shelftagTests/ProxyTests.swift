import Foundation
import ShelfTagTestSupport
import Testing

/// A forward proxy on 127.0.0.1 that reaches nothing: it accepts `CONNECT` itself, then answers every request on the
/// tunnel (or sent to it in absolute form) with `page(path)`, and keeps the request heads it read.
private final class TestProxy: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let page: @Sendable (String) -> String
    private let lock = NSLock()
    private var heads: [String] = []

    var requests: [String] { lock.withLock { heads } }

    init(page: @escaping @Sendable (String) -> String) throws {
        self.page = page
        let (listener, port) = try boundLocalSocket()
        guard listen(listener, 16) == 0 else {
            close(listener)
            throw POSIXError(.EADDRINUSE)
        }
        self.listener = listener
        self.port = port
        let proxy = self
        Thread { proxy.acceptConnections() }.start()
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptConnections() {
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            let proxy = self
            Thread { proxy.serve(connection) }.start()
        }
    }

    private func serve(_ connection: Int32) {
        defer { close(connection) }
        var pending = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            guard let end = pending.firstRange(of: Array("\r\n\r\n".utf8)) else {
                let count = recv(connection, &buffer, buffer.count, 0)
                guard count > 0 else { return }
                pending += buffer[..<count]
                continue
            }
            let head = String(decoding: pending[..<end.lowerBound], as: UTF8.self)
            pending.removeSubrange(..<end.upperBound)
            lock.withLock { heads.append(head) }
            let target = head.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
            let reply: String
            if head.hasPrefix("CONNECT ") {
                reply = "HTTP/1.1 200 Connection established\r\n\r\n"
            } else {
                // The path of an absolute-form target (http://host/path) or of an origin-form one.
                let path = target.hasPrefix("http") ? "/" + target.split(separator: "/", maxSplits: 3).dropFirst(2).joined(separator: "/") : target
                let body = page(path)
                reply = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
            }
            let sent = reply.withCString { send(connection, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { return }
        }
    }
}

@Suite("shelftag parity through a proxy")
struct ParityProxyTests {
    @Test("--crawl reaches the web shop through http_proxy, with the proxy's credentials; without it, an unknown host is said in words")
    func crawlThroughProxy() async throws {
        let proxy = try TestProxy { path in
            // /p/4.10: a product page whose JSON-LD shows that price.
            let price = path.split(separator: "/").last.map(String.init) ?? "0"
            return """
                <html><head><script type="application/ld+json">{"@context": "https://schema.org", "@type": "Product", "name": "X",
                "offers": {"@type": "Offer", "price": "\(price)", "priceCurrency": "EUR"}}</script></head><body></body></html>
                """
        }
        defer { proxy.stop() }
        let directory = try newDirectory()
        let files = [
            "stores.csv": "code,name,address,latitude,longitude,timezone,locale\nPAR01,Paris,1 rue,48.86,2.35,Europe/Paris,fr-FR\n",
            // The shop's host cannot be resolved (.invalid is reserved): only the proxy can answer for it.
            "products.tsv": "id\ttitle\tdescription\tlink\timage_link\tavailability\tprice\tgtin\tbrand\n"
                + "A\tRight price\td\thttp://shop.invalid/p/2.50\thttps://img/a.jpg\tin_stock\t2.50 EUR\t3760001001983\tB\n"
                + "B\tWrong price\td\thttp://shop.invalid/p/4.10\thttps://img/b.jpg\tin_stock\t3.99 EUR\t3760001018189\tB\n",
            "inventory.tsv": "store_code\tid\tquantity\tavailability\nPAR01\tA\t5\tin_stock\nPAR01\tB\t5\tin_stock\n",
        ]
        for (name, text) in files { try Data(text.utf8).write(to: directory.appendingPathComponent(name)) }
        let db = directory.appendingPathComponent("shelftag.sqlite").path
        let paths = ["stores.csv", "products.tsv", "inventory.tsv"].map { directory.appendingPathComponent($0).path }
        #expect(try await CommandLine.run(["import", "--db", db] + paths).status == 0)

        let proxied = try await CommandLine.run(
            ["parity", "--db", db, "--crawl", "--format", "json"],
            environment: ["http_proxy": "http://ci%40shop:s%3Acret@127.0.0.1:\(proxy.port)", "no_proxy": "", "NO_PROXY": ""])
        #expect(proxied.status == 1, "\(proxied.errors)")
        #expect(proxied.output.contains("\"gtin\" : \"03760001018189\"") && !proxied.output.contains("\"gtin\" : \"03760001001983\""), "\(proxied.output)")
        let heads = proxy.requests
        #expect(heads.contains { $0.contains("shop.invalid") }, "\(heads)")
        // Basic ci@shop:s:cret, decoded from the URL; the password is never printed.
        #expect(
            heads.contains { $0.lowercased().contains("proxy-authorization: basic \(Data("ci@shop:s:cret".utf8).base64EncodedString().lowercased())") },
            "\(heads)")
        #expect(!proxied.errors.contains("s:cret") && !proxied.output.contains("s:cret"))

        let direct = try await CommandLine.run(["parity", "--db", db, "--crawl"], environment: ["http_proxy": "", "https_proxy": "", "HTTPS_PROXY": ""])
        #expect(direct.status == 2)
        let said = direct.errors
        #expect(said.contains("http://shop.invalid/p/") && said.contains("is unreachable: no address for shop.invalid"), "\(said)")
    }
}
