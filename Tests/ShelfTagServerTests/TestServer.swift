import Foundation
import Logging
import ServiceLifecycle
import ShelfTagDomain
import ShelfTagServer
import ShelfTagStorage
import ShelfTagTestSupport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The public base the tests' tags carry; the server listens on an ephemeral 127.0.0.1 port behind it.
let publicBase = "https://s.shelftag.example"
let testNow = try! time("2026-11-23T10:00Z")

/// A clock the test moves.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var time: Date

    init(_ time: Date) { self.time = time }

    var now: Date {
        lock.lock()
        defer { lock.unlock() }
        return time
    }

    func advance(by seconds: TimeInterval) {
        lock.lock()
        time += seconds
        lock.unlock()
    }
}

/// A real resolver on 127.0.0.1 and a real HTTP client that does not follow redirects.
struct TestServer {
    let address: String
    let reference: any ProductReference

    static func configuration(now: Date = testNow, clock: TestClock? = nil, reservationsPerMinute: Int = 0) -> ServerConfiguration {
        ServerConfiguration(
            host: "127.0.0.1", port: 0, baseURL: publicBase, templatesDirectory: repository.appendingPathComponent("Templates"),
            maxBodyBytes: 16 * 1024, scanFlushInterval: .milliseconds(50), reservationsPerMinute: reservationsPerMinute,
            now: { clock?.now ?? now })
    }

    /// Starts a server on the sample data (or `reference`), runs `body`, then shuts the server down gracefully.
    static func with(
        reference given: (any ProductReference)? = nil, configuration: ServerConfiguration = TestServer.configuration(),
        _ body: (TestServer) async throws -> Void
    ) async throws {
        let reference: any ProductReference
        if let given { reference = given } else { reference = try SQLiteProductReference(path: try await sampleDatabase()) }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "shelftag.test")
        logger.logLevel = .warning
        let application = try await buildApplication(configuration: configuration, reference: reference, logger: logger) { port in
            continuation.yield(port)
        }
        try await withRunning(application, ports: ports) { port in
            try await body(TestServer(address: "http://127.0.0.1:\(port)", reference: reference))
        }
    }

    struct Reply {
        let status: Int
        let headers: [String: String]
        let body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        func header(_ name: String) -> String? { headers.first { $0.key.lowercased() == name.lowercased() }?.value }
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
    }

    func request(_ path: String, method: String = "GET", accept: String? = nil, headers: [String: String] = [:], body: Data? = nil) async throws -> Reply {
        var request = URLRequest(url: URL(string: address + path)!)
        request.httpMethod = method
        if let accept { request.setValue(accept, forHTTPHeaderField: "Accept") }
        // A French phone unless the test says otherwise (URLSession would send the process's English).
        request.setValue("fr-FR,fr;q=0.9", forHTTPHeaderField: "Accept-Language")
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body
        let (data, response) = try await TestServer.session.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields { fields["\(name)"] = "\(value)" }
        return Reply(status: http.statusCode, headers: fields, body: data)
    }

    func json(_ path: String) async throws -> [String: Any] {
        try await request(path, accept: "application/json").json ?? [:]
    }

    private final class NoRedirects: NSObject, URLSessionTaskDelegate {
        func urlSession(
            _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse, newRequest request: URLRequest,
            completionHandler: @escaping (URLRequest?) -> Void
        ) {
            completionHandler(nil)
        }
    }

    private static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 8
        // Tests send the cookies they mean to: none is kept between requests.
        configuration.httpCookieStorage = nil
        configuration.httpShouldSetCookies = false
        // Tests read the server's own answers (a 304 included), never a cached copy.
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        return URLSession(configuration: configuration, delegate: NoRedirects(), delegateQueue: nil)
    }()
}

/// Checks a JSON value against an OpenAPI 3.1 schema (the subset the resolver's document uses).
struct SchemaValidator {
    let document: [String: Any]

    init() throws {
        let data = try Data(contentsOf: repository.appendingPathComponent("Templates/resolver/openapi.json"))
        document = try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    func schema(_ name: String) -> [String: Any] {
        ((document["components"] as! [String: Any])["schemas"] as! [String: Any])[name] as! [String: Any]
    }

    /// Every violation, as `path: reason`.
    func violations(of value: Any, against schema: [String: Any], at path: String = "$") -> [String] {
        if let reference = schema["$ref"] as? String {
            return violations(of: value, against: self.schema(String(reference.split(separator: "/").last!)), at: path)
        }
        var found: [String] = []
        switch schema["type"] as? String {
        case "object":
            guard let object = value as? [String: Any] else { return ["\(path): not an object"] }
            for key in schema["required"] as? [String] ?? [] where object[key] == nil { found.append("\(path).\(key): missing") }
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for (key, child) in object {
                if let childSchema = properties[key] as? [String: Any] {
                    found += violations(of: child, against: childSchema, at: "\(path).\(key)")
                } else if schema["additionalProperties"] as? Bool == false {
                    found.append("\(path).\(key): not in the schema")
                }
            }
        case "array":
            guard let array = value as? [Any] else { return ["\(path): not an array"] }
            if let items = schema["items"] as? [String: Any] {
                for (index, item) in array.enumerated() { found += violations(of: item, against: items, at: "\(path)[\(index)]") }
            }
        case "string":
            guard let text = value as? String else { return ["\(path): not a string"] }
            if let pattern = schema["pattern"] as? String, text.range(of: pattern, options: .regularExpression) == nil {
                found.append("\(path): '\(text)' does not match \(pattern)")
            }
            if let options = schema["enum"] as? [String], !options.contains(text) { found.append("\(path): '\(text)' not in \(options)") }
        case "integer", "number":
            guard let number = value as? NSNumber, type(of: number) != type(of: NSNumber(value: true)) else { return ["\(path): not a number"] }
            if schema["type"] as? String == "integer" && number.doubleValue != number.doubleValue.rounded() { found.append("\(path): not an integer") }
            if let minimum = schema["minimum"] as? Double, number.doubleValue < minimum { found.append("\(path): below \(minimum)") }
            if let maximum = schema["maximum"] as? Double, number.doubleValue > maximum { found.append("\(path): above \(maximum)") }
        case "boolean":
            guard let number = value as? NSNumber, type(of: number) == type(of: NSNumber(value: true)) else { return ["\(path): not a boolean"] }
        default:
            break
        }
        return found
    }
}
