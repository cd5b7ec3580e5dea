import Foundation

/// Everything `shelftag serve` and the tests choose about a resolver; only `fromEnvironment` reads the environment.
public struct ServerConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port (tests).
    public var port: Int
    /// The base the tags' URIs start with; links in pages and linksets are built on it.
    public var baseURL: String
    /// The folder holding `resolver/*.mustache` and `resolver/openapi.json`.
    public var templatesDirectory: URL
    /// Where an unknown product's page sends shoppers: `{gtin}` is replaced. Nil: derived from the catalogue's product links.
    public var shopSearchURL: String?
    /// Request bodies over this size get 413.
    public var maxBodyBytes: Int
    /// Scans wait in memory at most this long before they are written, in one transaction.
    public var scanFlushInterval: Duration
    /// Stock at or below this shows as "few left".
    public var fewLeftThreshold: Int
    /// Nearby stores listed on a page.
    public var nearbyLimit: Int
    /// How far a store may be to be listed as nearby, in kilometres.
    public var nearbyRadiusKilometres: Double
    /// Reviews shown on a page.
    public var reviewLimit: Int
    /// How long a reservation holds stock.
    public var holdDuration: TimeInterval
    /// Reservations one client may make per minute (429 past it); 0 turns the limit off (benchmarks).
    public var reservationsPerMinute: Int
    /// Lookups of pickup codes that do not exist one client may make per minute (429 past it): codes cannot be
    /// guessed at full speed. 0 turns the limit off.
    public var unknownCodeLookupsPerMinute: Int
    /// A connection that sends nothing for this long is closed: a client that stops half-way through its headers
    /// (or keeps an idle connection) holds nothing for longer.
    public var idleTimeout: Duration
    /// A request's headers must all arrive within this long of the connection opening (or of the previous answer):
    /// a client that trickles bytes to stay under `idleTimeout` is closed all the same.
    public var headerTimeout: Duration = .seconds(10)
    /// Connections open at once; past it the server stops accepting until one closes (the kernel queues the rest).
    public var maxConnections = 4096
    /// A help request nobody took for this long is flagged in the work view.
    public var helpAlertMinutes = 5
    /// How long a shopper's phone remembers the advisor whose link it opened.
    public var attributionDays = 30
    /// The query parameter that carries the associate's code to the web shop, so it can credit the online sale.
    public var associateParameter = "associate"
    /// The query parameter that tells the web shop which store a pickup ordered online is for.
    public var storeParameter = "store"
    /// Load balancers and reverse proxies whose `X-Forwarded-For` names the client the per-client limits count
    /// (`ClientAddresses`); empty: the connection's peer is the client.
    public var trustedProxies: [AddressRange] = []
    /// The clock, injected so tests can pin "now".
    public var now: @Sendable () -> Date

    public init(
        host: String = "127.0.0.1", port: Int = 8080, baseURL: String = "http://127.0.0.1:8080", templatesDirectory: URL,
        shopSearchURL: String? = nil, maxBodyBytes: Int = 64 * 1024, scanFlushInterval: Duration = .milliseconds(500), fewLeftThreshold: Int = 3,
        nearbyLimit: Int = 5, nearbyRadiusKilometres: Double = 50, reviewLimit: Int = 3, holdDuration: TimeInterval = 48 * 3600,
        reservationsPerMinute: Int = 10,
        unknownCodeLookupsPerMinute: Int = 20, idleTimeout: Duration = .seconds(30),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.holdDuration = holdDuration
        self.reservationsPerMinute = reservationsPerMinute
        self.unknownCodeLookupsPerMinute = unknownCodeLookupsPerMinute
        self.idleTimeout = idleTimeout
        self.host = host
        self.port = port
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.templatesDirectory = templatesDirectory
        self.shopSearchURL = shopSearchURL
        self.maxBodyBytes = maxBodyBytes
        self.scanFlushInterval = scanFlushInterval
        self.fewLeftThreshold = fewLeftThreshold
        self.nearbyLimit = nearbyLimit
        self.nearbyRadiusKilometres = nearbyRadiusKilometres
        self.reviewLimit = reviewLimit
        self.now = now
    }
}
