import CQRencode
import Foundation

/// QR error correction levels: how much of the symbol may be lost and still scan.
public enum ErrorCorrection: String, Sendable, CaseIterable {
    case low = "L"
    case medium = "M"
    case quartile = "Q"
    case high = "H"

    var level: QRecLevel {
        switch self {
        case .low: QR_ECLEVEL_L
        case .medium: QR_ECLEVEL_M
        case .quartile: QR_ECLEVEL_Q
        case .high: QR_ECLEVEL_H
        }
    }
}

/// Why a payload has no QR symbol.
public enum QRCodeError: Error, Equatable, CustomStringConvertible {
    case tooLong(bytes: Int)
    case encoderFailed(errno: Int32)

    public var description: String {
        switch self {
        case .tooLong(let bytes): "a \(bytes)-byte payload does not fit in a QR code"
        case .encoderFailed(let code): "libqrencode failed: \(String(cString: strerror(code)))"
        }
    }
}

/// A QR symbol as a square matrix of modules, without its quiet zone.
public struct QRCode: Sendable, Equatable {
    /// The symbol version, 1 to 40.
    public let version: Int
    /// Modules per side.
    public let size: Int
    /// `size × size` modules, row by row, true for dark.
    public let modules: [Bool]
    /// The quiet zone every side needs, in modules (ISO/IEC 18004).
    public static let quietZone = 4

    /// Encodes `payload` in the smallest version that holds it, with libqrencode's mode optimisation; see `encode` for the mask.
    /// - Throws: `QRCodeError` when it cannot be encoded.
    public init(_ payload: String, correction: ErrorCorrection) throws(QRCodeError) {
        (version, size, modules) = try Self.encode(payload, correction: correction)
    }

    /// libqrencode's symbol for `payload`. Where libqrencode exports its fixed-mask encoder, it encodes with mask 0
    /// and `QRMaskChoice` chooses the mask, scoring the symbol with each: the winner's rows are the symbol, with no
    /// second encode. Elsewhere, and for symbols wider than 64 modules, libqrencode chooses.
    private static func encode(_ payload: String, correction: ErrorCorrection) throws(QRCodeError) -> (version: Int, size: Int, modules: [Bool]) {
        func failure() -> QRCodeError { errno == ERANGE ? .tooLong(bytes: payload.utf8.count) : .encoderFailed(errno: errno) }
        /// A symbol libqrencode finished, mask and all.
        func finished(_ symbol: UnsafeMutablePointer<QRcode>) -> (version: Int, size: Int, modules: [Bool]) {
            defer { QRcode_free(symbol) }
            let size = Int(symbol.pointee.width)
            // Bit 0 of each byte is the module's colour; the other bits are encoder bookkeeping.
            return (Int(symbol.pointee.version), size, UnsafeBufferPointer(start: symbol.pointee.data, count: size * size).map { $0 & 1 == 1 })
        }
        guard let splitString = LibQREncodeInternals.splitString, let encodeMask = LibQREncodeInternals.encodeMask else {
            guard let symbol = QRcode_encodeString(payload, 0, correction.level, QR_MODE_8, 1) else { throw failure() }
            return finished(symbol)
        }
        guard let input = QRinput_new2(0, correction.level) else { throw failure() }
        defer { QRinput_free(input) }
        guard splitString(payload, input, QR_MODE_8, 1) == 0, let masked = encodeMask(input, 0) else { throw failure() }
        guard let choice = QRMaskChoice.forWidth(Int(masked.pointee.width)) else {
            // Wider than one 64-bit word: libqrencode chooses.
            QRcode_free(masked)
            guard let symbol = encodeMask(input, -1) else { throw failure() }
            return finished(symbol)
        }
        defer { QRcode_free(masked) }
        let rows = choice.bestMask(modules: masked.pointee.data, level: correction).rows
        let size = choice.width
        var modules = [Bool](repeating: false, count: size * size)
        for y in 0..<size {
            for x in 0..<size { modules[y * size + x] = rows[y] >> UInt64(x) & 1 == 1 }
        }
        return (Int(masked.pointee.version), size, modules)
    }

    public subscript(x: Int, y: Int) -> Bool { modules[y * size + x] }

    /// Modules per side with the quiet zone.
    public var sizeWithQuietZone: Int { size + 2 * Self.quietZone }

    /// Draws the symbol with `modulePixels` device pixels per module, quiet zone included, at `x, y` (clipped).
    func draw(on raster: inout Raster, x: Int, y: Int, modulePixels: Int) {
        precondition(modulePixels >= 1, "a module is at least one pixel")
        let side = sizeWithQuietZone * modulePixels
        let origin = Self.quietZone * modulePixels
        // One pixel row at a time, written straight into the raster: a module row is built once, with no branch on
        // the colour (QR data is noise to a branch predictor), then placed `modulePixels` times. Up to 8 pixels a
        // module, each module is one 8-byte store, left to right, the next overwriting what ran past it (a store per
        // pixel, with overflow checks, was half of drawing a tag's elements), up to 16 two stores; 8 spare bytes take
        // the last one's overrun.
        var buffer = [UInt8](repeating: 255, count: side + 8)
        buffer.withUnsafeMutableBufferPointer { buffer in
            let row = UnsafeBufferPointer(rebasing: buffer[..<side])
            for quiet in 0..<origin {
                raster.place(row: row, x: x, y: y + quiet)
                raster.place(row: row, x: x, y: y + side - 1 - quiet)
            }
            let first = buffer.baseAddress! + origin
            let end = first + size * modulePixels
            modules.withUnsafeBufferPointer { modules in
                for moduleRow in 0..<size {
                    let dark = modules.baseAddress! + moduleRow * size
                    if modulePixels <= 8 {
                        for column in 0..<size {
                            let level: UInt64 = dark[column] ? 0 : .max
                            UnsafeMutableRawPointer(first + column &* modulePixels).storeBytes(of: level, as: UInt64.self)
                        }
                        // The right quiet zone, where the last store ran on.
                        end.update(repeating: 255, count: min(8, origin))
                    } else if modulePixels <= 16 {
                        // Two stores a module (the default templates' 0.76 mm modules are 9 pixels at 300 dpi),
                        // running on by at most 7 bytes.
                        for column in 0..<size {
                            let level: UInt64 = dark[column] ? 0 : .max
                            let module = UnsafeMutableRawPointer(first + column &* modulePixels)
                            module.storeBytes(of: level, as: UInt64.self)
                            module.storeBytes(of: level, toByteOffset: 8, as: UInt64.self)
                        }
                        end.update(repeating: 255, count: min(8, origin))
                    } else {
                        for column in 0..<size { (first + column * modulePixels).update(repeating: dark[column] ? 0 : 255, count: modulePixels) }
                    }
                    let top = y + origin + moduleRow * modulePixels
                    for copy in 0..<modulePixels { raster.place(row: row, x: x, y: top + copy) }
                }
            }
        }
    }
}
