import ArgumentParser
import Foundation
import ShelfTagRender
import ShelfTagServer

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the resolver: tag URIs open the live price, stock and reviews; JSON and linksets for machines.",
        discussion: """
            GET BASE/01/<GTIN-14>?s=<store>&t=<tag id> redirects a phone to the store page and answers JSON \
            (Accept: application/json) or a GS1 linkset (linkType=linkset). Also /healthz, /metrics (Prometheus), \
            /.well-known/gs1resolver, /openapi.json and the store-update API (/api/stores/CODE/prices|stock, \
            bearer tokens from `shelftag token create`). Stops gracefully on SIGTERM or SIGINT.
            """
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: ArgumentHelp("The address to listen on.", valueName: "host"))
    var host = "127.0.0.1"

    @Option(help: ArgumentHelp("The port to listen on.", valueName: "port"))
    var port = 8080

    @Option(
        name: .customLong("base-url"),
        help: ArgumentHelp("The public base URL the tags carry (default $SHELFTAG_BASE_URL, else http://HOST:PORT).", valueName: "url"))
    var baseURL: String?

    @Option(
        name: .customLong("shop-search-url"),
        help: ArgumentHelp("Where an unknown product's page points, {gtin} replaced (default: the web shop's /search).", valueName: "url"))
    var shopSearchURL: String?

    @Option(name: .customLong("hold-hours"), help: ArgumentHelp("How long a reservation holds stock.", valueName: "hours"))
    var holdHours = 48.0

    @Option(name: .customLong("nearby-radius"), help: ArgumentHelp("How far a store may be to be offered as nearby.", valueName: "km"))
    var nearbyRadius = 50.0

    @Option(name: .customLong("reservations-per-minute"), help: ArgumentHelp("Reservations one client may make per minute (0: no limit).", valueName: "n"))
    var reservationsPerMinute = 10

    @Option(name: .customLong("log-level"), help: ArgumentHelp("info (one access line per request) or warning, error…", valueName: "level"))
    var logLevel = "info"

    @Option(help: ArgumentHelp("Seconds a connection may send nothing before it is closed (slow or stalled clients).", valueName: "seconds"))
    var idleTimeout = 30

    @Option(help: ArgumentHelp("Seconds a request's headers may take to arrive, however slowly they trickle.", valueName: "seconds"))
    var headerTimeout = 10

    @Option(help: ArgumentHelp("Connections served at once; past it new ones wait in the kernel's queue.", valueName: "count"))
    var maxConnections = 4096

    @Option(help: ArgumentHelp("Days a shopper's phone remembers the advisor whose link it opened (a cookie holding only their code).", valueName: "days"))
    var attributionDays = 30

    @Option(help: ArgumentHelp("The query parameter that carries an associate's code to the web shop.", valueName: "name"))
    var associateParam = "associate"

    @Option(help: ArgumentHelp("The query parameter that tells the web shop which store an online order is picked up in.", valueName: "name"))
    var storeParam = "store"

    @Option(help: ArgumentHelp("Minutes after which a help request nobody took is flagged in the work view.", valueName: "minutes"))
    var helpAlertMinutes = 5

    @Option(help: ArgumentHelp("Unknown pickup codes one client may look up per minute; 0 for no limit.", valueName: "count"))
    var unknownCodesPerMinute = 20

    @Option(
        name: .customLong("trusted-proxy"),
        help: ArgumentHelp(
            "A load balancer's address or CIDR range (repeatable): behind it, the per-client limits count the client X-Forwarded-For names.",
            valueName: "range"))
    var trustedProxies: [String] = []

    func validate() throws {
        for proxy in trustedProxies {
            do { _ = try AddressRange(proxy) } catch { throw ValidationError("--trusted-proxy: \(error)") }
        }
        let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
        guard levels.contains(logLevel) else { throw ValidationError("--log-level: one of \(levels.joined(separator: ", "))") }
        guard holdHours > 0 else { throw ValidationError("--hold-hours: must be more than 0") }
        guard nearbyRadius > 0 else { throw ValidationError("--nearby-radius: must be more than 0 km") }
        guard reservationsPerMinute >= 0 else { throw ValidationError("--reservations-per-minute: cannot be negative") }
        guard unknownCodesPerMinute >= 0 else { throw ValidationError("--unknown-codes-per-minute: cannot be negative") }
        guard idleTimeout > 0 else { throw ValidationError("--idle-timeout: must be more than 0") }
        guard helpAlertMinutes > 0 else { throw ValidationError("--help-alert-minutes: must be more than 0") }
        guard (1...400).contains(attributionDays) else { throw ValidationError("--attribution-days: from 1 to 400") }
        guard !associateParam.isEmpty, associateParam.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) }) else {
            throw ValidationError("--associate-param: letters, digits, '_', '-' or '.'")
        }
        guard !storeParam.isEmpty, storeParam.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) }) else {
            throw ValidationError("--store-param: letters, digits, '_', '-' or '.'")
        }
        guard headerTimeout > 0 else { throw ValidationError("--header-timeout: must be more than 0") }
        guard maxConnections > 0 else { throw ValidationError("--max-connections: must be more than 0") }
        guard (0...65535).contains(port) else { throw ValidationError("--port: \(port) is not a TCP port") }
        if let baseURL, URL(string: baseURL)?.host == nil { throw ValidationError("--base-url: '\(baseURL)' is not an http(s) URL") }
    }

    func run() async throws {
        let base = baseURL ?? ProcessInfo.processInfo.environment["SHELFTAG_BASE_URL"] ?? "http://\(host):\(port)"
        var configuration = ServerConfiguration(
            host: host, port: port, baseURL: base, templatesDirectory: TemplateLibrary.locate().directory, shopSearchURL: shopSearchURL,
            holdDuration: holdHours * 3600, reservationsPerMinute: reservationsPerMinute, unknownCodeLookupsPerMinute: unknownCodesPerMinute,
            idleTimeout: .seconds(idleTimeout))
        configuration.headerTimeout = .seconds(headerTimeout)
        configuration.maxConnections = maxConnections
        configuration.attributionDays = attributionDays
        configuration.associateParameter = associateParam
        configuration.storeParameter = storeParam
        configuration.helpAlertMinutes = helpAlertMinutes
        configuration.nearbyRadiusKilometres = nearbyRadius
        configuration.trustedProxies = try trustedProxies.map { try AddressRange($0) }
        do {
            try await database.with { reference in
                try await runResolver(configuration: configuration, reference: reference, logLevel: logLevel) { port in
                    FileStream.standardError.write("resolver listening on http://\(host):\(port), tags resolve under \(base)/01/\n")
                }
            }
        } catch let error as ServerStartError {
            FileStream.standardError.write("\(error)\n")
            throw ExitCode.unusableInput
        }
    }
}
