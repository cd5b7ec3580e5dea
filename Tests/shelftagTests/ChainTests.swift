import Foundation
import ShelfTagTestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Two `shelftag serve` processes on one PostgreSQL reference, as a chain runs them behind its load balancer.
struct Chain {
    let servers: [Process]
    let ports: [Int]
    let url: String

    static let coffee = "03760001001983"

    struct ImportFailed: Error {
        let errors: String
    }
    static let serveOptions = ["--reservations-per-minute", "0", "--log-level", "warning", "--base-url", "https://s.example"]

    /// Imports the samples into `url` and starts two resolvers on it.
    static func start(url: String) async throws -> Chain {
        let loaded = try await CommandLine.importSamples(into: url)
        guard loaded.status == 0 else { throw ImportFailed(errors: loaded.errors) }
        var servers: [Process] = []
        var ports: [Int] = []
        for _ in 0..<2 {
            let port = try freeLocalPort()
            servers.append(try await CommandLine.startServer(db: url, port: port, options: serveOptions))
            ports.append(port)
        }
        return Chain(servers: servers, ports: ports, url: url)
    }

    func stop() {
        for server in servers {
            server.terminate()
            server.waitUntilExit()
        }
    }

    struct Reply {
        let status: Int
        let body: Data
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    }

    /// A request to resolver `index`.
    func request(_ index: Int, _ path: String, method: String = "GET", headers: [String: String] = [:], body: String? = nil) async throws -> Reply {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(ports[index])\(path)")!)
        request.httpMethod = method
        request.timeoutInterval = 20
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(body.utf8)
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        return Reply(status: (response as? HTTPURLResponse)?.statusCode ?? 0, body: data)
    }

    /// Posts to the store-update API of resolver `index` with a token of PAR01.
    func update(_ index: Int, _ kind: String, token: String, _ body: String) async throws -> Reply {
        try await request(index, "/api/stores/PAR01/\(kind)", method: "POST", headers: ["Authorization": "Bearer \(token)"], body: body)
    }

    func reserveBody(_ index: Int) -> String {
        #"{"store": "PAR01", "quantity": 1, "name": "Client \#(index)", "contact": "c\#(index)@example.com"}"#
    }

    /// Resolver `index`'s answers so far: served from its cache, and computed from the database.
    func answerCounts(_ index: Int) async throws -> (cached: Int, computed: Int) {
        let lines = String(decoding: try await request(index, "/metrics").body, as: UTF8.self).split(separator: "\n")
        func count(_ source: String) -> Int {
            lines.first { $0.hasPrefix("shelftag_answers_total{source=\"\(source)\"} ") }.flatMap { Int($0.split(separator: " ").last ?? "") } ?? -1
        }
        return (count("cache"), count("database"))
    }

    /// The coffee's price in PAR01 as resolver `index` answers it.
    func shownPrice(_ index: Int) async throws -> String? {
        let document = try await request(index, "/01/\(Self.coffee)?s=PAR01").json
        return ((document["store"] as? [String: Any])?["price"] as? [String: Any])?["amount"] as? String
    }
}

@Suite("A chain: two resolvers on one PostgreSQL reference")
struct ChainTests {
    @Test(
        "200 reservations over two resolvers on a stock of 10 give 10; a price posted to one shows on the other within 1 s; one idempotency key, one reservation"
    )
    func twoResolversOneReference() async throws {
        let name = try await TestCluster.createDatabase()
        let chain = try await Chain.start(url: try TestCluster.url(database: name))
        defer { chain.stop() }
        let token = try await CommandLine.run(["token", "create", "--db", chain.url, "--store", "PAR01", "--scope", "prices", "--scope", "stock"]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await chain.update(0, "stock", token: token, #"{"gtin": "\#(Chain.coffee)", "onHand": 10}"#).status == 200)

        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<200 {
                group.addTask { try await chain.request(index % 2, "/products/\(Chain.coffee)/reserve", method: "POST", body: chain.reserveBody(index)).status }
            }
            return try await group.reduce(into: [Int: Int]()) { $0[$1, default: 0] += 1 }
        }
        #expect(statuses == [201: 10, 409: 190])
        let listed = try await CommandLine.run(["reservations", "list", "--db", chain.url, "--store", "PAR01"])
        #expect(listed.output.split(separator: "\n").filter { $0.contains("held") }.count == 10)

        // The price, posted to the first resolver, read from the second (whose answer was cached before).
        let before = try await chain.shownPrice(1)
        #expect(before != nil && before != "7.77")
        // Another product's answer, cached on the second resolver before the price is posted.
        let jam = "/01/03760001001150?s=PAR01"
        #expect(try await chain.request(1, jam).status == 200)
        let jamCached = try await chain.answerCounts(1)
        let clock = ContinuousClock()
        #expect(try await chain.update(0, "prices", token: token, #"{"gtin": "\#(Chain.coffee)", "price": "7.77 EUR"}"#).status == 200)
        // From the moment the write is done: the first resolver has answered it.
        let posted = clock.now
        var seenAfter: Duration?
        while clock.now - posted < .seconds(3) {
            if try await chain.shownPrice(1) == "7.77" {
                seenAfter = clock.now - posted
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(seenAfter != nil && seenAfter! < .seconds(1), "the other resolver showed the new price after \(String(describing: seenAfter))")
        // The coffee's new price retired the coffee's answers only: the jam's is still served from the cache.
        #expect(try await chain.request(1, jam).status == 200)
        let jamAgain = try await chain.answerCounts(1)
        let coffeeAnswers = jamAgain.computed - jamCached.computed
        #expect(jamAgain.cached > jamCached.cached && jamAgain.computed - jamCached.computed <= 1, "computed since: \(coffeeAnswers)")

        // The same request with one key, sent to both resolvers at once: one reservation, the same answer twice.
        #expect(try await chain.update(0, "stock", token: token, #"{"gtin": "\#(Chain.coffee)", "onHand": 20}"#).status == 200)
        let headers = ["Idempotency-Key": "chain-key-1"]
        let replies = try await withThrowingTaskGroup(of: Chain.Reply.self) { group in
            for index in 0..<2 {
                group.addTask {
                    try await chain.request(index, "/products/\(Chain.coffee)/reserve", method: "POST", headers: headers, body: chain.reserveBody(7))
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let codes = replies.compactMap { $0.status == 201 ? $0.json["code"] as? String : nil }
        // The second to arrive either replays the first answer or, while the first still runs, is told to retry (409).
        #expect(codes.count >= 1 && Set(codes).count == 1, "\(replies.map(\.status))")
        if codes.count == 1 {
            let retried = try await chain.request(1, "/products/\(Chain.coffee)/reserve", method: "POST", headers: headers, body: chain.reserveBody(7))
            #expect(retried.status == 201 && retried.json["code"] as? String == codes[0])
        }
        let afterKey = try await CommandLine.run(["reservations", "list", "--db", chain.url, "--store", "PAR01"])
        #expect(afterKey.output.split(separator: "\n").filter { $0.contains("held") }.count == 11)
        chain.stop()
        await TestCluster.drop(name)
    }

    @Test("PostgreSQL stopped for 5 s: both resolvers answer 503 meanwhile, /healthz says so, and both serve correct data after, with no restart")
    func databaseOutage() async throws {
        let cluster = try await PrivateCluster()
        let chain = try await Chain.start(url: cluster.url)
        let token = try await CommandLine.run(["token", "create", "--db", chain.url, "--store", "PAR01", "--scope", "prices"]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        for index in 0..<2 { #expect(try await chain.request(index, "/01/\(Chain.coffee)?s=PAR01").status == 200) }

        try await cluster.stop()
        let stopped = ContinuousClock.now
        // Past the freshness bound (2 s), no resolver presents its cached answers as live.
        try await Task.sleep(for: .milliseconds(2600))
        for index in 0..<2 {
            let page = try await chain.request(index, "/01/\(Chain.coffee)?s=PAR01")
            #expect(page.status == 503)
            #expect(try await chain.request(index, "/healthz").status == 503)
            let reserve = try await chain.request(index, "/products/\(Chain.coffee)/reserve", method: "POST", body: chain.reserveBody(index))
            #expect(reserve.status == 503)
        }
        try await Task.sleep(until: stopped + .seconds(5))
        try await cluster.start()

        // Both come back by themselves: a write through one shows on both.
        var recovered = false
        for _ in 0..<50 where !recovered {
            try await Task.sleep(for: .milliseconds(200))
            let first = try await chain.request(0, "/healthz").status
            let second = try await chain.request(1, "/healthz").status
            recovered = first == 200 && second == 200
        }
        #expect(recovered)
        #expect(try await chain.update(1, "prices", token: token, #"{"gtin": "\#(Chain.coffee)", "price": "6.66 EUR"}"#).status == 200)
        try await Task.sleep(for: .milliseconds(1000))
        #expect(try await chain.shownPrice(0) == "6.66")
        #expect(try await chain.shownPrice(1) == "6.66")
        chain.stop()
        await cluster.remove()
    }

    /// Starts `shelftag` with `arguments` in the repository, its output discarded: for a test that kills it midway.
    private func startShelftag(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = CommandLine.binary
        process.arguments = arguments
        process.currentDirectoryURL = CommandLine.repository
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// A product feed of `count` new products (GTINs 200…), in a new file.
    /// - Returns: its path.
    private func newProductFeed(count: Int) throws -> String {
        let feed = try CommandLine.temporaryDatabase() + ".tsv"
        var lines = ["id\ttitle\tdescription\tlink\timage_link\tavailability\tprice\tgtin\tbrand"]
        for index in 0..<count {
            let digits = String(format: "200%010d", index)
            let check = (10 - digits.enumerated().reduce(0) { sum, pair in sum + Int(String(pair.element))! * (pair.offset % 2 == 0 ? 3 : 1) } % 10) % 10
            lines.append(
                "K\(index)\tProduit \(index)\tUn produit\thttps://shop.example.com/k\(index)\thttps://img.example.com/k.jpg\tin_stock\t1.99 EUR\t\(digits)\(check)\tX"
            )
        }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: feed))
        return feed
    }

    @Test(
        "a first load into an empty PostgreSQL reference drops the history's foreign key and two indexes within its transaction: SIGKILLed meanwhile, it leaves them and no product; committed, it leaves them as migrated"
    )
    func firstLoadKeepsSchema() async throws {
        let name = try await TestCluster.createDatabase()
        let url = try TestCluster.url(database: name)
        #expect(try await CommandLine.run(["products", "list", "--db", url]).status == 0, "the reference is migrated")
        func schema() async throws -> String { try await TestCluster.schemaDefinitions(database: name) }
        let migrated = try await schema()
        #expect(migrated.contains("price_history_gtin_fkey FOREIGN KEY (gtin) REFERENCES product(gtin) ON DELETE CASCADE"))
        #expect(migrated.contains("CREATE INDEX price_history_by_product"))
        #expect(migrated.contains("product_item_id_key UNIQUE (item_id)"))

        let feed = try newProductFeed(count: 200_000)
        let process = try startShelftag(["import", "--db", url, feed])
        // The import holds the history table alone from the moment it drops its foreign key until it ends.
        var loading = false
        for _ in 0..<1500 where !loading && process.isRunning {
            try await Task.sleep(for: .milliseconds(10))
            loading =
                try await TestCluster.psql(
                    "SELECT count(*) FROM pg_locks WHERE relation = 'price_history'::regclass AND mode = 'AccessExclusiveLock' AND granted",
                    database: name) == "1"
        }
        #expect(loading, "the import was killed during its first load")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(try await TestCluster.psql("SELECT count(*) FROM product", database: name) == "0")
        #expect(try await schema() == migrated)

        let imported = try await CommandLine.run(["import", "--db", url, feed])
        #expect(imported.status == 0, "\(imported.output)")
        #expect(try await TestCluster.psql("SELECT count(*) FROM product", database: name) == "200000")
        #expect(try await TestCluster.psql("SELECT count(*) FROM price_history", database: name) == "200000")
        #expect(try await schema() == migrated)
        await TestCluster.drop(name)
    }

    @Test(
        "reads that take as long as their data have no request's time bound on PostgreSQL: products list, every stats report and a print run wait out locks held 4 s"
    )
    func longReadsWait() async throws {
        let name = try await TestCluster.createDatabase()
        let url = try TestCluster.url(database: name)
        #expect(try await CommandLine.importSamples(into: url).status == 0)
        let tables = ["product", "scan", "print_ledger", "associate", "clickout", "reservation", "help_request"]
        let holder = Task {
            try await TestCluster.psql(
                "BEGIN; LOCK TABLE \(tables.joined(separator: ", ")) IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT;", database: name)
        }
        // This database's locks only: the suite's other tests hold locks of their own in theirs (a first load's
        // dropped indexes) at the same time.
        var locked = false
        for _ in 0..<100 where !locked {
            try await Task.sleep(for: .milliseconds(20))
            locked =
                try await TestCluster.psql(
                    """
                    SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND granted AND relation IS NOT NULL
                    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                    """, database: name)
                == String(tables.count)
        }
        #expect(locked)
        let out = try newDirectory().path
        let commands =
            [["products", "list"], ["render", "--store", "PAR01", "--out", out, "--base-url", "https://s.example.com"]]
            + ["day", "tag", "associate", "help"].map { ["stats", "--by", $0] }
        let results = try await withThrowingTaskGroup(of: (String, CommandLine.Result).self) { group in
            for command in commands {
                group.addTask { (command.joined(separator: " "), try await CommandLine.run(command + ["--db", url])) }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        _ = try await holder.value
        for (command, result) in results.sorted(by: { $0.key < $1.key }) {
            #expect(result.status == 0, "\(command): \(result.errors)")
        }
        #expect(results["products list"]?.output.split(separator: "\n").count == 212)
        await TestCluster.drop(name)
    }

    @Test("a SIGKILLed import into PostgreSQL, killed with its products written, leaves the reference as it was")
    func killedImport() async throws {
        let name = try await TestCluster.createDatabase()
        let url = try TestCluster.url(database: name)
        #expect(try await CommandLine.importSamples(into: url).status == 0)
        let before = try await CommandLine.run(["products", "list", "--db", url]).output
        let feed = try newProductFeed(count: 5_000)
        // Another session holds the reviews table: the import writes its products, then waits at its first review.
        // (Held until this test cancels it, however slow the machine.)
        let holder = Task { try await TestCluster.psql("BEGIN; LOCK TABLE review IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(120); COMMIT;", database: name) }
        // This database's locks only: the suite's other tests hold locks of their own in theirs (a first load's
        // dropped indexes) at the same time.
        var locked = false
        for _ in 0..<100 where !locked {
            try await Task.sleep(for: .milliseconds(20))
            locked =
                try await TestCluster.psql(
                    "SELECT count(*) FROM pg_locks WHERE relation = 'review'::regclass AND mode = 'AccessExclusiveLock' AND granted", database: name) == "1"
        }
        #expect(locked)
        let process = try startShelftag(["import", "--db", url, feed, "Samples/product_reviews.xml"])
        var waiting = false
        for _ in 0..<1500 where !waiting && process.isRunning {
            try await Task.sleep(for: .milliseconds(20))
            let blocked = try await TestCluster.psql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = '\(name)' AND wait_event_type = 'Lock' AND query LIKE '%review%'")
            waiting = (Int(blocked) ?? 0) > 0
        }
        #expect(waiting, "the import reached its reviews with its products written")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try await TestCluster.psql("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(120)%' AND pid <> pg_backend_pid()")
        _ = try? await holder.value
        #expect(try await CommandLine.run(["products", "list", "--db", url]).output == before)
        await TestCluster.drop(name)
    }
}
