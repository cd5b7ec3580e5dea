import Foundation
import ShelfTagDomain
import ShelfTagFeeds
import ShelfTagStorage

/// How an import runs.
public struct ImportOptions: Sendable {
    /// Forces the kind of every file instead of detecting it.
    public var kind: FeedKind?
    /// The time price changes are recorded at (now, or earlier to back-fill a history).
    public var asOf: Date
    /// Loads the good rows even when some are rejected.
    public var skipInvalid: Bool

    public init(kind: FeedKind? = nil, asOf: Date, skipInvalid: Bool = false) {
        self.kind = kind
        self.asOf = asOf
        self.skipInvalid = skipInvalid
    }
}

/// What an import did with each file.
public struct ImportReport: Sendable {
    public struct File: Sendable {
        public let path: String
        public let kind: FeedKind
        public var loaded = 0
        public var rejected = 0
    }

    public var files: [File]
    /// False when rows were rejected without `skipInvalid`: the database is exactly as before.
    public var committed = false
    /// Reviews removed because the (full) reviews feed no longer lists them.
    public var reviewsDeleted = 0

    public var rejected: Int { files.reduce(0) { $0 + $1.rejected } }
    public var loaded: Int { files.reduce(0) { $0 + $1.loaded } }
}

/// Loads feed files into the product reference as one transaction, in dependency order.
public struct Importer {
    private let reference: any ProductReference

    public init(reference: any ProductReference) {
        self.reference = reference
    }

    /// Imports `paths`; rejected rows go to `rejected` as they are found.
    /// - Parameter progress: called every 10,000 rows with the rows read so far.
    /// - Throws: `FeedError` for a file that cannot be read or whose kind is unknown (nothing is changed);
    ///   a storage error.
    public func run(
        paths: [String], options: ImportOptions, rejected: @escaping (RowError) -> Void, progress: @escaping (Int) -> Void = { _ in }
    ) async throws -> ImportReport {
        // Every file's kind is known before the database is touched.
        var files: [ImportReport.File] = []
        for path in paths {
            let kind = try options.kind ?? FeedKind.detect(path: path, displayName: path)
            files.append(ImportReport.File(path: path, kind: kind))
        }
        files = files.enumerated().sorted { ($0.element.kind, $0.offset) < ($1.element.kind, $1.offset) }.map(\.element)
        var report = ImportReport(files: files)
        var rowsRead = 0
        do {
            // The body runs on a thread of the database driver while this task waits; the rows are parsed on another.
            report = try await reference.importing { [report] writer in
                var report = report
                for index in report.files.indices {
                    let file = report.files[index]
                    var loaded = 0
                    var rejectedCount = 0
                    let reject = { (error: RowError) in
                        rejectedCount += 1
                        rejected(error)
                    }
                    let tick = {
                        rowsRead += 1
                        if rowsRead % 10_000 == 0 { progress(rowsRead) }
                    }
                    try load(
                        file, into: writer, asOf: options.asOf,
                        loaded: {
                            loaded += 1
                            tick()
                        },
                        rejected: {
                            reject($0)
                            tick()
                        },
                        reviewsDeleted: { report.reviewsDeleted = $0 })
                    report.files[index].loaded = loaded
                    report.files[index].rejected = rejectedCount
                }
                if report.rejected > 0 && !options.skipInvalid { throw RollBack(counted: report) }
                return report
            }
            report.committed = true
        } catch let rollBack as RollBack {
            report = rollBack.counted
            report.committed = false
        }
        return report
    }

    /// Thrown inside the transaction to undo it after every row was checked; carries what was counted.
    private struct RollBack: Error {
        let counted: ImportReport
    }

    private func load(
        _ file: ImportReport.File, into writer: any CatalogWriter, asOf: Date, loaded: @escaping () -> Void, rejected: @escaping (RowError) -> Void,
        reviewsDeleted: @escaping (Int) -> Void
    ) throws {
        let name = file.path
        switch file.kind {
        case .stores:
            try StoresFile.read(
                path: file.path, displayName: name,
                row: { store, _ in
                    try writer.save(store)
                    loaded()
                }, rejected: rejected)
        case .products:
            let path = file.path
            try ReadAhead<ProductFeedRow>.run(
                read: { row, rejected in try ProductFeed.read(path: path, displayName: name, row: row, rejected: rejected) },
                consume: { event in
                    switch event {
                    case .rejected(let error):
                        rejected(error)
                    case .row(let row, let line):
                        do {
                            try writer.save(row.product, webOffer: row.webOffer, recordedAt: asOf)
                            loaded()
                        } catch let conflict as ItemIDConflict {
                            rejected(RowError(location: SourceLocation(file: name, line: line), field: "id", problem: .conflict(conflict.description)))
                        }
                    }
                })
        case .inventory:
            let stores = try writer.storeCodes()
            try InventoryFeed.read(
                path: file.path, displayName: name,
                row: { row, line in
                    let location = SourceLocation(file: name, line: line)
                    guard stores.contains(row.storeCode) else {
                        return rejected(RowError(location: location, field: "store_code", problem: .unknownStore(row.storeCode)))
                    }
                    guard let gtin = try writer.gtin(forItemID: row.itemID) else {
                        return rejected(RowError(location: location, field: "id", problem: .unknownProduct(row.itemID)))
                    }
                    try writer.save(row.offer(of: gtin), recordedAt: asOf)
                    loaded()
                }, rejected: rejected)
        case .reviews:
            var kept: Set<String> = []
            var anyRejected = false
            try ReviewFeed.read(
                path: file.path, displayName: name,
                row: { row, line in
                    guard let gtin = try matchProduct(row, writer: writer) else {
                        anyRejected = true
                        let key = row.gtins.first?.digits ?? row.skus.first ?? ""
                        return rejected(
                            RowError(location: SourceLocation(file: name, line: line), field: "products/product/product_ids", problem: .unknownProduct(key)))
                    }
                    try writer.save(row.review(of: gtin))
                    kept.insert(row.id)
                    loaded()
                },
                rejected: {
                    anyRejected = true
                    rejected($0)
                })
            // A reviews feed is always full: what it no longer lists is deleted, unless rows were
            // rejected (a rejected row must not delete the review it was meant to update).
            if !anyRejected { reviewsDeleted(try writer.deleteReviews(notIn: kept)) }
        }
    }

    /// GTIN is the most reliable key; then the SKU, which is the product feed's `id`.
    private func matchProduct(_ row: ReviewFeedRow, writer: any CatalogWriter) throws -> GTIN? {
        for gtin in row.gtins where try writer.exists(gtin) { return gtin }
        for sku in row.skus { if let gtin = try writer.gtin(forItemID: sku) { return gtin } }
        return nil
    }
}
