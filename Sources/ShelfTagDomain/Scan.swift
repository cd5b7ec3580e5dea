import Foundation

/// How a scan was answered.
public enum ScanFormat: String, Sendable, CaseIterable {
    case html, json
}

/// One resolve of a shelf tag's URI. No IP address or other client detail is kept.
public struct Scan: Sendable, Equatable {
    public let time: Date
    /// The store in the URI, when it names a known one.
    public let storeCode: String?
    public let gtin: GTIN
    public let tagID: String?
    /// The tag was printed with a display that is no longer current.
    public let stale: Bool
    public let format: ScanFormat
    /// The advisor the scanned page carried (`a=` or the remembered code).
    public let associateCode: String?

    public init(time: Date, storeCode: String?, gtin: GTIN, tagID: String?, stale: Bool, format: ScanFormat, associateCode: String? = nil) {
        self.associateCode = associateCode
        self.time = time
        self.storeCode = storeCode
        self.gtin = gtin
        self.tagID = tagID
        self.stale = stale
        self.format = format
    }
}

extension Scan {
    /// The `User-Agent` of `shelftag parity`'s requests: they check the resolver and are no shopper's scan.
    public static let parityUserAgent = "shelftag-parity"
}

/// Scans of one product in one store on one day (UTC).
public struct ScanCount: Sendable, Equatable {
    public let day: String
    public let storeCode: String?
    public let gtin: GTIN
    public let scans: Int
    public let staleScans: Int

    public init(day: String, storeCode: String?, gtin: GTIN, scans: Int, staleScans: Int) {
        self.day = day
        self.storeCode = storeCode
        self.gtin = gtin
        self.scans = scans
        self.staleScans = staleScans
    }
}

/// What one associate's shoppers did: scans of pages that carried them, reservations credited, click-outs to the web
/// shop.
public struct AssociateFigures: Sendable, Equatable {
    public let code: String
    /// Nil once the associate was removed (their credit stays).
    public let name: String?
    public let storeCode: String?
    public var scans = 0
    public var reservations = 0
    public var units = 0
    /// Reserved value per currency.
    public var value: [Money] = []
    public var clickOuts = 0
    /// Reservations they marked ready, and those they handed over, from the time asked on.
    public var prepared = 0
    public var handedOver = 0

    public init(code: String, name: String?, storeCode: String?) {
        self.code = code
        self.name = name
        self.storeCode = storeCode
    }
}

/// Scans of one printed tag.
public struct TagScanCount: Sendable, Equatable {
    public let storeCode: String?
    public let gtin: GTIN
    public let tagID: String
    public let scans: Int
    public let staleScans: Int

    public init(storeCode: String?, gtin: GTIN, tagID: String, scans: Int, staleScans: Int) {
        self.storeCode = storeCode
        self.gtin = gtin
        self.tagID = tagID
        self.scans = scans
        self.staleScans = staleScans
    }
}

/// Help requests of one store: how many, how many taken, and how long shoppers waited for someone to take them.
public struct HelpFigures: Sendable, Equatable {
    public let storeCode: String
    public let requests: Int
    public let taken: Int
    /// Seconds from the request to an associate taking it, over the taken ones; nil when none was.
    public let averageWait: Int?
    public let longestWait: Int?

    public init(storeCode: String, requests: Int, taken: Int, averageWait: Int?, longestWait: Int?) {
        self.storeCode = storeCode
        self.requests = requests
        self.taken = taken
        self.averageWait = averageWait
        self.longestWait = longestWait
    }
}
