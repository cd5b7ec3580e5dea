import Foundation
import ShelfTagDomain
import ShelfTagSecrets
import ShelfTagServer
import ShelfTagStorage
import ShelfTagTestSupport
import Testing

/// GS1-Conformant Resolver 1.2 requirements that GS1's test suite and schemas check, each against a running server.
@Suite("GS1-Conformant resolver: what GS1's suite and schemas check")
struct ConformanceTests {
    /// GS1's linkset schema (1.2): each linkset object has `anchor` and `itemDescription`, and every other key is a
    /// link type, lower-case letters and hyphens or an http(s) URI of `[a-zA-Z0-9./]` (no port); each link has `href`
    /// and `title` and only the schema's properties.
    private func checkAgainstLinksetSchema(_ document: [String: Any]) {
        guard let sets = document["linkset"] as? [[String: Any]], !sets.isEmpty else {
            Issue.record("no linkset array")
            return
        }
        #expect(document.keys.sorted() == ["linkset"])
        let keyPattern = /^([a-z-]+)$|^(https?:\/\/[a-zA-Z0-9.\/]+)$/
        let linkProperties: Set<String> = ["href", "title", "hreflang", "type", "context", "fwqs", "public"]
        for set in sets {
            #expect((set["anchor"] as? String)?.wholeMatch(of: /https?:\/\/[a-zA-Z0-9.\/].*/) != nil)
            #expect((set["itemDescription"] as? String)?.isEmpty == false, "itemDescription is required")
            let linkTypes = set.keys.filter { $0 != "anchor" && $0 != "itemDescription" }
            #expect(linkTypes.count >= 5)
            for key in linkTypes {
                #expect(key.wholeMatch(of: keyPattern) != nil, "link type key \(key) is outside the schema's pattern")
                for link in set[key] as? [[String: Any]] ?? [] {
                    #expect(link["href"] is String && link["title"] is String, "\(key): href and title are required")
                    #expect(Set(link.keys).isSubset(of: linkProperties), "\(key): \(link.keys.sorted())")
                    for language in link["hreflang"] as? [String] ?? [] { #expect(language.wholeMatch(of: /\w{2}(-\w{2})?/) != nil) }
                }
            }
        }
    }

    @Test("the linkset validates against GS1's linkset schema, with a base URL that carries a port too", arguments: [publicBase, "http://127.0.0.1:8080"])
    func linksetSchema(base: String) async throws {
        var configuration = TestServer.configuration()
        configuration.baseURL = base
        try await TestServer.with(configuration: configuration) { server in
            let reply = try await server.request("/01/\(promotion)?s=PAR01&linkType=linkset")
            #expect(reply.status == 200 && reply.header("Content-Type") == "application/linkset+json")
            let document = try #require((try? JSONSerialization.jsonObject(with: reply.body)) as? [String: Any])
            checkAgainstLinksetSchema(document)
            let set = try #require((document["linkset"] as? [[String: Any]])?.first)
            #expect(set["itemDescription"] as? String == "Café moulu pur arabica Brésil 1 kg")
            // ShelfTag's own link types still answer under the key the linkset gives them.
            let reserve = try #require(set.keys.first { $0.hasSuffix("/voc/reserve") })
            #expect(!reserve.contains(":8080"))
            let redirect = try await server.request("/01/\(promotion)?linkType=\(reserve)")
            #expect(redirect.status == 307 && redirect.header("Location")?.hasSuffix("/products/\(promotion)/reserve") == true)
        }
    }

    @Test("the JSON-LD context link names its media type; the description file has a vCard contact")
    func contextAndDescription() async throws {
        try await TestServer.with { server in
            let reply = try await server.request("/01/\(promotion)?linkType=linkset")
            #expect(
                reply.header("Link")
                    == "<https://ref.gs1.org/standards/resolver/linkset-context>; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\"")
            let description = try await server.json("/.well-known/gs1resolver")
            let contact = try #require(description["contact"] as? [String: Any], "contact must be an object")
            #expect(contact["fn"] as? String == "ShelfTag resolver at s.shelftag.example")
            #expect(contact["hasURL"] as? String == publicBase + "/")
            #expect(description["resolverRoot"] as? String == publicBase && description["supportedPrimaryKeys"] as? [String] == ["01"])
            for entry in description["supportedLinkType"] as? [[String: Any]] ?? [] {
                #expect((entry["prefix"] as? String)?.wholeMatch(of: /[a-zA-Z_][A-Za-z0-9_-]*?:/) != nil)
            }
        }
    }

    @Test("OPTIONS on a Digital Link names its linkset; a preflight gets the headers it asks for")
    func optionsAndPreflight() async throws {
        try await TestServer.with { server in
            let options = try await server.request(
                "/01/\(promotion)/10/LOT7", method: "OPTIONS",
                headers: [
                    "Origin": "https://app.example", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "x-app-version, content-type",
                ])
            #expect(options.status == 204)
            #expect(options.header("Link") == "<\(publicBase)/01/\(promotion)/10/LOT7?linkType=linkset>; rel=\"linkset\"; type=\"application/linkset+json\"")
            let allowed = try #require(options.header("Access-Control-Allow-Headers")).lowercased()
            for name in ["accept", "accept-language", "content-type", "authorization", "idempotency-key", "x-app-version"] {
                #expect(allowed.contains(name), "\(name) is not allowed: \(allowed)")
            }
            #expect(options.header("Access-Control-Allow-Origin") == "*")
            // A header name that is not one is not echoed back.
            let odd = try await server.request("/01/\(promotion)", method: "OPTIONS", headers: ["Access-Control-Request-Headers": "bad header(1)"])
            #expect(odd.header("Access-Control-Allow-Headers")?.contains("bad") == false)
            // Not a Digital Link: no linkset to name.
            #expect(try await server.request("/healthz", method: "OPTIONS").header("Link") == nil)
        }
    }

    @Test("a compressed Digital Link resolves as the URI it stands for, which a Link header names as owl:sameAs")
    func compressedDigitalLinks() async throws {
        try await TestServer.with { server in
            // GS1's toolkit's compressed form of /01/03760001001983, with the tag's query beside it.
            let plain = try await server.request("/01/\(promotion)?s=PAR01&t=vwknn2qt")
            let compressed = try await server.request("/AQbW4wxT_g?s=PAR01&t=vwknn2qt")
            #expect(plain.status == 307 && compressed.status == plain.status)
            #expect(compressed.header("Location") == plain.header("Location"))
            #expect(
                compressed.header("Link")?.contains("<\(publicBase)/01/\(promotion)?s=PAR01&t=vwknn2qt>; rel=\"owl:sameAs\"") == true,
                "\(compressed.header("Link") ?? "")")
            // Everything in it compressed, the store and tag too.
            let whole = try await server.request("/AQbW4wxT_-BsYU8BHTXwNrEX4STz7VWg")
            #expect(whole.header("Location") == plain.header("Location"))
            // A linkset asked of a compressed link is the product's.
            let linkset = try await server.request("/AQbW4wxT_g?linkType=linkset")
            #expect(linkset.status == 200 && linkset.header("Link")?.contains("owl:sameAs") == true)
            // Bad compressed data is a 400 that says why.
            let bad = try await server.request("/AQbW4wxT_gAAAAAAAA", accept: "application/json")
            #expect(bad.status == 400, "\(bad.text)")
            let truncated = try await server.request("/AQbW4wxT", accept: "application/json")
            #expect(truncated.status == 400 && (truncated.json?["detail"] as? String)?.contains("compressed") == true, "\(truncated.text)")
        }
    }

    @Test("the OpenAPI document the server serves is valid OpenAPI (openapi-spec-validator): every path parameter declared")
    func openAPIDocumentIsValid() async throws {
        try await TestServer.with { server in
            let reply = try await server.request("/openapi.json", accept: "application/json")
            #expect(reply.status == 200)
            let file = try newDirectory().appendingPathComponent("openapi.json")
            try reply.body.write(to: file)
            #expect(try await runTestScript("validate_openapi.py", [file.path]).output == "valid\n")
        }
    }

    @Test("schemathesis, every check on, against a live resolver with a store token: every route, every status documented, no failure")
    func schemathesisFindsNothing() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let token = AccessToken.generate()
        try await reference.saveToken(
            hash: SecretHash.of(token), grant: TokenGrant(storeCode: "PAR01", scopes: [.prices, .stock, .reservations]), createdAt: testNow,
            expiresAt: nil)
        try await TestServer.with(reference: reference) { server in
            let run = try await runTool(try testPython(), [repository.appendingPathComponent("Tests/schemathesis_run.py").path, server.address, token])
            #expect(run.status == 0, "\(run.output)\(run.errors)")
            let summary = try #require(run.output.split(separator: "\n").last { $0.contains("generated") }, "\(run.output)")
            #expect(summary.contains("passed") && !summary.contains("fail"), "\(summary)")
        }
    }

    @Test("a method a path does not answer is a 405 naming those it does (Allow), from the OpenAPI document; an unknown path a 404")
    func methodNotAllowed() async throws {
        try await TestServer.with { server in
            let trace = try await server.request("/healthz", method: "DELETE", accept: "application/json")
            #expect(trace.status == 405 && trace.header("Allow") == "GET, HEAD, OPTIONS", "\(trace.status) \(trace.headers)")
            #expect(trace.header("Content-Type") == "application/problem+json")
            let post = try await server.request("/01/03760001001983", method: "PUT", accept: "application/json")
            #expect(post.status == 405 && post.header("Allow") == "GET, HEAD, OPTIONS")
            let reserve = try await server.request("/products/03760001001983/reserve", method: "DELETE", accept: "application/json")
            #expect(reserve.status == 405 && reserve.header("Allow") == "GET, HEAD, POST, OPTIONS")
            #expect(try await server.request("/no/such/thing", method: "DELETE", accept: "application/json").status == 404)
        }
    }
}
