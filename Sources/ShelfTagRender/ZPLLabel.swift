import ShelfTagDomain

/// One ZPL II label (`^XA … ^XZ`) for a thermal printer, in its dots at the run's resolution.
///
/// Drawn as a surface, the label says each part in the printer's own terms: the QR code as `^BQN` with the Digital
/// Link, the barcode as `^BE`/`^BU`/`^B8`, text in the printer's scalable font `^A0` sized to the layout's cap height
/// and aligned in its box with `^FB`, boxes as `^GB`. `graphic(_:)` instead sends the tag as one `^GFA` image of
/// the exact raster the PNG holds.
struct ZPLLabel: TagSurface {
    private(set) var commands: String
    private let correction: ErrorCorrection

    /// Cap height of the printer's font 0 as a share of the height `^A0` is given.
    static let fontZeroCapHeight = 0.75
    /// How far below its `^FO` the printer puts a QR symbol's first row.
    static let qrTopOffset = 9
    /// `^BQ` magnifies modules 1 to 10 dots; larger modules are sent as an image of the symbol.
    static let largestQRMagnification = 10

    /// A label `width × height` dots; `comment` (the tag's GTIN and id) goes in a `^FX` line.
    init(width: Int, height: Int, correction: ErrorCorrection, comment: String) {
        self.correction = correction
        commands = "^XA\n^FX \(Self.commentText(comment))\n^CI28\n^PW\(width)\n^LL\(height)\n^LH0,0\n"
    }

    /// The label, ended with `^XZ`.
    var finished: String { commands + "^XZ\n" }

    /// The tag as one compressed image: what the PNG shows, dot for dot (black where the PNG is darker than mid-grey).
    static func graphic(_ raster: Raster, correction: ErrorCorrection, comment: String) -> String {
        var label = ZPLLabel(width: raster.width, height: raster.height, correction: correction, comment: comment)
        label.commands += "^FO0,0" + ZPLGraphic.field(raster) + "^FS\n"
        return label.finished
    }

    mutating func fill(x: Int, y: Int, width: Int, height: Int) {
        guard width > 0, height > 0 else { return }
        commands += "^FO\(x),\(y)^GB\(width),\(height),\(min(width, height)),B,0^FS\n"
    }

    mutating func qrCode(_ symbol: QRCode, payload: String, x: Int, y: Int, modulePixels: Int) {
        let quiet = QRCode.quietZone * modulePixels
        guard modulePixels <= Self.largestQRMagnification else {
            var raster = Raster(width: symbol.size * modulePixels, height: symbol.size * modulePixels)
            symbol.draw(on: &raster, x: -quiet, y: -quiet, modulePixels: modulePixels)
            commands += "^FO\(x + quiet),\(y + quiet)" + ZPLGraphic.field(raster) + "^FS\n"
            return
        }
        // The field data starts with the error correction level and the input mode (A: the printer picks the
        // encoding), then a comma: the URI itself starts after it.
        let level = correction.rawValue
        commands +=
            "^FO\(x + quiet),\(max(0, y + quiet - Self.qrTopOffset))^BQN,2,\(modulePixels),\(level)^FH_^FD\(level)A,\(Self.fieldText(payload))^FS\n"
    }

    mutating func bars(_ barcode: LinearBarcode, left: Int, top: Int, module: Int, barBottom: Int, guardBottom: Int) {
        // The printer computes the check digit from the others: EAN-13 takes 12, UPC-A 11, EAN-8 7.
        let command: String
        switch barcode.symbology {
        case .ean13: command = "^BEN"
        case .upcA: command = "^BUN"
        default: command = "^B8N"
        }
        let data = barcode.digits.dropLast().map(String.init).joined()
        let trailer = barcode.symbology == .upcA ? ",N,N,N" : ",N,N"
        commands += "^FO\(left),\(top)^BY\(module)\(command),\(barBottom - top)\(trailer)^FD\(data)^FS\n"
        // The guard bars reach down between the digits, which come as text.
        for run in barcode.barRuns where run.extendsDown {
            fill(x: left + run.start * module, y: barBottom, width: run.length * module, height: guardBottom - barBottom)
        }
    }

    mutating func text(_ line: SetLine, typesetter: Typesetter) {
        let capHeight = typesetter.glyph("H", font: line.font).top
        let height = max(10, Int((Double(capHeight) / Self.fontZeroCapHeight).rounded()))
        let justification: String
        switch line.align {
        case .left: justification = "L"
        case .center: justification = "C"
        case .right: justification = "R"
        }
        // ^FB aligns the line in its box in the printer's own font, whose widths are not DejaVu's.
        commands +=
            "^FO\(line.boxLeft),\(max(0, line.baseline - capHeight))^A0N,\(height),\(height)^FB\(line.boxWidth),1,0,\(justification),0"
            + "^FH_^FD\(Self.fieldText(line.text))^FS\n"
    }

    /// Field data with the characters ZPL reads as commands (`^`, `~`) and the `^FH` escape (`_`) as hex escapes.
    static func fieldText<Text: StringProtocol>(_ text: Text) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "^": escaped += "_5E"
            case "~": escaped += "_7E"
            case "_": escaped += "_5F"
            // A control character would end or break the field.
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: escaped += " "
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// A comment line: no command prefix in it.
    private static func commentText(_ text: String) -> String {
        String(text.unicodeScalars.map { $0 == "^" || $0 == "~" || $0.value < 0x20 ? "?" : Character($0) })
    }
}

/// A raster as a ZPL graphic field (`^GFA`), 1 bit a dot, in ZPL's compressed ASCII form.
enum ZPLGraphic {
    /// `^GFA,total,total,bytesPerRow,data` for the raster, dark below mid-grey.
    static func field(_ raster: Raster) -> String {
        let bytesPerRow = (raster.width + 7) / 8
        let total = bytesPerRow * raster.height
        var data: [UInt8] = []
        data.reserveCapacity(total / 4)
        var previousRow: [UInt8] = []
        var row = [UInt8](repeating: 0, count: bytesPerRow * 2)
        raster.pixels.withUnsafeBufferPointer { pixels in
            for y in 0..<raster.height {
                // Hex digits of the row, a nibble each.
                for byte in 0..<bytesPerRow {
                    var bits: UInt8 = 0
                    for bit in 0..<8 {
                        let x = byte * 8 + bit
                        if x < raster.width && pixels[y * raster.width + x] < 128 { bits |= 0x80 >> bit }
                    }
                    row[byte * 2] = hexDigits[Int(bits >> 4)]
                    row[byte * 2 + 1] = hexDigits[Int(bits & 0x0F)]
                }
                if row == previousRow {
                    data.append(UInt8(ascii: ":"))
                } else {
                    compress(row, into: &data)
                    previousRow = row
                }
            }
        }
        return "^GFA,\(total),\(total),\(bytesPerRow)," + String(decoding: data, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    /// One row's hex digits in ZPL's compression: a run of a digit as a count before it (G–Y 1–19, g–z 20–400), a
    /// row ending in zeros as `,`, in ones (`F`) as `!`.
    private static func compress(_ row: [UInt8], into data: inout [UInt8]) {
        var end = row.count
        var filler: UInt8?
        if let last = row.last, last == UInt8(ascii: "0") || last == UInt8(ascii: "F") {
            while end > 0 && row[end - 1] == last { end -= 1 }
            filler = last == UInt8(ascii: "0") ? UInt8(ascii: ",") : UInt8(ascii: "!")
        }
        var index = 0
        while index < end {
            let digit = row[index]
            var run = 1
            while index + run < end && row[index + run] == digit { run += 1 }
            index += run
            if run > 1 { appendCount(run, to: &data) }
            data.append(digit)
        }
        if let filler { data.append(filler) }
    }

    private static func appendCount(_ count: Int, to data: inout [UInt8]) {
        var left = count
        while left >= 400 {
            data.append(UInt8(ascii: "z"))
            left -= 400
        }
        if left >= 20 {
            data.append(UInt8(ascii: "g") + UInt8(left / 20 - 1))
            left %= 20
        }
        if left > 0 { data.append(UInt8(ascii: "G") + UInt8(left - 1)) }
    }
}
