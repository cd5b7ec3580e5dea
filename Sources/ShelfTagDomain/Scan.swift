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

    public init(time: Date, storeCode: String?, gtin: GTIN, tagID: String?, stale: Bool, format: ScanFormat) {
        self.time = time
        self.storeCode = storeCode
        self.gtin = gtin
        self.tagID = tagID
        self.stale = stale
        self.format = format
    }
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
