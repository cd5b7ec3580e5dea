/// An 8-bit grey image, 0 black to 255 white, rows top to bottom: what every element draws on.
public struct Raster: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public internal(set) var pixels: [UInt8]

    /// A white raster.
    public init(width: Int, height: Int) {
        precondition(width > 0 && height > 0, "a raster needs pixels")
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 255, count: width * height)
    }

    public subscript(x: Int, y: Int) -> UInt8 { pixels[y * width + x] }

    /// Paints the rectangle (clipped to the raster) black.
    mutating func fill(x: Int, y: Int, width: Int, height: Int) { fill(x: x, y: y, width: width, height: height, level: 0) }

    /// Paints the rectangle (clipped to the raster) with a grey `level`, where it is lighter.
    mutating func fill(x: Int, y: Int, width w: Int, height h: Int, level: UInt8) {
        let x0 = max(0, x)
        let y0 = max(0, y)
        let x1 = min(width, x + w)
        let y1 = min(height, y + h)
        guard x0 < x1, y0 < y1 else { return }
        pixels.withUnsafeMutableBufferPointer { buffer in
            for row in y0..<y1 {
                let start = row * width
                for column in (start + x0)..<(start + x1) { buffer[column] = min(buffer[column], level) }
            }
        }
    }

    /// Darkens by an 8-bit coverage mask (a glyph), placed with its top-left corner at `x, y`; a `pitch` of 0 repeats
    /// its first row.
    mutating func darken(mask: UnsafeBufferPointer<UInt8>, maskWidth: Int, maskHeight: Int, pitch: Int, x: Int, y: Int) {
        let x0 = max(0, -x)
        let y0 = max(0, -y)
        let x1 = min(maskWidth, width - x)
        let y1 = min(maskHeight, height - y)
        guard x0 < x1, y0 < y1 else { return }
        let rasterWidth = width
        pixels.withUnsafeMutableBufferPointer { buffer in
            for row in y0..<y1 {
                let source = mask.baseAddress! + row * pitch
                let target = buffer.baseAddress! + (y + row) * rasterWidth + x
                // No branch on empty coverage (its ink, 255, never darkens): the loop vectorizes.
                for column in x0..<x1 { target[column] = min(target[column], 255 &- source[column]) }
            }
        }
    }

    /// Copies `other` with its top-left corner at `x, y` (clipped), a row at a time.
    mutating func place(_ other: Raster, x: Int, y: Int) {
        other.pixels.withUnsafeBufferPointer { source in
            for row in 0..<other.height {
                place(row: UnsafeBufferPointer(rebasing: source[(row * other.width)..<((row + 1) * other.width)]), x: x, y: y + row)
            }
        }
    }

    /// Copies one row of pixels with its first pixel at `x, y` (clipped).
    mutating func place(row: UnsafeBufferPointer<UInt8>, x: Int, y: Int) {
        let x0 = max(0, -x)
        let x1 = min(row.count, width - x)
        guard (0..<height).contains(y), x0 < x1 else { return }
        let rasterWidth = width
        pixels.withUnsafeMutableBufferPointer { target in
            (target.baseAddress! + y * rasterWidth + x + x0).update(from: row.baseAddress! + x0, count: x1 - x0)
        }
    }

    /// Black below the threshold, white from it: what a thermal printer prints.
    func thresholded(at threshold: UInt8 = 128) -> Raster {
        var copy = self
        for index in copy.pixels.indices { copy.pixels[index] = copy.pixels[index] < threshold ? 0 : 255 }
        return copy
    }
}
