/// One line of text as the layout set it: where its pen starts, its width and the box it was aligned in, all in
/// device pixels at the drawer's resolution.
struct SetLine {
    let text: Substring
    let font: FontSpec
    /// Where the pen starts on the baseline.
    let x: Int
    let baseline: Int
    /// The line's advance width.
    let width: Int
    /// The box the line was aligned in, and how.
    let boxLeft: Int
    let boxWidth: Int
    let align: HorizontalAlignment
}

/// What a tag's layout is drawn on, in device pixels at the drawer's resolution: the raster of a PNG, the marks of a
/// PDF page, a ZPL label. `TagDrawer` lays a tag out once and tells its surface each part; each surface says it in
/// its own terms (pixels, vector rectangles and glyphs, printer commands).
protocol TagSurface {
    /// A filled black rectangle.
    mutating func fill(x: Int, y: Int, width: Int, height: Int)
    /// A QR symbol with its quiet zone, its top-left corner at `x, y`, `modulePixels` per module.
    mutating func qrCode(_ symbol: QRCode, payload: String, x: Int, y: Int, modulePixels: Int)
    /// A linear barcode's bars (not its digits, which come as text): from `top` down to `barBottom`, the guard bars on
    /// to `guardBottom`; `left` is the first bar's left edge.
    mutating func bars(_ barcode: LinearBarcode, left: Int, top: Int, module: Int, barBottom: Int, guardBottom: Int)
    /// One line of text, drawn with `typesetter`'s glyphs.
    mutating func text(_ line: SetLine, typesetter: Typesetter)
}

extension Raster: TagSurface {
    mutating func qrCode(_ symbol: QRCode, payload: String, x: Int, y: Int, modulePixels: Int) {
        symbol.draw(on: &self, x: x, y: y, modulePixels: modulePixels)
    }

    mutating func bars(_ barcode: LinearBarcode, left: Int, top: Int, module: Int, barBottom: Int, guardBottom: Int) {
        // Every row of bars is the same: one row with all the bars, darkened down to the digits, then one with the
        // guard bars alone, down between them. (A fill per bar branched on every module: 4% of a render.)
        let barsWidth = barcode.modules.count * module
        var bars = [UInt8](repeating: 0, count: barsWidth)
        var guardBars = bars
        for (index, isBar) in barcode.modules.enumerated() where isBar {
            for pixel in (index * module)..<((index + 1) * module) {
                bars[pixel] = 255
                if barcode.extendsDown[index] { guardBars[pixel] = 255 }
            }
        }
        bars.withUnsafeBufferPointer { darken(mask: $0, maskWidth: barsWidth, maskHeight: barBottom - top, pitch: 0, x: left, y: top) }
        guardBars.withUnsafeBufferPointer {
            darken(mask: $0, maskWidth: barsWidth, maskHeight: guardBottom - barBottom, pitch: 0, x: left, y: barBottom)
        }
    }

    mutating func text(_ line: SetLine, typesetter: Typesetter) {
        typesetter.draw(line.text, font: line.font, x: line.x, baseline: line.baseline, on: &self)
    }
}

extension QRCode {
    /// The dark modules as rectangles, in modules from the symbol's top-left corner (quiet zone excluded): each run of
    /// dark modules in a row is one rectangle, so a vector page holds a few hundred, not a thousand.
    var darkRuns: [(x: Int, y: Int, length: Int)] {
        var runs: [(x: Int, y: Int, length: Int)] = []
        for row in 0..<size {
            var column = 0
            while column < size {
                guard self[column, row] else {
                    column += 1
                    continue
                }
                let start = column
                while column < size && self[column, row] { column += 1 }
                runs.append((start, row, column - start))
            }
        }
        return runs
    }
}

extension LinearBarcode {
    /// Runs of bar modules, as (first module, modules, reaches into the digit band).
    var barRuns: [(start: Int, length: Int, extendsDown: Bool)] {
        var runs: [(start: Int, length: Int, extendsDown: Bool)] = []
        var index = 0
        while index < modules.count {
            guard modules[index] else {
                index += 1
                continue
            }
            let start = index
            while index < modules.count && modules[index] && extendsDown[index] == extendsDown[start] { index += 1 }
            runs.append((start, index - start, extendsDown[start]))
        }
        return runs
    }
}
