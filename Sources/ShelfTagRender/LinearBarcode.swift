import ShelfTagDomain

/// An EAN-13, EAN-8 or UPC-A symbol as modules (GS1 General Specifications, 5.2).
struct LinearBarcode: Equatable {
    let symbology: GTIN.Symbology
    /// The encoded digits: 13, 8 or 12.
    let digits: [UInt8]
    /// One entry per module, true for a bar.
    let modules: [Bool]
    /// Modules of the guard patterns (and UPC-A's outer digits), which reach into the digit band.
    let extendsDown: [Bool]

    /// Light modules each side required by the specification.
    var quietZone: (left: Int, right: Int) {
        switch symbology {
        case .ean13: (11, 7)
        case .ean8: (7, 7)
        case .upcA, .none: (9, 9)
        }
    }

    var widthInModules: Int { quietZone.left + modules.count + quietZone.right }

    private static let leftOdd = ["0001101", "0011001", "0010011", "0111101", "0100011", "0110001", "0101111", "0111011", "0110111", "0001011"]
    private static let leftEven = ["0100111", "0110011", "0011011", "0100001", "0011101", "0111001", "0000101", "0010001", "0001001", "0010111"]
    private static let right = ["1110010", "1100110", "1101100", "1000010", "1011100", "1001110", "1010000", "1000100", "1001000", "1110100"]
    /// For EAN-13, the leading digit is carried by the odd/even parity of the six left digits.
    private static let parity = ["OOOOOO", "OOEOEE", "OOEEOE", "OOEEEO", "OEOOEE", "OEEOOE", "OEEEOO", "OEOEOE", "OEOEEO", "OEEOEO"]

    /// The symbol for a GTIN's symbology, or nil when it has none (GTIN-14).
    init?(gtin: GTIN) {
        guard gtin.symbology != .none else { return nil }
        symbology = gtin.symbology
        digits = gtin.symbolDigits.utf8.map { $0 - UInt8(ascii: "0") }
        var pattern = ""
        var guards = ""
        func add(_ bits: String, guard isGuard: Bool) {
            pattern += bits
            guards += String(repeating: isGuard ? "1" : "0", count: bits.count)
        }
        let (leftDigits, rightDigits): ([UInt8], [UInt8])
        let leftParity: String
        switch symbology {
        case .ean13:
            leftDigits = Array(digits[1...6])
            rightDigits = Array(digits[7...12])
            leftParity = Self.parity[Int(digits[0])]
        case .upcA:
            // UPC-A is EAN-13 with a leading 0: all six left digits odd.
            leftDigits = Array(digits[0...5])
            rightDigits = Array(digits[6...11])
            leftParity = "OOOOOO"
        default:
            leftDigits = Array(digits[0...3])
            rightDigits = Array(digits[4...7])
            leftParity = "OOOO"
        }
        let upcOuter = symbology == .upcA
        add("101", guard: true)
        for (index, (digit, kind)) in zip(leftDigits, leftParity).enumerated() {
            add(kind == "O" ? Self.leftOdd[Int(digit)] : Self.leftEven[Int(digit)], guard: upcOuter && index == 0)
        }
        add("01010", guard: true)
        for (index, digit) in rightDigits.enumerated() {
            add(Self.right[Int(digit)], guard: upcOuter && index == rightDigits.count - 1)
        }
        add("101", guard: true)
        modules = pattern.map { $0 == "1" }
        extendsDown = guards.map { $0 == "1" }
    }
}
