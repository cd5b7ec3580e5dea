import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import ShelfTagDomain
import ShelfTagStorage

/// The one composition root: `shelftag serve` and every server test call it.
/// - Throws: `ServerStartError` when a template is missing or malformed.
public func buildApplication(
    configuration: ServerConfiguration, reference: any ProductReference, logger: Logger = Logger(label: "shelftag.resolver"),
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws -> some ApplicationProtocol {
    var pages = try await Pages.load(from: configuration.templatesDirectory)
    // Said once here, not per request: the pages use English for these keys.
    for problem in pages.wording.catalog.problems { logger.warning("messages: \(problem)") }
    pages.attributionDays = configuration.attributionDays
    pages.forgetAction = configuration.baseURL + "/advisor/forget"
    pages.helpAction = configuration.baseURL + "/help"
    let openAPI = try openAPIDocument(in: configuration.templatesDirectory)
    let methods = AllowedMethods(openAPI: Data(openAPI.utf8))
    let metrics = Metrics()
    let scans = ScanBuffer()
    let router = Router(context: ShelfTagRequestContext.self, options: .autoGenerateHeadEndpoints)
    router.addMiddleware {
        ObservabilityMiddleware(metrics: metrics)
        HeadersMiddleware()
        ErrorMiddleware(pages: pages, methods: methods)
    }
    // Answers at once whatever the database does: the version check never waits on it (SQLite's probe reads without
    // waiting for writers; PostgreSQL's is the last poll's news).
    router.get("/healthz") { _, _ in
        do {
            _ = try reference.catalogVersion()
            return Response.text("ok\n", contentType: "text/plain")
        } catch {
            var headers = HTTPFields()
            headers[.retryAfter] = "5"
            return Response.text("database unavailable: \(error)\n", status: .serviceUnavailable, contentType: "text/plain", headers: headers)
        }
    }
    let answers = AnswerCache()
    router.get("/metrics") { _, _ in
        Response.text(metrics.text(databaseRoundTrips: reference.serverRoundTrips, answers: answers.counts), contentType: "text/plain; version=0.0.4")
    }
    router.get("/openapi.json") { _, _ in Response.text(openAPI, contentType: "application/json", headers: [.cacheControl: CachePolicy.published]) }
    var shopSearch = configuration.shopSearchURL
    if shopSearch == nil { shopSearch = try await reference.webShopOrigin().map { $0 + "/search?q={gtin}" } }
    StoreUpdateController(reference: reference, configuration: configuration).addRoutes(to: router)
    let advisors = Advisors(reference: reference, configuration: configuration)
    let clients = ClientAddresses(trustedProxies: configuration.trustedProxies)
    let signInFailures = RateLimiter(perMinute: 5, clients: clients, clock: configuration.now)
    WorkController(reference: reference, configuration: configuration, pages: pages, failures: signInFailures).addRoutes(to: router)
    HelpController(
        reference: reference, configuration: configuration, pages: pages,
        limiter: RateLimiter(perMinute: configuration.reservationsPerMinute, clients: clients, clock: configuration.now)
    ).addRoutes(to: router)
    ReservationController(
        reference: reference, configuration: configuration, pages: pages,
        limiter: RateLimiter(perMinute: configuration.reservationsPerMinute, clients: clients, clock: configuration.now),
        lookups: RateLimiter(perMinute: configuration.unknownCodeLookupsPerMinute, clients: clients, clock: configuration.now), advisors: advisors
    )
    .addRoutes(to: router)
    ResolverController(
        reference: reference, configuration: configuration, pages: pages, scans: scans, metrics: metrics, shopSearch: shopSearch, advisors: advisors,
        logger: logger, cache: answers
    ).addRoutes(to: router)
    let flusher = ScanFlusher(buffer: scans, reference: reference, interval: configuration.scanFlushInterval, metrics: metrics, logger: logger)
    let headerTimeout = TimeAmount(configuration.headerTimeout)
    return Application(
        router: router,
        server: .http1(
            configuration: .init(
                additionalChannelHandlers: [RequestHeadTimeout(timeout: headerTimeout)], idleTimeout: TimeAmount(configuration.idleTimeout))),
        configuration: ApplicationConfiguration(
            address: .hostname(configuration.host, port: configuration.port), serverName: "ShelfTag",
            availableConnectionsDelegate: .maximum(configuration.maxConnections, logger: logger)),
        services: [flusher],
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger)
}

private func openAPIDocument(in directory: URL) throws(ServerStartError) -> String {
    let url = directory.appendingPathComponent("resolver/openapi.json")
    guard let data = FileManager.default.contents(atPath: url.path), (try? JSONSerialization.jsonObject(with: data)) != nil else {
        throw .missingTemplate(url.path)
    }
    return String(decoding: data, as: UTF8.self)
}

/// Runs the resolver until SIGTERM or SIGINT, then stops accepting, finishes the requests in flight and writes the last scans.
/// - Throws: `ServerStartError`, or what binding the address throws.
public func runResolver(
    configuration: ServerConfiguration, reference: any ProductReference, logLevel: String = "info",
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws {
    let sink = LogSink()
    var logger = Logger(label: "shelftag.resolver") { label in BufferedLogHandler(sink: sink, label: label) }
    // Access lines are info; "warning" keeps only problems.
    logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
    let application = try await buildApplication(configuration: configuration, reference: reference, logger: logger, onServerRunning: onServerRunning)
    // Services stop in reverse order: the log flusher last, after the server's final lines.
    let group = ServiceGroup(
        configuration: .init(
            services: [.init(service: LogFlusher(sink: sink)), .init(service: application)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    defer { sink.flush() }
    try await group.run()
}
