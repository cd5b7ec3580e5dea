import CPNG
import Foundation

/// The PNG forms a tag can be written in.
public enum PixelFormat: String, Sendable, CaseIterable {
    /// 8-bit grey, anti-aliased text.
    case grey
    /// 1 bit per pixel, thresholded at mid-grey, for thermal printers.
    case bilevel
}

/// Why libpng refused an image.
public struct PNGEncodingError: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { "PNG encoding failed: \(reason)" }
}

/// Encodes rasters as PNG: image data compressed by `PNGImageData`, chunks written by libpng, with a pHYs chunk so
/// they print at their true size.
public enum PNGEncoder {
    /// - Throws: `PNGEncodingError` when libpng fails.
    public static func encode(_ raster: Raster, dpi: Int, format: PixelFormat) throws(PNGEncodingError) -> Data {
        let pixelsPerMetre = UInt32((Double(dpi) / 0.0254).rounded())
        let (imageData, bitDepth): ([UInt8], Int32)
        switch format {
        case .grey:
            imageData = raster.pixels.withUnsafeBufferPointer { PNGImageData.encode(rows: $0, rowBytes: raster.width, height: raster.height) }
            bitDepth = 8
        case .bilevel:
            let (packed, stride) = packBits(raster)
            imageData = packed.withUnsafeBufferPointer { PNGImageData.encode(rows: $0, rowBytes: stride, height: raster.height) }
            bitDepth = 1
        }
        // Sized once: the chunks around the image data (signature, header, pHYs, framing, end) take under 128 bytes.
        let capacity = imageData.count + 128
        let allocated = malloc(capacity)?.assumingMemoryBound(to: UInt8.self)
        var buffer = shelftag_png_buffer(bytes: allocated, count: 0, capacity: allocated == nil ? 0 : capacity)
        var error = shelftag_png_error_text()
        let status = imageData.withUnsafeBufferPointer { data in
            shelftag_png_write(data.baseAddress, data.count, UInt32(raster.width), UInt32(raster.height), bitDepth, pixelsPerMetre, &buffer, &error)
        }
        guard status == 0, let bytes = buffer.bytes else {
            free(buffer.bytes)
            let reason = withUnsafeBytes(of: error.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw PNGEncodingError(reason: reason)
        }
        // The buffer came from malloc (or the shim's realloc): Data takes it over and frees it.
        return Data(bytesNoCopy: bytes, count: buffer.count, deallocator: .free)
    }

    /// Rows of 1-bit pixels, most significant bit first; 1 is white (PNG's grey scale).
    private static func packBits(_ raster: Raster) -> (bytes: [UInt8], stride: Int) {
        let stride = (raster.width + 7) / 8
        var packed = [UInt8](repeating: 0, count: stride * raster.height)
        for y in 0..<raster.height {
            let row = y * raster.width
            for x in 0..<raster.width where raster.pixels[row + x] >= 128 {
                packed[y * stride + x / 8] |= 0x80 >> UInt8(x % 8)
            }
        }
        return (packed, stride)
    }
}
