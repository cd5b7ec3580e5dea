import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import ShelfTagDomain
import ShelfTagHTTPClient

/// GETs many URLs over kept-alive connections, at most `concurrency` in flight, and hands each answer to `receive` as it
/// comes, so that no more bodies are held than requests are in flight (URLSession on Linux spent 660 µs of CPU a request
/// and held every body to the end: 863 MB for 250,000 resolver answers). A connection failure or a timeout is an
/// error (a kept-alive connection the server closed as a request went out is tried again on a new one), and so is a transient status (429, 502, 503, 504) still answered after `attempts` asks; any other HTTP status
/// is an answer. The resolver counts no scan for these requests. Proxies are taken from the environment as curl takes them.
enum Fetcher {
    struct Answer: Sendable {
        let status: Int
        let body: ByteBuffer
    }

    /// Larger bodies are an error: no answer a rule reads is near it.
    static let bodyLimit = 32 << 20

    /// - Parameters:
    ///   - url: the address of request `index`, asked for once, in order.
    ///   - receive: each answer with its request's index, in the order they finish, on the caller's task.
    static func fetch(
        count: Int, url: (Int) -> String, accept: String, concurrency: Int, receive: (Int, Answer) -> Void
    ) async throws(ParityError) {
        guard count > 0 else { return }
        let clients = Clients(concurrency: concurrency, environment: ProcessInfo.processInfo.environment)
        let failure = await withTaskGroup(of: (Int, Result<Answer, ParityError>).self) { group -> ParityError? in
            var next = 0
            var failure: ParityError?
            func start() {
                let index = next
                next += 1
                let address = url(index)
                let client = clients.client(for: address)
                group.addTask { (index, await get(address, accept: accept, with: client)) }
            }
            while next < min(concurrency, count) { start() }
            while let (index, outcome) = await group.next() {
                switch outcome {
                case .success(let answer): if failure == nil { receive(index, answer) }
                case .failure(let error):
                    if failure == nil {
                        failure = error
                        group.cancelAll()
                    }
                }
                if failure == nil && next < count { start() }
            }
            return failure
        }
        await clients.shutdown()
        if let failure { throw failure }
    }

    /// Statuses that say "not now" rather than answer: a resolver without its database answers 503.
    static let transientStatuses: Set<Int> = [429, 502, 503, 504]
    /// Asks made of a URL that answers a transient status, the first included.
    static let attempts = 4
    /// The longest `Retry-After` waited for; without one, 1, 2 then 4 s.
    static let longestWait = 10

    private static func get(_ address: String, accept: String, with client: HTTPClient) async -> Result<Answer, ParityError> {
        var request = HTTPClientRequest(url: address)
        request.headers.add(name: "Accept", value: accept)
        request.headers.add(name: "User-Agent", value: Scan.parityUserAgent)
        do {
            var attempt = 1
            while true {
                let response: HTTPClientResponse
                do {
                    response = try await client.execute(request, timeout: .seconds(Int64(readTimeout)))
                } catch let error where attempt < attempts && FailureReason.isClosedBeforeAnswer(error) {
                    // A kept-alive connection the server closed as the request went out (its idle timeout): a GET may
                    // be asked again on a new one (RFC 9110, 9.2.2). A server that keeps doing so is unreachable.
                    attempt += 1
                    continue
                }
                let body = try await response.body.collect(upTo: bodyLimit)
                let status = Int(response.status.code)
                guard transientStatuses.contains(status) else { return .success(Answer(status: status, body: body)) }
                guard attempt < attempts else {
                    return .failure(.unreachable(url: address, reason: "answered HTTP \(status) \(response.status.reasonPhrase) \(attempt) times"))
                }
                let asked = response.headers.first(name: "Retry-After").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
                try await Task.sleep(for: .seconds(min(longestWait, max(0, asked ?? 1 << (attempt - 1)))))
                attempt += 1
            }
        } catch is NIOTooManyBytesError {
            return .failure(.unreachable(url: address, reason: "an answer larger than \(bodyLimit >> 20) MiB"))
        } catch {
            return .failure(.unreachable(url: address, reason: FailureReason.describe(error, connectTimeout: connectTimeout, readTimeout: readTimeout)))
        }
    }

    static let connectTimeout = 5
    static let readTimeout = 30

    /// One client per proxy the requests need (most runs: one, with none).
    private final class Clients {
        private let concurrency: Int
        private let proxies: ProxySettings
        private var made: [String: HTTPClient] = [:]

        init(concurrency: Int, environment: [String: String]) {
            self.concurrency = concurrency
            self.proxies = ProxySettings(environment: environment)
        }

        func client(for address: String) -> HTTPClient {
            let proxy = proxies.proxy(for: address)
            let key = proxy.map { "\($0.host):\($0.port)" } ?? ""
            if let client = made[key] { return client }
            var configuration = HTTPClient.Configuration(
                redirectConfiguration: .follow(max: 5, allowCycles: false),
                timeout: .init(connect: .seconds(Int64(connectTimeout)), read: .seconds(Int64(readTimeout))),
                connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: concurrency),
                decompression: .enabled(limit: .ratio(100)))
            configuration.proxy = proxy.map { proxy in
                .server(host: proxy.host, port: proxy.port, authorization: proxy.user.map { .basic(username: $0, password: proxy.password ?? "") })
            }
            let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
            made[key] = client
            return client
        }

        func shutdown() async {
            for client in made.values { try? await client.shutdown() }
        }
    }
}

/// The proxy a request goes through, read from the environment as curl reads it: `http_proxy` for http URLs,
/// `https_proxy` (or `HTTPS_PROXY`) for https ones, except for the hosts `no_proxy` (or `NO_PROXY`) names, a domain
/// covering its subdomains and `*` every host. A user and password in the proxy's URL are sent to it (never printed).
struct ProxySettings: Equatable {
    struct Proxy: Equatable {
        let host: String
        let port: Int
        /// From the proxy's URL, sent as Basic authorization.
        var user: String? = nil
        var password: String? = nil
    }

    let http: Proxy?
    let https: Proxy?
    let bypassed: [String]

    init(environment: [String: String]) {
        func proxy(_ names: String...) -> Proxy? {
            guard let value = names.lazy.compactMap({ environment[$0] }).first(where: { !$0.isEmpty }) else { return nil }
            let address = URL(string: value.contains("://") ? value : "http://" + value)
            guard let address, let host = address.host, !host.isEmpty else { return nil }
            func decoded(_ part: String?) -> String? { part.map { $0.removingPercentEncoding ?? $0 } }
            return Proxy(host: host, port: address.port ?? 1080, user: decoded(address.user), password: decoded(address.password))
        }
        http = proxy("http_proxy")
        https = proxy("https_proxy", "HTTPS_PROXY")
        bypassed = (environment["no_proxy"] ?? environment["NO_PROXY"] ?? "").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces).lowercased().trimmingPrefix(".").description
        }.filter { !$0.isEmpty }
    }

    func proxy(for address: String) -> Proxy? {
        guard let url = URL(string: address), let host = url.host?.lowercased() else { return nil }
        let proxy = url.scheme?.lowercased() == "https" ? https : http
        guard proxy != nil else { return nil }
        let bypass = bypassed.contains { $0 == "*" || host == $0 || host.hasSuffix("." + $0) }
        return bypass ? nil : proxy
    }
}

/// Reads the schema.org Offer price from a page's JSON-LD, as price monitors and Google do.
enum JSONLD {
    /// `11.65 EUR` from the first Product's `offers` (an Offer, a list of them or an AggregateOffer's `lowPrice`).
    static func offerPrice(in html: String) -> String? {
        var rest = html[...]
        while let start = rest.range(of: "<script type=\"application/ld+json\">") ?? rest.range(of: "<script type='application/ld+json'>") {
            guard let end = rest.range(of: "</script>", range: start.upperBound..<rest.endIndex) else { return nil }
            let json = rest[start.upperBound..<end.lowerBound]
            rest = rest[end.upperBound...]
            guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) else { continue }
            let candidates = (object as? [[String: Any]]) ?? [(object as? [String: Any]) ?? [:]]
            for item in candidates + candidates.flatMap({ ($0["@graph"] as? [[String: Any]]) ?? [] }) where item["@type"] as? String == "Product" {
                let offers = (item["offers"] as? [[String: Any]])?.first ?? (item["offers"] as? [String: Any])
                guard let offers, let currency = offers["priceCurrency"] as? String else { continue }
                let price = offers["price"] ?? offers["lowPrice"]
                if let text = price as? String, let money = try? Money(amount: text, currency: try Currency(code: currency)) { return money.feedValue }
                if let number = price as? NSNumber, let money = try? Money(amount: number.stringValue, currency: try Currency(code: currency)) {
                    return money.feedValue
                }
            }
        }
        return nil
    }
}
