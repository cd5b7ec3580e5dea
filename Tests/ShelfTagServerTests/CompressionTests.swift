import AsyncHTTPClient
import CompressNIO
import NIOCore
import ShelfTagTestSupport
import Testing

/// Answers as they travel, read with a client that decompresses nothing itself (URLSession, which the other tests
/// use, asks for gzip and inflates it on its own). The client lives as long as the test process, as
/// `HTTPClient.shared` does.
@Suite("Resolver: gzipped answers")
struct CompressionTests {
    struct Answer {
        let status: Int
        let encoding: String?
        let entityTag: String?
        let vary: String?
        let body: ByteBuffer
    }

    /// One client that neither inflates bodies nor follows redirects (`HTTPClient.shared` does both).
    private static let client = HTTPClient(
        eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(redirectConfiguration: .disallow, decompression: .disabled))

    static func fetch(_ server: TestServer, _ path: String, accept: String, encoding: String?, holding tag: String? = nil) async throws -> Answer {
        var request = HTTPClientRequest(url: server.address + path)
        request.headers.add(name: "Accept", value: accept)
        if let encoding { request.headers.add(name: "Accept-Encoding", value: encoding) }
        if let tag { request.headers.add(name: "If-None-Match", value: tag) }
        let response = try await client.execute(request, timeout: .seconds(10))
        return Answer(
            status: Int(response.status.code), encoding: response.headers.first(name: "Content-Encoding"),
            entityTag: response.headers.first(name: "ETag"), vary: response.headers.first(name: "Vary"),
            body: try await response.body.collect(upTo: 1 << 20))
    }

    @Test("a page or JSON for a client that takes gzip is gzipped, inflates to the same bytes, and has its own entity tag")
    func gzippedAnswers() async throws {
        try await TestServer.with { server in
            for (path, accept) in [("/products/\(promotion)?s=PAR01", "text/html"), ("/01/\(promotion)?s=PAR01", "application/json")] {
                let plain = try await Self.fetch(server, path, accept: accept, encoding: nil)
                #expect(plain.status == 200 && plain.encoding == nil)
                #expect(plain.vary?.hasSuffix("Accept-Encoding") == true, "\(path): \(plain.vary ?? "no Vary")")
                let gzipped = try await Self.fetch(server, path, accept: accept, encoding: "gzip, deflate, br")
                #expect(gzipped.status == 200 && gzipped.encoding == "gzip")
                var compressed = gzipped.body
                let inflated = try compressed.decompress(with: .gzip())
                #expect(inflated == plain.body, "\(path)")
                #expect(gzipped.body.readableBytes * 10 < plain.body.readableBytes * 6, "\(path): \(gzipped.body.readableBytes) of \(plain.body.readableBytes)")
                let (plainTag, gzipTag) = (try #require(plain.entityTag), try #require(gzipped.entityTag))
                #expect(plainTag != gzipTag, "two representations, two tags")
                // Each tag revalidates its own representation.
                let held = try await Self.fetch(server, path, accept: accept, encoding: "gzip", holding: gzipTag)
                #expect(held.status == 304 && held.body.readableBytes == 0 && held.encoding == nil)
                #expect(try await Self.fetch(server, path, accept: accept, encoding: nil, holding: gzipTag).status == 200)
                #expect(try await Self.fetch(server, path, accept: accept, encoding: nil, holding: plainTag).status == 304)
            }
        }
    }

    @Test("Accept-Encoding is read with its qualities: gzip;q=0 refuses it, * takes it unless gzip is refused, other codings alone get none")
    func acceptEncoding() async throws {
        try await TestServer.with { server in
            let path = "/products/\(promotion)?s=PAR01"
            let cases: [(String, String?)] = [
                ("gzip;q=0", nil), ("GZIP", "gzip"), ("x-gzip", "gzip"), ("*", "gzip"), ("*, gzip;q=0", nil), ("br, zstd", nil),
                ("identity", nil), ("deflate;q=0.5, gzip;q=0.001", "gzip"), ("*;q=0", nil), ("gzip;q=0.000", nil), ("GZip ; Q=0.5", "gzip"),
                ("br;q=1, gzip;q=0, *", nil), ("gzip, deflate, br, zstd", "gzip"),
            ]
            for (header, expected) in cases {
                let answer = try await Self.fetch(server, path, accept: "text/html", encoding: header)
                #expect(answer.status == 200 && answer.encoding == expected, "\(header)")
            }
            // A redirect has no body to compress.
            let redirect = try await Self.fetch(server, "/01/\(promotion)?s=PAR01", accept: "text/html", encoding: "gzip")
            #expect(redirect.status == 307 && redirect.encoding == nil)
        }
    }
}
