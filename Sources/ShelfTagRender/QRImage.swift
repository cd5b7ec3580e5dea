import Foundation

/// A QR code alone as a PNG: the reservation's pickup code.
public enum QRImage {
    /// - Throws: `QRCodeError` or `PNGEncodingError`.
    public static func png(_ payload: String, modulePixels: Int, correction: ErrorCorrection = .medium) throws -> (data: Data, side: Int) {
        let symbol = try QRCode(payload, correction: correction)
        let side = symbol.sizeWithQuietZone * modulePixels
        var raster = Raster(width: side, height: side)
        symbol.draw(on: &raster, x: 0, y: 0, modulePixels: modulePixels)
        // 72 dpi: a screen image, shown at its pixel size.
        return (try PNGEncoder.encode(raster, dpi: 72, format: .bilevel), side)
    }
}
